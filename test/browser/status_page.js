// status_page.js — drives the live status page in Debian's Chromium with
// playwright-core: loads it, waits until the per-operator counters move,
// compares them with /metrics (also the route-quality table), and saves a
// screenshot.
// Without a token the page shows no money; after a finance token is typed
// into the token box, the billing table appears.
// The message trace search shows the same steps as the API for TRACE_ID.
// The accounts table shows acme's rate, and its balance only with finance
// (the API's, within the poll lag).
//   node status_page.js http://127.0.0.1:PORT OUT.png FINANCE_TOKEN TRACE_ID
// Prints one JSON line with what it saw; exits non-zero on any failure.
'use strict';
const { chromium } = require('playwright-core');

async function metric(base, name, labels) {
  const text = await (await fetch(base + '/metrics')).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += parseFloat(line.split(' ').pop());
  }
  return sum;
}

(async () => {
  const [base, shot, financeToken, traceID] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const external = [];
    page.on('request', r => { if (!r.url().startsWith(base)) external.push(r.url()); });
    await page.goto(base + '/', { waitUntil: 'load', timeout: 15000 });
    const cell = sel => page.locator(`td[data-operator="magti"][data-field="${sel}"]`);
    await cell('sent_total').waitFor({ timeout: 15000 });
    const read = async () => Number((await cell('sent_total').innerText()).replace(/[^0-9.]/g, ''));
    const first = await read();
    let later = first;
    for (let i = 0; i < 30 && later <= first; i++) { await page.waitForTimeout(500); later = await read(); }
    if (later <= first) throw new Error(`sent_total did not move: ${first} -> ${later}`);
    // The page's number must match /metrics (allow the one-second poll lag).
    const m = await metric(base, 'smsgate_dispatch_parts_total', { operator: 'magti', result: 'ok' });
    const shown = await read();
    if (Math.abs(m - shown) > Math.max(50, m * 0.2)) throw new Error(`page shows ${shown}, /metrics says ${m}`);
    // Route quality: magti's row appears once receipts are in, and its
    // delivery rate is the one /metrics reports (within the poll lag).
    const q = page.locator('#quality tbody tr[data-operator="magti"] td[data-field="delivery_rate"]').first();
    await q.waitFor({ timeout: 15000 });
    let rateText = await q.innerText();
    for (let i = 0; i < 20 && !rateText.includes('%'); i++) { await page.waitForTimeout(500); rateText = await q.innerText(); }
    const pageRate = Number(rateText.replace(/[^0-9.]/g, '')) / 100;
    const metricRate = await metric(base, 'smsgate_route_delivery_rate', { operator: 'magti' });
    if (!(pageRate > 0.5 && pageRate <= 1)) throw new Error(`route quality: page shows ${rateText} for magti`);
    if (Math.abs(pageRate - metricRate) > 0.1) throw new Error(`route quality: page ${pageRate}, /metrics ${metricRate}`);
    // One row per bind, with its state.
    const bindState = await page.locator('#binds tbody tr[data-operator="magti"] td[data-field="state"]').first().innerText();
    if (bindState !== 'up') throw new Error(`magti's bind row says "${bindState}"`);
    // Limits next to use, and times in UTC.
    const win = await cell('window').innerText(), tps = await cell('sent_rate').innerText();
    if (!win.includes('%') || !tps.includes('/')) throw new Error(`window "${win}" or TPS "${tps}" without its limit`);
    const upd = await page.locator('#updated').innerText();
    if (!/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ? UTC$/.test(upd)) throw new Error(`time not in ISO UTC: "${upd}"`);
    // Money: hidden without a token, shown with a finance token.
    if (!(await page.locator('#billing-locked').isVisible()) || await page.locator('#billing').isVisible())
      throw new Error('billing is shown without a token');
    // Accounts: acme's row with its rate; no balance without a token.
    const acct = sel => page.locator(`#accounts td[data-account="acme"][data-field="${sel}"]`);
    await acct('rate').waitFor({ timeout: 15000 });
    let acctRate = Number((await acct('rate').innerText()).replace(/[^0-9.]/g, ''));
    for (let i = 0; i < 20 && !(acctRate > 0); i++) { await page.waitForTimeout(500); acctRate = Number((await acct('rate').innerText()).replace(/[^0-9.]/g, '')); }
    if (!(acctRate > 0)) throw new Error(`acme's rate on the page: ${acctRate}`);
    if ((await acct('balance').innerText()) !== '—') throw new Error('an account balance is shown without a token');
    const statusCalls = [];
    page.on('request', r => { if (r.url().includes('/api/v1/status')) statusCalls.push(r.headers()['authorization'] || ''); });
    await page.fill('#token', financeToken);
    await page.click('#token-form button');
    await page.locator('#billing').waitFor({ state: 'visible', timeout: 10000 });
    if (await page.locator('#billing-locked').isVisible()) throw new Error('billing still locked with a finance token');
    if (!statusCalls.some(h => h === 'Bearer ' + financeToken)) throw new Error('the token was not sent in the Authorization header');
    if (page.url().includes(financeToken)) throw new Error('the token is in the URL');
    // With finance, acme's balance is the API's (within the poll lag of
    // the traffic it keeps paying for), and so are its quota and holds.
    let balText = await acct('balance').innerText();
    for (let i = 0; i < 20 && balText === '—'; i++) { await page.waitForTimeout(500); balText = await acct('balance').innerText(); }
    const apiAcct = await (await fetch(base + '/api/v1/accounts/acme', { headers: { Authorization: 'Bearer ' + financeToken } })).json();
    const pageBal = Number(balText.split(' ')[0]);
    if (!balText.includes(apiAcct.currency) || !(Math.abs(pageBal - Number(apiAcct.balance)) <= 5))
      throw new Error(`acme's balance: page "${balText}", API ${apiAcct.balance} ${apiAcct.currency}`);
    if ((await acct('held').innerText()) !== String(apiAcct.held) || !(await acct('quota_day').innerText()).startsWith(String(apiAcct.quota.day_used)))
      throw new Error(`acme's held or quota differ from the API: ${JSON.stringify(apiAcct)}`);
    // Trace: the search box shows the same steps the API answers.
    await page.fill('#trace-id', traceID);
    await page.click('#trace-form button');
    await page.locator('#trace-steps li').first().waitFor({ timeout: 10000 });
    const shownSteps = await page.locator('#trace-steps li .what').allInnerTexts();
    const api = await (await fetch(base + '/api/v1/messages/' + encodeURIComponent(traceID), { headers: { Authorization: 'Bearer ' + financeToken } })).json();
    const apiSteps = api.steps.map(s => s.what);
    if (shownSteps.length < 3 || JSON.stringify(shownSteps) !== JSON.stringify(apiSteps))
      throw new Error(`trace on the page ${JSON.stringify(shownSteps)} differs from the API ${JSON.stringify(apiSteps)}`);
    if (external.length) throw new Error('external requests: ' + external.join(', '));
    await page.screenshot({ path: shot, fullPage: true });
    console.log(JSON.stringify({ first, later, shown, metrics: m, quality: { page: pageRate, metrics: metricRate }, traceSteps: shownSteps.length,
      account: { rate: acctRate, page: balText, api: apiAcct.balance } }));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
