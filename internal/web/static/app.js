'use strict';
// Polls /api/v1/status every second; rates are deltas between polls. The
// sparklines come from the server's history (a point every 10 s for the
// last 15 minutes), so they are full as soon as the page opens. "sent"
// counts message parts, "delivered" and "failed" count messages. Times are
// shown in UTC.
let prev = null;

function fmt(n, d = 0) { return Number(n).toLocaleString(undefined, { maximumFractionDigits: d, minimumFractionDigits: d }); }
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
// utc formats a time as ISO 8601 in UTC, to the second.
function utc(t) { return new Date(t).toISOString().replace(/\.\d+Z$/, '').replace('T', ' ') + ' UTC'; }
// rates turns the server's history into per-second rates for one operator.
function rates(history, name) {
  const sent = [], deliv = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i];
    const dt = Math.max((Date.parse(b.at) - Date.parse(a.at)) / 1000, 0.001);
    const x = a.operators[name] || {}, y = b.operators[name] || {};
    sent.push(Math.max(((y.sent_parts || 0) - (x.sent_parts || 0)) / dt, 0));
    deliv.push(Math.max(((y.delivered_messages || 0) - (x.delivered_messages || 0)) / dt, 0));
  }
  return [sent, deliv];
}
function spark(points, color) {
  const w = 120, h = 26, ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h);
  const max = Math.max(1, ...points.flat());
  points.forEach((series, i) => {
    const p = document.createElementNS(ns, 'polyline');
    p.setAttribute('fill', 'none'); p.setAttribute('stroke', color[i]); p.setAttribute('stroke-width', '1.5');
    const n = Math.max(series.length - 1, 1);
    p.setAttribute('points', series.map((v, j) => `${(j / n) * w},${h - 1 - (v / max) * (h - 2)}`).join(' '));
    svg.appendChild(p);
  });
  return svg;
}
function liveFor(doc, name) {
  return (doc.live || []).find(l => l.name === name) || {};
}
function render(doc) {
  const now = Date.parse(doc.at);
  const dt = prev ? Math.max((now - Date.parse(prev.at)) / 1000, 0.001) : 1;
  document.getElementById('updated').textContent = 'updated ' + utc(now);
  const health = document.getElementById('health');
  health.textContent = doc.ready ? 'ready' : 'not ready: ' + (doc.reason || '');
  health.className = 'pill ' + (doc.ready ? 'ok' : 'bad');
  document.getElementById('ingest-accepted').textContent = fmt(doc.ingested.accepted || 0);
  document.getElementById('ingest-rejected').textContent = fmt((doc.ingested.rejected || 0) + (doc.ingested.invalid || 0));
  document.getElementById('dlq-total').textContent = fmt(doc.dlq_total);
  document.getElementById('mo-total').textContent = fmt(doc.mo_total);

  for (const [id, list] of [['top-dlq', doc.top_dlq_reasons], ['top-reject', doc.top_reject_reasons]]) {
    const ol = document.getElementById(id);
    ol.replaceChildren();
    for (const r of (list || [])) ol.appendChild(el('li', { 'data-reason': r.reason }, `${r.reason}: ${fmt(r.count)}`));
    if (!(list || []).length) ol.appendChild(el('li', { class: 'muted' }, 'none'));
  }
  const tbody = document.querySelector('#operators tbody');
  tbody.replaceChildren();
  for (const o of doc.operators) {
    const p = prev && prev.operators.find(x => x.name === o.name);
    const sentRate = p ? (o.sent_total - p.sent_total) / dt : 0;
    const delivRate = p ? (o.delivered_total - p.delivered_total) / dt : 0;
    const live = liveFor(doc, o.name);
    const tr = el('tr', { 'data-operator': o.name });
    const cell = (field, text, cls) => { const td = el('td', { 'data-operator': o.name, 'data-field': field }, text); if (cls) td.className = cls; tr.appendChild(td); };
    cell('name', o.name);
    const state = live.state || (o.binds_up > 0 ? 'up' : 'down');
    cell('state', state, 'state-' + state);
    cell('binds', `${fmt(live.binds_up ?? o.binds_up)} / ${fmt(live.binds_wanted ?? o.binds_up)}`);
    const inflight = live.in_flight ?? o.window_inflight, cap = live.window_cap ?? 0;
    cell('window', cap > 0 ? `${fmt(100 * inflight / cap, 0)} % (${fmt(inflight)} / ${fmt(cap)})` : `${fmt(inflight)} / —`);
    cell('sent_rate', live.tps_limit ? `${fmt(sentRate, 0)} / ${fmt(live.tps_limit, 0)} (${fmt(100 * sentRate / live.tps_limit, 0)} %)` : fmt(sentRate, 0));
    cell('delivered_rate', fmt(delivRate, 0));
    cell('sent_total', fmt(o.sent_total));
    cell('delivered_total', fmt(o.delivered_total));
    cell('failed_total', fmt(o.failed_total));
    cell('throttled_total', fmt(o.throttled_total));
    const errs = Object.entries(o.errors_by_status || {}).map(([k, v]) => `${k}: ${fmt(v)}`).join(', ');
    cell('errors', errs || '—');
    cell('receipt_latency', `${fmt(o.receipt_latency_p50_seconds, 2)} s / ${fmt(o.receipt_latency_p95_seconds, 2)} s`);
    cell('queued', fmt(o.queued));
    const td = el('td'); td.appendChild(spark(rates(doc.history || [], o.name), ['#58a6ff', '#3fb950'])); tr.appendChild(td);
    tbody.appendChild(tr);
  }
  // One row per bind: state, window, and why it last failed.
  const btbody = document.querySelector('#binds tbody');
  btbody.replaceChildren();
  for (const l of (doc.live || [])) {
    for (const b of (l.binds || [])) {
      const tr = el('tr', { 'data-operator': l.name, 'data-bind': `${b.mode}-${b.index}` });
      const cell = (field, text, cls) => { const td = el('td', { 'data-field': field }, text); if (cls) td.className = cls; tr.appendChild(td); };
      cell('operator', l.name);
      cell('bind', String(b.index));
      cell('mode', b.mode);
      cell('state', b.state, 'state-' + (b.state === 'up' ? 'up' : 'down'));
      cell('since', b.since && !b.since.startsWith('0001') ? utc(b.since) : '—');
      cell('window', b.window > 0 ? `${fmt(b.in_flight)} / ${fmt(b.window)}` : '—');
      cell('last_error', b.last_error || '');
      btbody.appendChild(tr);
    }
  }
  // Accounts: rate on this instance, quota used against its limits, the
  // balance (finance scope only) and messages held for funds.
  const atb = document.querySelector('#accounts tbody');
  atb.replaceChildren();
  for (const a of (doc.accounts || [])) {
    const tr = el('tr', { 'data-account': a.name });
    const cell = (field, text, cls) => { const td = el('td', { 'data-account': a.name, 'data-field': field }, text); if (cls) td.className = cls; tr.appendChild(td); };
    const used = (n, limit) => limit > 0 ? `${fmt(n)} / ${fmt(limit)}` : `${fmt(n)} / —`;
    cell('name', a.name);
    cell('rate', a.tps > 0 ? `${fmt(a.rate, 1)} / ${fmt(a.tps)}` : fmt(a.rate, 1));
    cell('quota_day', used(a.quota.day_used, a.quota.day));
    cell('quota_month', used(a.quota.month_used, a.quota.month));
    const low = a.low_balance !== undefined && Number(a.balance) < Number(a.low_balance);
    cell('balance', a.balance === undefined ? '—' : `${a.balance} ${a.currency} (available ${a.available})`, low ? 'state-down' : '');
    cell('held', fmt(a.held));
    atb.appendChild(tr);
  }
  // Quality figures (quality section on): per operator and network, the
  // final receipts in the rolling window that rank the routes.
  const qtb = document.querySelector('#quality tbody');
  qtb.replaceChildren();
  let qrows = 0;
  for (const l of (doc.live || [])) {
    for (const f of (l.quality || [])) {
      const tr = el('tr', { 'data-operator': l.name, 'data-network': f.network });
      const cell = (field, text) => tr.appendChild(el('td', { 'data-field': field }, text));
      cell('operator', l.name);
      cell('network', f.network || 'unknown');
      cell('delivered', fmt(f.delivered));
      cell('failed', fmt(f.failed));
      cell('delivery_rate', f.delivered + f.failed > 0 ? fmt(100 * f.delivery_rate, 1) + ' %' : '—');
      cell('receipt_latency', f.delivered + f.failed > 0 ? fmt(f.receipt_latency_seconds, 2) + ' s' : '—');
      cell('ranked_by', f.judged ? 'cost ÷ rate' : 'cost (too few receipts)');
      qtb.appendChild(tr);
      document.getElementById('quality-window').textContent = `(last ${fmt(f.window_seconds)} s)`;
      qrows++;
    }
  }
  document.getElementById('quality-section').hidden = qrows === 0;
  const money = Array.isArray(doc.billing);
  document.getElementById('billing-locked').hidden = money;
  document.getElementById('billing').hidden = !money;
  const canMO = (doc.scopes || []).includes('status');
  document.getElementById('mo-locked').hidden = canMO;
  document.getElementById('mo').hidden = !canMO;
  document.getElementById('token-scopes').textContent = (doc.scopes || []).length ? 'scopes: ' + doc.scopes.join(', ') : '';
  const btb = document.querySelector('#billing tbody');
  btb.replaceChildren();
  for (const b of (doc.billing || [])) {
    const tr = el('tr');
    for (const v of [b.account, b.operator, fmt(b.parts), b.cost, b.revenue, b.margin, b.currency]) tr.appendChild(el('td', {}, String(v)));
    btb.appendChild(tr);
  }
  const mtb = document.querySelector('#mo tbody');
  mtb.replaceChildren();
  for (const m of doc.recent_mo) {
    const tr = el('tr');
    for (const v of [utc(m.received_at), m.operator, m.from, m.to, m.keyword || '']) tr.appendChild(el('td', {}, v));
    const t = el('td', {}, m.text); t.className = 'text'; tr.appendChild(t);
    mtb.appendChild(tr);
  }
  prev = doc;
}
// The token stays in this tab (sessionStorage) and travels only in the
// Authorization header; without one the page shows no money and no MO.
let token = sessionStorage.getItem('smsgate-token') || '';
document.getElementById('token-form').addEventListener('submit', ev => {
  ev.preventDefault();
  token = document.getElementById('token').value.trim();
  if (token) sessionStorage.setItem('smsgate-token', token); else sessionStorage.removeItem('smsgate-token');
  document.getElementById('token').value = '';
});
// Message trace: the journey of one id (GET /api/v1/messages/{id}, status
// scope), one line per step, times in UTC.
document.getElementById('trace-form').addEventListener('submit', async ev => {
  ev.preventDefault();
  const id = document.getElementById('trace-id').value.trim();
  const msg = document.getElementById('trace-msg');
  const list = document.getElementById('trace-steps');
  const summary = document.getElementById('trace-summary');
  const receipts = document.getElementById('trace-receipts');
  list.replaceChildren(); receipts.replaceChildren(); summary.textContent = ''; msg.textContent = '';
  if (!id) return;
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  let r;
  try { r = await fetch('/api/v1/messages/' + encodeURIComponent(id), { cache: 'no-store', headers }); } catch (e) { msg.textContent = 'request failed'; return; }
  if (r.status === 401 || r.status === 403) { msg.textContent = 'give a token with the status scope first'; return; }
  if (r.status === 404) { msg.textContent = 'no message with this id (never accepted, or past retention)'; return; }
  if (!r.ok) { msg.textContent = 'error ' + r.status; return; }
  const doc = await r.json();
  const m = doc.message;
  summary.textContent = `${m.id}: account ${m.account}, from ${m.from} to ${m.to}, ${m.parts} part(s), ${m.encoding}, ${m.kind}` +
    (doc.status ? ` — now ${doc.status.status}` : ' — no status yet');
  for (const s of doc.steps) {
    const li = el('li', { 'data-at': s.at });
    li.appendChild(el('time', { datetime: s.at }, new Date(s.at).toISOString().replace('T', ' ').replace('Z', ' UTC')));
    li.appendChild(el('span', { class: 'what' }, s.what));
    list.appendChild(li);
  }
  if ((doc.routes || []).length) {
    const li = el('li', { class: 'routes' });
    li.appendChild(el('span', {}, 'routes for this destination now, best first: ' +
      doc.routes.map(r => `${r.operator} (rank ${r.rank}, ${r.cost} ${r.currency}${r.usable ? '' : ', not usable now'})`).join('; ')));
    receipts.appendChild(li);
  }
  for (const rc of (doc.receipts || [])) {
    if (!rc.text) continue;
    const li = el('li', { class: 'receipt-text' });
    li.appendChild(el('span', {}, `receipt text, part ${rc.part} attempt ${rc.attempt} (${rc.operator}): ${rc.text}`));
    receipts.appendChild(li);
  }
});
async function poll() {
  try {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    const r = await fetch('/api/v1/status', { cache: 'no-store', headers });
    if (r.ok) render(await r.json());
    else if (r.status === 403) {
      document.getElementById('token-scopes').textContent = 'token not accepted';
      token = ''; sessionStorage.removeItem('smsgate-token');
    }
  } catch (e) { /* keep polling */ }
  setTimeout(poll, 1000);
}
poll();
