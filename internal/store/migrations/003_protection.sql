-- Operator controls (drain / disable), shared by every instance and kept
-- across restarts. No row: enabled.
CREATE TABLE operator_controls (
    operator   text PRIMARY KEY,
    state      text NOT NULL CHECK (state IN ('drained', 'disabled')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Blocklist: a row per number ever listed; blocked = false is a removal kept
-- as a tombstone so instances polling by seq see it. seq orders changes.
CREATE SEQUENCE change_seq;
CREATE TABLE blocklist (
    number     text PRIMARY KEY,
    blocked    boolean NOT NULL,
    seq        bigint NOT NULL DEFAULT nextval('change_seq'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blocklist_seq ON blocklist (seq);

-- Pumping holds per account and destination range. level doubles hold_for
-- on each repeat; until is when new traffic flows again.
CREATE TABLE pumping_holds (
    account  text NOT NULL,
    range    text NOT NULL,
    level    integer NOT NULL DEFAULT 0,
    since    timestamptz NOT NULL DEFAULT now(),
    until    timestamptz NOT NULL,
    reason   text NOT NULL,
    PRIMARY KEY (account, range)
);

-- A held message (state 8) keeps its reason (fraud_hold, content) in
-- error_reason; hold_range is the pumping range, held_at when it was held.
ALTER TABLE messages ADD COLUMN hold_range text, ADD COLUMN held_at timestamptz;
CREATE INDEX messages_held_at ON messages (held_at) WHERE state = 8;

-- Ported numbers (smsgate import portability): seq as for the blocklist.
CREATE TABLE ported_numbers (
    number     text PRIMARY KEY,
    mcc        text NOT NULL,
    mnc        text NOT NULL,
    seq        bigint NOT NULL DEFAULT nextval('change_seq'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ported_numbers_seq ON ported_numbers (seq);
