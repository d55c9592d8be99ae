-- A receipt's text as the SMSC sent it, for message traces (dlr.keep_text);
-- NULL when not kept, which costs nothing in the row.
ALTER TABLE receipts ADD COLUMN raw text;
