#!/usr/bin/env node
// smsc.js — an SMSC built on node-smpp (npm `smpp` 0.5.1), an SMPP
// implementation independent of ours, for interop tests of smsgate's ESME.
// Install its dependency with scripts/ensure-deps.sh (npm ci in test/interop).
//
// It listens on 127.0.0.1 only.
//
// FLAGS (`--flag value` or `--flag=value`; repeatable where noted)
//   --port N               TCP port; 0 (default) picks a free one.
//   --system-id S          accepted system_id; empty (default) accepts any bind.
//   --password P           password required with --system-id.
//                          Wrong system_id -> bind resp ESME_RINVSYSID (0x0F),
//                          wrong password -> ESME_RINVPASWD (0x0E); the
//                          connection is then closed.
//   --receipts             send a delivery receipt (deliver_sm) for every
//                          accepted submit_sm whose registered_delivery asks
//                          for one on success ((registered_delivery & 3) == 1).
//   --receipt-id-hex       submit_sm_resp ids are decimal, receipt ids (text
//                          and receipted_message_id TLV) upper-case hex.
//                          Without it, both are the same decimal string.
//   --no-receipt-tlvs      omit receipted_message_id / message_state TLVs
//                          (the ESME must parse the receipt text).
//   --receipt-delay MS     delay each receipt by MS milliseconds (default 0).
//   --receipt-before-resp  send the receipt before the submit_sm_resp.
//   --throttle-every N     answer every Nth submit_sm (counted over all binds,
//                          1-based) with ESME_RTHROTTLED (0x58) and no
//                          message id; no receipt for it. 0 = never (default).
//   --mo FROM:TO:TEXT      after the first bind able to receive (receiver or
//                          transceiver), send one MO deliver_sm (esm_class 0).
//                          TEXT may contain ':'. Plain ASCII text goes as
//                          data_coding 0, anything else as UCS-2 (0x08).
//                          Repeatable; sent in the order given.
//   --mo-ucs2-3parts       also send one 3-part concatenated UCS-2 MO from
//                          995599000003 to 1234: data_coding 0x08, esm_class
//                          0x40, UDH 05 00 03 5A 03 <seq> (8-bit ref 0x5A),
//                          parts sent in the order 3, 1, 2. The reassembled
//                          text is MO_UCS2_TEXT below (also in the stats file).
//   --mo-delay MS          wait MS ms after that first bind before sending MOs
//                          (default 0), e.g. to let more binds come up.
//   --redeliver-delay MS   a deliver_sm answered with a non-zero status is sent
//                          again after MS ms (default 1000), at most
//                          --max-attempts times (default 3) in all. A
//                          deliver_sm still unanswered when its bind closes is
//                          sent again on another receiving bind of the same
//                          system_id, immediately or as soon as one binds.
//   --stats-file PATH      write the stats JSON to PATH every second and on
//                          SIGTERM/SIGINT (atomically: PATH.tmp then rename).
//   --verbose              log PDUs to stderr.
//
// Receipts and MOs go to a bind of the same system_id that can receive: the
// submitting bind itself if it is a transceiver, otherwise the receiving binds
// in turn (round-robin). At most 100000 wait for a bind; more are dropped and
// counted (dropped).
//
// RECEIPT deliver_sm: source_addr = the submit's destination_addr,
// destination_addr = its source_addr, esm_class 0x04, data_coding 0, text
//   id:<ID> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:<first 20 chars>
// (dates UTC; non-ASCII characters of the text replaced by '?'), plus TLVs
// receipted_message_id (0x001E) = <ID> and message_state (0x0427) = 2
// (DELIVERED). Message ids count up from 2684354560 (hex A0000000), so a hex
// id always contains a letter and cannot be mistaken for a decimal one.
//
// Other PDUs: enquire_link -> enquire_link_resp; unbind -> unbind_resp, then
// the connection is closed; submit_sm before a bind -> ESME_RINVBNDSTS (0x04);
// a second bind on the same connection -> ESME_RALYBND (0x05); any other
// request -> its response with ESME_RINVCMDID (0x03), or generic_nack when the
// command is unknown.
//
// STDOUT: exactly one line, "LISTENING <port>", once accepting connections.
// Errors go to stderr; a bad flag exits with status 2.
//
// STATS JSON (keys always present, numbers are totals since start):
//   binds             successful binds          bind_failures  refused binds
//   bound             binds open right now      unbinds        unbind requests
//   enquire_links     enquire_link requests
//   submits           submit_sm received        submits_ok     answered ESME_ROK
//   throttled         answered ESME_RTHROTTLED
//   unique_message_ids  distinct ids issued in submit_sm_resp
//   unique_submits    distinct (source_addr, destination_addr, esm_class,
//                     data_coding, short_message/message_payload bytes) among
//                     accepted submits: less than submits_ok means the ESME
//                     sent the same message twice
//   receipts_sent     receipt deliver_sm PDUs written (redeliveries included)
//   receipts_acked    receipts answered ESME_ROK (each receipt once)
//   receipts_nacked   receipt deliver_sm answered with an error status
//   mo_sent, mo_acked, mo_nacked   the same for MO deliver_sm (one per part)
//   pending           deliver_sm waiting for a bind or a redelivery
//   dropped           deliver_sm dropped (queue full or --max-attempts used up)
//   mo_ucs2_text      MO_UCS2_TEXT when --mo-ucs2-3parts, else null
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const smpp = require('smpp');

