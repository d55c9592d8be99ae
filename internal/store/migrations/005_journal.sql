-- smsgate schema v2: Kafka is the queue, Postgres an append-only journal.
--
-- Per message on the hot path: one messages row (the intent, written just
-- before the wire; its primary key is the dedupe on id), one attempts row
-- per part (the outcome and the ledger entry), and with receipts one
-- receipts row per part. Nothing on the hot path is updated or deleted:
-- status is derived from these rows. Only what must wait (scheduled, held,
-- an operator's overflow) is parked as a messages row with `due` set; parked
-- rows are updated when they are taken (off the hot path).
--
-- Journal tables are partitioned by time and leave by DROP of a whole
-- partition (retention). `day` is days since 1970-01-01 UTC. messages is
-- partitioned by `gen` (= day / settings.msg_gen_days): its primary key
-- (id, gen) makes id unique within a generation, and the journal probes
-- the older live generations for the rest of the retention window.
--
-- Ids and correlation keys are COLLATE "C": they are compared for
-- equality and never sorted for people, and the database's default
-- collation (often C.UTF-8 or a language's) makes every btree comparison
-- a strcoll() call on the hot path.
--
-- The v1 tables (messages, parts, ledger, mo) are renamed *_v1 first,
-- converted at the end, and dropped.

ALTER TABLE messages RENAME TO messages_v1;
ALTER TABLE parts RENAME TO parts_v1;
ALTER TABLE ledger RENAME TO ledger_v1;
ALTER TABLE mo RENAME TO mo_v1;

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO settings (key, value) VALUES ('msg_gen_days', '10');

-- Creates the partition of `parent` for [lo, hi) if it is missing; the
-- name is parent_lo. Used by migrations and by the retention job.
CREATE FUNCTION smsgate_partition(parent text, lo integer, hi integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
        parent || '_' || lo, parent, lo, hi);
END $$;

-- One row per journal transaction (a batch), by lane. Batches of a lane
-- whose id is above the lane's `published` may have events that were not
-- produced yet (a crash between commit and produce): they are published
-- again from the rows.
CREATE SEQUENCE journal_batch_seq;
CREATE TABLE journal_batches (
    id   bigint PRIMARY KEY,
    lane text NOT NULL,
    at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journal_batches_lane ON journal_batches (lane, id);

-- A lane is one writer of one instance (intents, outcomes, inbound).
-- published: every batch of the lane up to it has its events produced.
-- settled (intent lanes): every intent in the lane's batches up to it has
-- an outcome written or was parked back, so a dead instance's intents
-- after it may have reached an SMSC without an outcome: unknown.
CREATE TABLE lanes (
    id        text PRIMARY KEY,
    instance  text NOT NULL,
    kind      text NOT NULL,
    published bigint NOT NULL DEFAULT 0,
    settled   bigint NOT NULL DEFAULT 0,
    recovered boolean NOT NULL DEFAULT false,
    created   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lanes_instance ON lanes (instance);

CREATE TABLE messages (
    id            text COLLATE "C" NOT NULL,
    gen           integer NOT NULL,
    batch         bigint NOT NULL,
    state         smallint NOT NULL,          -- 1 journaled (may be on the wire), 7 rejected, parked: 0 queued, 8 held, 9 scheduled
    account       text NOT NULL,
    sender        text NOT NULL,
    dest          text NOT NULL,
    body          text NOT NULL,
    encoding      smallint NOT NULL,
    dlr           boolean NOT NULL,
    marketing     boolean NOT NULL,
    priority      smallint NOT NULL,
    parts         smallint NOT NULL,
    expires_at    timestamptz,
    forced_route  text,
    meta          text,                       -- the record's meta object, verbatim
    network       text,
    operator      text,                       -- the route of the (next) attempt
    tried         text[],
    attempt       smallint NOT NULL DEFAULT 1,
    rerouted      boolean NOT NULL DEFAULT false,
    src_partition integer NOT NULL,
    src_offset    bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    -- parked rows
    due           timestamptz,                -- may be taken from then on; 'infinity' while held
    owner         text,                       -- instance that took it (due is then its lease)
    -- rejected and held rows
    reason        text,
    detail        text,
    hold_range    text,
    held_at       timestamptz,
    dup_pending   integer NOT NULL DEFAULT 0, -- duplicate records whose event is not published yet
    CONSTRAINT msg_pkey PRIMARY KEY (id, gen)
) PARTITION BY RANGE (gen);
CREATE INDEX msg_parked ON messages (operator, priority, due) WHERE due IS NOT NULL;
CREATE INDEX msg_marketing ON messages (account, dest, created_at) WHERE marketing;
CREATE INDEX msg_dup_pending ON messages (id) WHERE dup_pending > 0;
CREATE INDEX msg_batch ON messages USING brin (batch);

-- One row per part and attempt: the submit outcome, the correlation key
-- for receipts, and the ledger entry of a part charged at submit.
-- Amounts are micros (billing.Amount).
CREATE TABLE attempts (
    message_id     text COLLATE "C" NOT NULL,
    gen            integer NOT NULL,           -- the messages row's gen
    day            integer NOT NULL,           -- partition: UTC day of submitted_at
    part           smallint NOT NULL,
    attempt        smallint NOT NULL,
    parts          smallint NOT NULL,
    operator       text COLLATE "C" NOT NULL,
    bind           smallint,
    seq            integer,
    smsc_id        bytea,                      -- as the SMSC returned it
    smsc_key       text COLLATE "C",           -- canonical form receipts look up
    state          smallint NOT NULL,          -- 2 submitted, 3 unknown, 7 rejected, 10 failover
    code           integer,                    -- submit_sm_resp command_status when not 0
    submitted_at   timestamptz NOT NULL,
    resp_at        timestamptz,
    account        text NOT NULL,
    destination    text NOT NULL,
    country_prefix text NOT NULL,
    network        text NOT NULL DEFAULT '',
    charged        boolean NOT NULL,
    cost           bigint NOT NULL,
    cost_currency  text NOT NULL,
    price          bigint NOT NULL,
    currency       text NOT NULL,
    month          text NOT NULL,
    final_state    smallint,                   -- the receipts' verdict, folded in when receipts age out
    batch          bigint NOT NULL
) PARTITION BY RANGE (day);
CREATE INDEX attempts_correlation ON attempts (operator, smsc_key);
CREATE INDEX attempts_message ON attempts (message_id);
CREATE INDEX attempts_batch ON attempts USING brin (batch);

-- Receipts that matched a part (and dlr_timeout verdicts). Partitioned by
-- the attempt's day, so a receipts partition ages out with its attempts.
CREATE TABLE receipts (
    message_id  text COLLATE "C" NOT NULL,
    part        smallint NOT NULL,
    attempt     smallint NOT NULL,
    day         integer NOT NULL,
    operator    text NOT NULL,
    smsc_id     bytea,
    state       smallint NOT NULL,             -- 4 delivered, 5 undeliverable, 6 expired, 2 intermediate (proves acceptance)
    stat        text NOT NULL DEFAULT '',
    err         text,
    reason      text,                          -- error.reason: dlr_timeout, an error_map reason
    code        text,                          -- error.code: the supplier's code
    done_at     timestamptz,
    received_at timestamptz NOT NULL,
    batch       bigint NOT NULL
) PARTITION BY RANGE (day);
CREATE INDEX receipts_message ON receipts (message_id);
CREATE INDEX receipts_batch ON receipts USING brin (batch);

-- Ledger entries made after submit (a receipt charges, refunds or adds a
-- cost), keyed so that one is made at most once.
-- kind: 1 charge (charge_on delivered; an unknown part proven), 2 refund
-- of the attempt's charge (reroute), 3 operator cost on delivery
-- (cost_on delivered), 4 operator cost of a failed attempt not charged.
CREATE TABLE charges (
    message_id     text COLLATE "C" NOT NULL,
    part           smallint NOT NULL,
    attempt        smallint NOT NULL,
    day            integer NOT NULL,
    kind           smallint NOT NULL,
    account        text NOT NULL,
    operator       text NOT NULL,
    destination    text NOT NULL,
    country_prefix text NOT NULL,
    network        text NOT NULL DEFAULT '',
    submitted_at   timestamptz NOT NULL,
    status         text NOT NULL,
    cost           bigint NOT NULL,
    cost_currency  text NOT NULL,
    price          bigint NOT NULL,
    currency       text NOT NULL,
    month          text NOT NULL,
    billed_at      timestamptz NOT NULL DEFAULT now(),
    batch          bigint NOT NULL,
    CONSTRAINT charges_pkey PRIMARY KEY (message_id, part, attempt, kind, day)
) PARTITION BY RANGE (day);

-- Received messages, partitioned by UTC day of received_at.
CREATE TABLE mo (
    id            text NOT NULL,
    day           integer NOT NULL,
    operator      text NOT NULL,
    src           text NOT NULL,
    dst           text NOT NULL,
    body          text NOT NULL,
    parts         smallint NOT NULL,
    keyword       text,
    incomplete    boolean NOT NULL DEFAULT false,
    parts_missing smallint[],
    received_at   timestamptz NOT NULL,
    batch         bigint NOT NULL,
    CONSTRAINT mo2_pkey PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
CREATE INDEX mo2_received ON mo (received_at);
CREATE INDEX mo2_batch ON mo USING brin (batch);

-- Receipts waiting for their part (before its outcome is written, or on
-- another instance's bind). Deleted when matched; orphans age out.
ALTER TABLE early_receipts ADD COLUMN smsc_raw bytea;

-- The ledger as one relation (for ad-hoc queries; the export reads the
-- same rows through store.ledgerRange, restricted to its partitions): one
-- row per (message, part, attempt) with a charge or a cost, the sums of
-- its entries, and the part's current status.
CREATE VIEW ledger AS
WITH e AS (
    SELECT message_id, part, attempt, day, account, operator, destination, country_prefix, network, submitted_at,
        price, cost, cost_currency, currency, month
    FROM attempts WHERE charged OR cost <> 0
    UNION ALL
    SELECT message_id, part, attempt, day, account, operator, destination, country_prefix, network, submitted_at,
        CASE WHEN kind = 2 THEN -price ELSE price END, cost, cost_currency, currency, month
    FROM charges
), l AS (
    SELECT message_id, part, attempt, day, min(account) AS account, min(operator) AS operator, min(destination) AS destination,
        min(country_prefix) AS country_prefix, min(network) AS network, min(submitted_at) AS submitted_at,
        sum(price) AS price, sum(cost) AS cost, min(cost_currency) AS cost_currency, min(currency) AS currency, min(month) AS month
    FROM e GROUP BY message_id, part, attempt, day)
SELECT l.message_id, l.part, l.attempt, l.account, l.operator, l.destination, l.country_prefix, l.network, l.submitted_at,
    CASE coalesce(rf.state, a.final_state, CASE WHEN a.state = 3 AND ri.proven THEN 2 END, a.state)
        WHEN 3 THEN 'unknown' WHEN 4 THEN 'delivered' WHEN 5 THEN 'undeliverable' WHEN 6 THEN 'expired' ELSE 'submitted' END AS status,
    (l.cost / 1e6)::numeric(18,6) AS cost, l.cost_currency, (l.price / 1e6)::numeric(18,6) AS price, l.currency, l.month
FROM l
LEFT JOIN attempts a ON a.message_id = l.message_id AND a.part = l.part AND a.attempt = l.attempt AND a.day = l.day
LEFT JOIN LATERAL (SELECT r.state FROM receipts r WHERE r.message_id = l.message_id AND r.part = l.part
    AND r.attempt = l.attempt AND r.state IN (4, 5, 6) ORDER BY r.received_at LIMIT 1) rf ON true
LEFT JOIN LATERAL (SELECT true AS proven FROM receipts r WHERE r.message_id = l.message_id AND r.part = l.part
    AND r.attempt = l.attempt LIMIT 1) ri ON true;

-- The v1 queue is converted last, see 006.
