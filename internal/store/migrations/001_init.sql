-- smsgate schema v1. Postgres is the durable queue (see docs/DESIGN.md).
-- States (messages.state, parts.state) are small integers; see internal/store/state.go.

CREATE TABLE messages (
    id            text PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    account       text NOT NULL,
    sender        text NOT NULL,
    dest          text NOT NULL,
    body          text NOT NULL,
    encoding      smallint NOT NULL,
    dlr           boolean NOT NULL,
    kind          smallint NOT NULL,
    priority      smallint NOT NULL,
    send_at       timestamptz NOT NULL,
    expires_at    timestamptz,
    forced_route  text,
    meta          jsonb,
    parts         smallint NOT NULL,
    state         smallint NOT NULL,
    operator      text,
    tried         text[] NOT NULL DEFAULT '{}',
    attempts      integer NOT NULL DEFAULT 0,
    owner         text,
    src_partition integer NOT NULL,
    src_offset    bigint NOT NULL,
    error_reason  text,
    error_code    text,
    error_detail  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    final_at      timestamptz,
    dup_pending   integer NOT NULL DEFAULT 0
);
-- The dispatch queue: one operator's ready rows in priority, then arrival order.
CREATE INDEX messages_ready ON messages (operator, priority DESC, seq) WHERE state = 0;
-- Scheduled (send_at in the future, quiet hours, back-off): promoted by time.
CREATE INDEX messages_scheduled ON messages (send_at) WHERE state = 9;
CREATE INDEX messages_held ON messages (operator) WHERE state = 8;
-- In flight: recovered after a crash of their owner.
CREATE INDEX messages_sending ON messages (owner) WHERE state = 1;
-- Awaiting receipts: swept by dlr.timeout.
CREATE INDEX messages_awaiting ON messages (updated_at) WHERE state IN (2, 3);
-- Marketing frequency cap.
CREATE INDEX messages_marketing ON messages (account, dest, created_at) WHERE kind = 1;

CREATE TABLE parts (
    message_id   text NOT NULL,
    part         smallint NOT NULL,
    attempt      smallint NOT NULL DEFAULT 1,
    operator     text NOT NULL,
    smsc_id      text,
    smsc_key     text,
    state        smallint NOT NULL,
    submitted_at timestamptz NOT NULL,
    done_at      timestamptz,
    err          text,
    PRIMARY KEY (message_id, part, attempt)
);
CREATE INDEX parts_correlation ON parts (operator, smsc_key);

-- Receipts that arrived before their submit_sm_resp (or never matched).
CREATE TABLE early_receipts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator    text NOT NULL,
    keys        text[] NOT NULL,
    smsc_id     text NOT NULL,
    state       smallint NOT NULL,
    err         text,
    done_at     timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    orphan      boolean NOT NULL DEFAULT false
);
CREATE INDEX early_receipts_pending ON early_receipts (received_at) WHERE NOT orphan;

-- Transactional outbox: events become durable with the state change that
-- causes them, and are published to Kafka afterwards, then deleted.
CREATE TABLE outbox (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic   smallint NOT NULL,
    key     text NOT NULL,
    payload bytea NOT NULL
);

-- One row per billed message part (and attempt). The primary key is what
-- makes "billed at most once" hold whatever is replayed or restarted.
CREATE TABLE ledger (
    message_id     text NOT NULL,
    part           smallint NOT NULL,
    attempt        smallint NOT NULL DEFAULT 1,
    account        text NOT NULL,
    operator       text NOT NULL,
    destination    text NOT NULL,
    country_prefix text NOT NULL,
    network        text NOT NULL DEFAULT '',
    submitted_at   timestamptz NOT NULL,
    billed_at      timestamptz NOT NULL DEFAULT now(),
    status         text NOT NULL,
    cost           numeric(18,6) NOT NULL,
    cost_currency  text NOT NULL,
    price          numeric(18,6) NOT NULL,
    currency       text NOT NULL,
    month          text NOT NULL,
    PRIMARY KEY (message_id, part, attempt)
);
CREATE INDEX ledger_submitted ON ledger (submitted_at);

-- Month-to-date counters per account (tiers) and per account+operator
-- (summary), maintained in the same transaction as the ledger rows.
CREATE TABLE billing_month (
    account  text NOT NULL,
    month    text NOT NULL,
    operator text NOT NULL,
    currency text NOT NULL,
    parts    bigint NOT NULL DEFAULT 0,
    cost     numeric(18,6) NOT NULL DEFAULT 0,
    revenue  numeric(18,6) NOT NULL DEFAULT 0,
    PRIMARY KEY (account, month, operator, currency)
);

CREATE TABLE optouts (
    account    text NOT NULL,          -- '*' = every account
    msisdn     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (msisdn, account)
);

CREATE TABLE mo_parts (
    group_key   text NOT NULL,
    seq         smallint NOT NULL,
    operator    text NOT NULL,
    src         text NOT NULL,
    dst         text NOT NULL,
    ref         integer NOT NULL,
    total       smallint NOT NULL,
    body        text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (group_key, seq)
);
CREATE INDEX mo_parts_received ON mo_parts (received_at);

CREATE TABLE mo (
    id            text PRIMARY KEY,
    operator      text NOT NULL,
    src           text NOT NULL,
    dst           text NOT NULL,
    body          text NOT NULL,
    parts         smallint NOT NULL,
    keyword       text,
    incomplete    boolean NOT NULL DEFAULT false,
    parts_missing smallint[],
    received_at   timestamptz NOT NULL
);
CREATE INDEX mo_received ON mo (received_at);

CREATE TABLE instances (
    id         text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat  timestamptz NOT NULL DEFAULT now()
);
