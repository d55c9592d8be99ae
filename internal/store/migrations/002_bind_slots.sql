-- Bind slots: an operator's `binds` (and receivers) for the whole cluster.
-- An instance opens a bind only while it holds a slot whose lease has not
-- expired; it renews every second and closes its binds well before the
-- lease could lapse, so the SMSC never sees more than `binds` sessions.
CREATE TABLE bind_slots (
    operator text        NOT NULL,
    kind     text        NOT NULL,            -- 'tx' (transmitter/transceiver) or 'rx' (receiver)
    slot     integer     NOT NULL,
    holder   text,                            -- instances.id, NULL = free
    expires  timestamptz NOT NULL DEFAULT '-infinity',
    up       boolean     NOT NULL DEFAULT false, -- the holder has a bind of this operator up
    PRIMARY KEY (operator, kind, slot)
);
CREATE INDEX bind_slots_holder ON bind_slots (holder) WHERE holder IS NOT NULL;
