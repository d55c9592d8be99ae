-- The destination's mobile network (MCC+MNC as written, e.g. "28202"),
-- resolved at ingest (ported numbers, lookup, range table); NULL = unknown.
ALTER TABLE messages ADD COLUMN network text;
