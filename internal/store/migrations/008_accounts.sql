-- Account balances, quotas and credits (accounts[].billing, credit_limit,
-- quota). One row per account, locked by the intent lane for accounts with
-- a balance rule or a quota, in account order. Amounts are micros.
--   balance   = credits - spent (spent moves with every billed part, in the
--               transaction that writes its ledger entry)
--   available = balance - reserved - awaiting
-- reserved: the price of journaled messages whose outcome is not written
-- (messages.reserved per message); awaiting: parts accepted whose charge a
-- receipt decides (charge_on: delivered, or unknown).
CREATE TABLE account_funds (
    account     text COLLATE "C" PRIMARY KEY,
    credits     bigint NOT NULL DEFAULT 0,
    spent       bigint NOT NULL DEFAULT 0,
    reserved    bigint NOT NULL DEFAULT 0,
    awaiting    bigint NOT NULL DEFAULT 0,
    day         text NOT NULL DEFAULT '',
    day_parts   bigint NOT NULL DEFAULT 0,
    month       text NOT NULL DEFAULT '',
    month_parts bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Top-ups and adjustments: ledger entries of their own. The idempotency key
-- makes a retried request change nothing.
CREATE TABLE credits (
    id              bigserial PRIMARY KEY,
    account         text COLLATE "C" NOT NULL,
    amount          bigint NOT NULL,
    currency        text NOT NULL,
    reference       text NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    balance_after   bigint NOT NULL,
    token_name      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credits_idempotency UNIQUE (account, idempotency_key)
);
CREATE INDEX credits_created ON credits (created_at);

-- What a journaled message reserved of its account's balance, released
-- when its outcome is written (or by recovery after a crash).
ALTER TABLE messages ADD COLUMN reserved bigint NOT NULL DEFAULT 0;

-- Messages held for funds, found per account without reading the rest of
-- the parked set (which may hold millions of rows of a down operator).
CREATE INDEX msg_held_funds ON messages (account, created_at) WHERE state = 8 AND reason = 'insufficient_funds';

-- What was billed before balances existed counts as spent, so that the
-- balance equals the sum of the ledger entries from the start.
INSERT INTO account_funds (account, spent)
SELECT account, (sum(revenue) * 1000000)::bigint FROM billing_month WHERE operator <> '' GROUP BY account;

-- Each instance's demand for each account with a tps cap, reported every
-- second: the cap is shared in proportion to it (rows of instances whose
-- heartbeat stopped are ignored).
CREATE TABLE account_demand (
    instance   text NOT NULL,
    account    text COLLATE "C" NOT NULL,
    demand     bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, account)
);