// The reassembled text of the --mo-ucs2-3parts MO: Georgian, Cyrillic and an
// emoji outside the BMP (a surrogate pair that must not be split: each part
// boundary below falls between whole characters).
const MO_UCS2_PARTS = [
  'ნაწილი პირველი: გამარჯობა, ეს არის გრძელი შეტყობინება. ',
  'Часть вторая: привет, это длинное сообщение 😀 ',
  'part three: the end.',
];
const MO_UCS2_TEXT = MO_UCS2_PARTS.join('');
const MO_UCS2_REF = 0x5a;
const MO_UCS2_ORDER = [3, 1, 2];

const FIRST_MESSAGE_ID = 0xa0000000;
const MAX_PENDING = 100000;

function usage(msg) {
  process.stderr.write(`smsc.js: ${msg}\n(see the comment at the top of ${path.basename(__filename)} for flags)\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    port: 0, systemId: '', password: '', receipts: false, receiptIdHex: false,
    receiptTlvs: true, receiptDelay: 0, receiptBeforeResp: false, throttleEvery: 0,
    mo: [], moUcs2: false, moDelay: 0, redeliverDelay: 1000, maxAttempts: 3,
    statsFile: '', verbose: false,
  };
  const bools = {
    '--receipts': 'receipts', '--receipt-id-hex': 'receiptIdHex', '--receipt-before-resp': 'receiptBeforeResp',
    '--mo-ucs2-3parts': 'moUcs2', '--verbose': 'verbose',
  };
  const ints = {
    '--port': ['port', 0, 65535], '--receipt-delay': ['receiptDelay', 0, 3600000],
    '--throttle-every': ['throttleEvery', 0, 1e9], '--mo-delay': ['moDelay', 0, 3600000],
    '--redeliver-delay': ['redeliverDelay', 0, 3600000], '--max-attempts': ['maxAttempts', 1, 1000],
  };
  const strs = { '--system-id': 'systemId', '--password': 'password', '--stats-file': 'statsFile' };
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2);
    const take = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag in bools) {
      if (value !== undefined) usage(`${flag} takes no value`);
      o[bools[flag]] = true;
    } else if (flag === '--no-receipt-tlvs') {
      o.receiptTlvs = false;
    } else if (flag in ints) {
      const [key, min, max] = ints[flag];
      const s = take();
      if (!/^\d+$/.test(s) || +s < min || +s > max) usage(`${flag} wants an integer in [${min}, ${max}], got ${JSON.stringify(s)}`);
      o[key] = +s;
    } else if (flag in strs) {
      o[strs[flag]] = take();
    } else if (flag === '--mo') {
      const s = take();
      const m = /^([^:]*):([^:]*):(.*)$/s.exec(s);
      if (!m || !m[1] || !m[2]) usage(`--mo wants FROM:TO:TEXT, got ${JSON.stringify(s)}`);
      o.mo.push({ from: m[1], to: m[2], text: m[3] });
    } else {
      usage(`unknown flag ${JSON.stringify(argv[i])}`);
    }
  }
  if (o.password && !o.systemId) usage('--password needs --system-id');
  return o;
}

const opts = parseArgs(process.argv.slice(2));

const stats = {
  binds: 0, bind_failures: 0, bound: 0, unbinds: 0, enquire_links: 0,
  submits: 0, submits_ok: 0, throttled: 0, unique_message_ids: 0, unique_submits: 0,
  receipts_sent: 0, receipts_acked: 0, receipts_nacked: 0,
  mo_sent: 0, mo_acked: 0, mo_nacked: 0,
  pending: 0, dropped: 0,
  mo_ucs2_text: opts.moUcs2 ? MO_UCS2_TEXT : null,
};
const issuedIds = new Set();
const submitDigests = new Set();
let nextId = FIRST_MESSAGE_ID;

function log(...args) {
  if (opts.verbose) process.stderr.write(`smsc.js: ${args.join(' ')}\n`);
}

// ---- outbound deliver_sm routing -------------------------------------------

// A deliver_sm to hand to the ESME: kind is 'receipt' or 'mo'; build() makes a
// fresh PDU each attempt (node-smpp assigns the sequence number on send).
// preferred is the session to try first (the submitting transceiver).
const waiting = []; // items with no receiving bind yet, FIFO
const sessions = new Set(); // bound sessions
const sessionsAll = new Set(); // every open connection, bound or not
const timers = new Set(); // pending setTimeout handles, cleared on stop
let rr = 0;

function receiversFor(systemId) {
  return [...sessions].filter((s) => s.bound.receive && (systemId === null || s.bound.systemId === systemId));
}

function pickSession(item) {
  if (item.preferred && sessions.has(item.preferred) && item.preferred.bound.receive) return item.preferred;
  const rs = receiversFor(item.systemId);
  if (rs.length === 0) return null;
  return rs[rr++ % rs.length];
}

let redeliveries = 0; // items nacked and waiting for their redelivery timer

// updatePending: in-flight deliver_sm are not pending, only those waiting for
// a bind or for a redelivery.
function updatePending() {
  stats.pending = waiting.length + redeliveries;
}

function enqueue(item) {
  const s = pickSession(item);
  if (s) {
    sendDeliver(s, item);
    return;
  }
  if (waiting.length >= MAX_PENDING) {
    stats.dropped++;
    log('queue full, dropped', item.kind);
    return;
  }
  waiting.push(item);
  updatePending();
}

function flushWaiting() {
  for (let i = 0; i < waiting.length;) {
    const s = pickSession(waiting[i]);
    if (!s) { i++; continue; }
    const [item] = waiting.splice(i, 1);
    sendDeliver(s, item);
  }
  updatePending();
}

function sendDeliver(session, item) {
  item.attempts++;
  const pdu = item.build();
  const sent = session.send(pdu, (resp) => {
    session.inflight.delete(pdu.sequence_number);
    if (resp.command_status === 0) {
      if (!item.acked) {
        item.acked = true;
        stats[item.kind === 'receipt' ? 'receipts_acked' : 'mo_acked']++;
      }
      return;
    }
    stats[item.kind === 'receipt' ? 'receipts_nacked' : 'mo_nacked']++;
    log(item.kind, 'nacked with status', '0x' + resp.command_status.toString(16));
    if (item.attempts >= opts.maxAttempts) {
      stats.dropped++;
      return;
    }
    redeliveries++;
    updatePending();
    const t = setTimeout(() => {
      timers.delete(t);
      redeliveries--;
      item.preferred = null;
      enqueue(item);
      updatePending();
    }, opts.redeliverDelay);
    timers.add(t);
  });
  if (!sent) {
    // Socket no longer writable: the close handler re-routes; do the same now.
    item.attempts--;
    waiting.push(item);
    updatePending();
    return;
  }
  session.inflight.set(pdu.sequence_number, item);
  stats[item.kind === 'receipt' ? 'receipts_sent' : 'mo_sent']++;
}

// ---- receipts -------------------------------------------------------------

function smppDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}

function messageText(field) {
  if (field == null) return '';
  const m = typeof field === 'object' && !Buffer.isBuffer(field) ? field.message : field;
  if (Buffer.isBuffer(m)) return m.toString('latin1');
  return String(m == null ? '' : m);
}

function receiptFor(session, submit, respId, submitted) {
  const id = opts.receiptIdHex ? Number(respId).toString(16).toUpperCase() : respId;
  let orig = messageText(submit.short_message);
  if (!orig && submit.message_payload) orig = messageText(submit.message_payload);
  // Array.from splits by code point, so a surrogate pair is one character.
  const text = Array.from(orig).slice(0, 20).map((c) => (/^[\x20-\x7e]$/.test(c) ? c : '?')).join('');
  const body = `id:${id} sub:001 dlvrd:001 submit date:${smppDate(submitted)} done date:${smppDate(new Date())} stat:DELIVRD err:000 text:${text}`;
  return {
    kind: 'receipt', systemId: session.bound.systemId, preferred: session, attempts: 0, acked: false,
    build: () => {
      const p = {
        service_type: '',
        source_addr_ton: submit.dest_addr_ton, source_addr_npi: submit.dest_addr_npi,
        source_addr: submit.destination_addr,
        dest_addr_ton: submit.source_addr_ton, dest_addr_npi: submit.source_addr_npi,
        destination_addr: submit.source_addr,
        esm_class: 0x04, data_coding: 0x00, registered_delivery: 0,
        short_message: Buffer.from(body, 'latin1'),
      };
      if (opts.receiptTlvs) {
        p.receipted_message_id = id;
        p.message_state = 2; // DELIVERED
      }
      return new smpp.PDU('deliver_sm', p);
    },
  };
}

// ---- MO -------------------------------------------------------------------

const PLAIN = /^[A-Za-z0-9 .,!?:;'"()+\-\/=%&#*<>\r\n]*$/;

function moItem(from, to, build) {
  return {
    kind: 'mo', systemId: opts.systemId || null, preferred: null, attempts: 0, acked: false, from, to, build,
  };
}

function moPDU(from, to, payload, dataCoding, esmClass) {
  const p = {
    service_type: '', source_addr_ton: 1, source_addr_npi: 1, source_addr: from,
    dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: to,
    esm_class: esmClass, data_coding: dataCoding, registered_delivery: 0,
  };
  if (payload.length <= 254) p.short_message = payload;
  else { p.short_message = Buffer.alloc(0); p.message_payload = payload; }
  return new smpp.PDU('deliver_sm', p);
}

function plainMO(m) {
  const ascii = PLAIN.test(m.text);
  const payload = ascii ? Buffer.from(m.text, 'latin1') : Buffer.from(m.text, 'utf16le').swap16();
  return moItem(m.from, m.to, () => moPDU(m.from, m.to, payload, ascii ? 0x00 : 0x08, 0x00));
}

function ucs2PartMO(seq) {
  const udh = Buffer.from([0x05, 0x00, 0x03, MO_UCS2_REF, MO_UCS2_PARTS.length, seq]);
  const body = Buffer.from(MO_UCS2_PARTS[seq - 1], 'utf16le').swap16();
  if (udh.length + body.length > 140) throw new Error(`MO part ${seq} is ${udh.length + body.length} bytes, over 140`);
  const payload = Buffer.concat([udh, body]);
  return moItem('995599000003', '1234', () => moPDU('995599000003', '1234', payload, 0x08, 0x40));
}

let moScheduled = false;
function scheduleMO() {
  if (moScheduled || (opts.mo.length === 0 && !opts.moUcs2)) return;
  moScheduled = true;
  const t = setTimeout(() => {
    timers.delete(t);
    for (const m of opts.mo) enqueue(plainMO(m));
    if (opts.moUcs2) for (const seq of MO_UCS2_ORDER) enqueue(ucs2PartMO(seq));
  }, opts.moDelay);
  timers.add(t);
}

// ---- sessions -------------------------------------------------------------

const BIND_KINDS = {
  bind_transmitter: { transmit: true, receive: false },
  bind_receiver: { transmit: false, receive: true },
  bind_transceiver: { transmit: true, receive: true },
};

function onSession(session) {
  session.bound = null;
  session.inflight = new Map(); // sequence_number -> item awaiting deliver_sm_resp
  sessionsAll.add(session);
  log('connection from', session.socket.remoteAddress);

  for (const [cmd, kind] of Object.entries(BIND_KINDS)) {
    session.on(cmd, (pdu) => {
      if (session.bound) {
        session.send(pdu.response({ command_status: smpp.ESME_RALYBND }));
        return;
      }
      let status = 0;
      if (opts.systemId && pdu.system_id !== opts.systemId) status = smpp.ESME_RINVSYSID;
      else if (opts.systemId && pdu.password !== opts.password) status = smpp.ESME_RINVPASWD;
      if (status) {
        stats.bind_failures++;
        log('bind refused', pdu.system_id, '0x' + status.toString(16));
        session.send(pdu.response({ command_status: status }), () => session.close());
        return;
      }
      session.send(pdu.response({ system_id: 'nodesmsc' }));
      session.bound = { systemId: pdu.system_id, ...kind };
      sessions.add(session);
      stats.binds++;
      stats.bound = sessions.size;
      log(cmd, pdu.system_id);
      if (kind.receive) {
        flushWaiting();
        scheduleMO();
      }
    });
  }

  session.on('submit_sm', (pdu) => {
    if (!session.bound || !session.bound.transmit) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    stats.submits++;
    if (opts.throttleEvery > 0 && stats.submits % opts.throttleEvery === 0) {
      stats.throttled++;
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      return;
    }
    const submitted = new Date();
    const id = String(nextId++);
    issuedIds.add(id);
    stats.unique_message_ids = issuedIds.size;
    stats.submits_ok++;
    submitDigests.add(digest(pdu));
    stats.unique_submits = submitDigests.size;
    const wantReceipt = opts.receipts && (pdu.registered_delivery & 0x03) === 1;
    const resp = pdu.response({ message_id: id });
    if (wantReceipt && opts.receiptBeforeResp) {
      enqueue(receiptFor(session, pdu, id, submitted));
      session.send(resp);
      return;
    }
    session.send(resp, () => {
      if (!wantReceipt) return;
      const item = receiptFor(session, pdu, id, submitted);
      if (opts.receiptDelay === 0) { enqueue(item); return; }
      const t = setTimeout(() => { timers.delete(t); enqueue(item); }, opts.receiptDelay);
      timers.add(t);
    });
  });

  session.on('enquire_link', (pdu) => {
    stats.enquire_links++;
    session.send(pdu.response());
  });

  session.on('unbind', (pdu) => {
    stats.unbinds++;
    session.send(pdu.response(), () => session.close());
  });

  session.on('pdu', (pdu) => {
    log('pdu', pdu.command, 'seq', pdu.sequence_number, 'status', pdu.command_status);
    if (pdu.isResponse()) return;
    if (pdu.command in BIND_KINDS || ['submit_sm', 'enquire_link', 'unbind'].includes(pdu.command)) return;
    if (pdu.command === 'unknown') {
      session.send(pdu.response()); // generic_nack ESME_RINVCMDID
      return;
    }
    session.send(pdu.response({ command_status: smpp.ESME_RINVCMDID }));
  });

  session.on('error', (err) => {
    // node-smpp stops reading after a decode error; drop the connection.
    log('session error:', err.message);
    session.destroy();
  });

  session.on('close', () => {
    sessionsAll.delete(session);
    if (session.bound) {
      sessions.delete(session);
      stats.bound = sessions.size;
    }
    // Unanswered deliver_sm go to another bind (or wait for one).
    const orphans = [...session.inflight.values()];
    session.inflight.clear();
    for (const item of orphans) {
      item.preferred = null;
      enqueue(item);
    }
    // Items that preferred this session are re-routed on their next pick.
    updatePending();
  });
}

function digest(pdu) {
  const h = crypto.createHash('sha256');
  const raw = (f) => {
    if (f == null) return '';
    const m = typeof f === 'object' && !Buffer.isBuffer(f) ? f.message : f;
    const udh = typeof f === 'object' && !Buffer.isBuffer(f) && f.udh ? Buffer.concat(f.udh).toString('hex') : '';
    return udh + '|' + (Buffer.isBuffer(m) ? m.toString('hex') : Buffer.from(String(m), 'utf8').toString('hex'));
  };
  h.update([pdu.source_addr, pdu.destination_addr, pdu.esm_class, pdu.data_coding,
    raw(pdu.short_message), raw(pdu.message_payload)].join('\u0000'));
  return h.digest('hex');
}

// ---- stats and lifecycle -----------------------------------------------------

function writeStats() {
  if (!opts.statsFile) return;
  const tmp = opts.statsFile + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(stats) + '\n');
  fs.renameSync(tmp, opts.statsFile);
}

const server = smpp.createServer(onSession);
server.on('error', (err) => {
  process.stderr.write(`smsc.js: listen on 127.0.0.1:${opts.port}: ${err.message}\n`);
  process.exit(1);
});
server.listen(opts.port, '127.0.0.1', () => {
  writeStats();
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
const statsTimer = opts.statsFile ? setInterval(writeStats, 1000) : null;

let stopping = false;
function stop(sig) {
  if (stopping) return;
  stopping = true;
  log('stopping on', sig);
  if (statsTimer) clearInterval(statsTimer);
  for (const t of timers) clearTimeout(t);
  try {
    writeStats();
  } catch (err) {
    process.stderr.write(`smsc.js: write stats: ${err.message}\n`);
    process.exitCode = 1;
  }
  server.close();
  for (const s of sessionsAll) s.destroy();
  // Sockets are destroyed; nothing else keeps the loop alive, but do not
  // hang on a stuck handle.
  setTimeout(() => process.exit(), 1000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
