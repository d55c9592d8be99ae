-- The destination's mobile network (MCC+MNC as written, e.g. "28202"),
-- resolved at ingest (ported numbers, lookup, range table); NULL = unknown.
ALTER TABLE messages ADD COLUMN network text;

-- Times a message was sent again on another route after a failed receipt
-- (reroute); its later attempts publish no second `submitted`.
ALTER TABLE messages ADD COLUMN rerouted smallint NOT NULL DEFAULT 0;

-- The receipt's stat word (UNDELIV, REJECTD…): reroute.on tells them apart.
ALTER TABLE early_receipts ADD COLUMN stat text NOT NULL DEFAULT '';
