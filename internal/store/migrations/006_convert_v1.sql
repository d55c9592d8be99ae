-- Converts the v1 queue (messages_v1, parts_v1, ledger_v1, mo_v1) into the
-- v2 journal and drops it. What waited in v1 (queued, scheduled, held) is
-- parked; what was claimed (sending) is journaled without an outcome, in a
-- lane of no live instance, so recovery reports it unknown (it may have
-- reached the SMSC); submit outcomes become attempts (with their ledger
-- amounts), final part states become receipts. Events still in the v1
-- outbox are published by the gateway at start (events.DrainOutbox).

DO $$
DECLARE
    gd integer;
    lo integer;
    hi integer;
    b  bigint;
BEGIN
    SELECT value::integer INTO gd FROM settings WHERE key = 'msg_gen_days';
    SELECT min(d), max(d) INTO lo, hi FROM (
        SELECT floor(extract(epoch FROM created_at) / 86400)::integer AS d FROM messages_v1
        UNION ALL SELECT floor(extract(epoch FROM submitted_at) / 86400)::integer FROM parts_v1
        UNION ALL SELECT floor(extract(epoch FROM submitted_at) / 86400)::integer FROM ledger_v1
        UNION ALL SELECT floor(extract(epoch FROM received_at) / 86400)::integer FROM mo_v1) x;
    IF lo IS NULL THEN
        RETURN;
    END IF;
    PERFORM smsgate_partition(t, d, d + 1)
        FROM unnest(ARRAY['attempts', 'receipts', 'charges', 'mo']) t, generate_series(lo, hi) d;
    PERFORM smsgate_partition('messages', g, g + 1) FROM generate_series(lo / gd, hi / gd) g;

    b := nextval('journal_batch_seq');
    INSERT INTO journal_batches (id, lane) VALUES (b, 'v1-migration');
    INSERT INTO lanes (id, instance, kind, published, settled) VALUES ('v1-migration', 'v1-migration', 'intents', b, 0);

    INSERT INTO messages (id, gen, batch, state, account, sender, dest, body, encoding, dlr, marketing, priority, parts,
        expires_at, forced_route, meta, network, operator, tried, attempt, rerouted, src_partition, src_offset, created_at,
        due, reason, detail, hold_range, held_at, dup_pending)
    SELECT m.id, floor(extract(epoch FROM m.created_at) / 86400)::integer / gd, b,
        CASE m.state WHEN 0 THEN 0 WHEN 9 THEN 9 WHEN 8 THEN 8 WHEN 7 THEN 7 ELSE 1 END,
        m.account, m.sender, m.dest, m.body, m.encoding, m.dlr, m.kind = 1, m.priority, m.parts,
        m.expires_at, m.forced_route, m.meta::text, m.network, m.operator,
        CASE WHEN cardinality(m.tried) = 0 THEN NULL ELSE m.tried END,
        CASE WHEN m.state IN (0, 1, 8, 9) THEN cardinality(m.tried) + 1
             ELSE greatest(1, coalesce((SELECT max(p.attempt) FROM parts_v1 p WHERE p.message_id = m.id), 1)) END,
        m.rerouted > 0, m.src_partition, m.src_offset, m.created_at,
        CASE m.state WHEN 0 THEN now() WHEN 9 THEN m.send_at WHEN 8 THEN 'infinity'::timestamptz END,
        CASE WHEN m.state IN (7, 8) THEN m.error_reason END,
        CASE WHEN m.state IN (7, 8) THEN m.error_detail END,
        m.hold_range, m.held_at, m.dup_pending
    FROM messages_v1 m;

    INSERT INTO attempts (message_id, gen, day, part, attempt, parts, operator, smsc_id, smsc_key, state, submitted_at,
        account, destination, country_prefix, network, charged, cost, cost_currency, price, currency, month, batch)
    SELECT p.message_id, floor(extract(epoch FROM m.created_at) / 86400)::integer / gd,
        floor(extract(epoch FROM p.submitted_at) / 86400)::integer, p.part, p.attempt, m.parts, p.operator,
        CASE WHEN p.smsc_id IS NULL THEN NULL ELSE convert_to(p.smsc_id, 'UTF8') END, p.smsc_key,
        CASE WHEN p.state IN (4, 5, 6) THEN 2 ELSE p.state END, p.submitted_at,
        m.account, m.dest, coalesce(l.country_prefix, ''), coalesce(m.network, ''),
        l.message_id IS NOT NULL, coalesce((l.cost * 1000000)::bigint, 0), coalesce(l.cost_currency, ''),
        coalesce((l.price * 1000000)::bigint, 0), coalesce(l.currency, ''), coalesce(l.month, to_char(p.submitted_at, 'YYYY-MM')), b
    FROM parts_v1 p JOIN messages_v1 m ON m.id = p.message_id
    LEFT JOIN ledger_v1 l ON l.message_id = p.message_id AND l.part = p.part AND l.attempt = p.attempt;

    INSERT INTO receipts (message_id, part, attempt, day, operator, smsc_id, state, stat, err, done_at, received_at, batch)
    SELECT p.message_id, p.part, p.attempt, floor(extract(epoch FROM p.submitted_at) / 86400)::integer, p.operator,
        CASE WHEN p.smsc_id IS NULL THEN NULL ELSE convert_to(p.smsc_id, 'UTF8') END, p.state, '', p.err,
        p.done_at, coalesce(p.done_at, p.submitted_at), b
    FROM parts_v1 p WHERE p.state IN (4, 5, 6);

    -- Messages v1 ended by dlr_timeout: their parts' verdict.
    INSERT INTO receipts (message_id, part, attempt, day, operator, state, stat, reason, received_at, batch)
    SELECT p.message_id, p.part, p.attempt, floor(extract(epoch FROM p.submitted_at) / 86400)::integer, p.operator,
        6, '', 'dlr_timeout', coalesce(m.final_at, now()), b
    FROM parts_v1 p JOIN messages_v1 m ON m.id = p.message_id
    WHERE m.state = 6 AND m.error_reason = 'dlr_timeout' AND p.state IN (2, 3);
    -- Supplier errors (error_map) shown on final failures.
    UPDATE receipts r SET reason = m.error_reason, code = m.error_code
    FROM messages_v1 m WHERE r.message_id = m.id AND m.state IN (5, 6) AND m.error_code IS NOT NULL AND r.state IN (5, 6);

    INSERT INTO mo (id, day, operator, src, dst, body, parts, keyword, incomplete, parts_missing, received_at, batch)
    SELECT id, floor(extract(epoch FROM received_at) / 86400)::integer, operator, src, dst, body, parts, keyword,
        incomplete, parts_missing, received_at, b
    FROM mo_v1;
END $$;

DROP TABLE messages_v1, parts_v1, ledger_v1, mo_v1;
