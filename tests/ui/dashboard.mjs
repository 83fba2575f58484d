// SPDX-License-Identifier: MIT
// Drives the dashboard in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// wrong key refused, right key accepted and kept in sessionStorage only, traffic generated through
// the gateway, then every number on the page compared with /metrics scraped right after. Saves a
// screenshot. Run by tests/e2e/82_dashboard.py; environment:
//   HG_URL          gateway base URL            HG_ADMIN_KEY   the admin key
//   HG_NODE_MODULES dir holding playwright-core  HG_SHOT        screenshot path (PNG)
//   HG_LOCAL_MODEL / HG_HOSTED_MODEL  models served by a self-hosted / a hosted backend
// Prints one line per check and "ui: N passed, N failed"; exits 1 on any failure.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

const require = createRequire(join(process.env.HG_NODE_MODULES, 'x.js'));
const { chromium } = require('playwright-core');

const URL_ = process.env.HG_URL;
const KEY = process.env.HG_ADMIN_KEY;
const SHOT = process.env.HG_SHOT;
const LOCAL = process.env.HG_LOCAL_MODEL || 'm';
const HOSTED = process.env.HG_HOSTED_MODEL || 'h';
let passed = 0;
let failed = 0;

function check(name, cond, detail) {
  if (cond) {
    passed++;
    console.log(`  ok   ${name}`);
  } else {
    failed++;
    console.log(`  FAIL ${name}: ${detail === undefined ? '' : JSON.stringify(detail)}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, ms, step = 100) {
  const end = Date.now() + ms;
  let v;
  while (Date.now() < end) {
    v = await fn();
    if (v) return v;
    await sleep(step);
  }
  return fn();
}

// Prometheus text → [{name, labels, value}]
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) throw new Error('bad metrics line: ' + line);
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (ms, name, want = {}) =>
  ms.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

async function chat(model, content, stream = false) {
  const r = await fetch(URL_ + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content }] }),
  });
  await r.arrayBuffer();
  return r.status;
}

const userDataDir = mkdtempSync(join(tmpdir(), 'hg-ui-chromium-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const external = [];
  page.on('request', (req) => { if (!req.url().startsWith(URL_)) external.push(req.url()); });

  await page.goto(URL_ + '/ui', { waitUntil: 'load' });
  const tid = (id) => page.locator(`[data-testid="${id}"]`);
  check('login form shown without a key', await tid('key-input').isVisible());
  check('no data before the key', !(await tid('dashboard').isVisible()));

  // a wrong key is refused by /admin/ (401) and the login comes back with an error
  await tid('key-input').fill('definitely-wrong');
  await tid('key-submit').click();
  const refused = await waitFor(async () => (await tid('login-error').textContent()).includes('refused'), 5000);
  check('wrong key refused', refused, await tid('login-error').textContent());
  check('wrong key not kept', (await page.evaluate(() => sessionStorage.length)) === 0);

  await tid('key-input').fill(KEY);
  await tid('key-submit').click();
  const live = await waitFor(async () => (await tid('status').textContent()) === 'live', 5000);
  check('dashboard live with the right key', live, await tid('status').textContent());
  const stored = await page.evaluate(() => ({ s: Object.keys(sessionStorage), l: localStorage.length }));
  check('key kept in sessionStorage only', stored.s.length === 1 && stored.l === 0, stored);

  // known traffic: self-hosted and hosted, streamed and not, and some 404s
  const plan = [];
  for (let i = 0; i < 14; i++) plan.push(chat(LOCAL, 'local ' + i, i % 3 === 0));
  for (let i = 0; i < 6; i++) plan.push(chat(HOSTED, 'hosted ' + i, i % 2 === 0));
  for (let i = 0; i < 2; i++) plan.push(chat('no-such-model', 'x'));
  // sensitive: a card number stays on the self-hosted backend, and is refused (503) for a model
  // only a hosted backend serves
  for (const c of ['a', 'b', 'c']) plan.push(chat(LOCAL, `refund card 4111 1111 1111 1111 ref ${c}`));
  plan.push(chat(HOSTED, 'refund card 4111 1111 1111 1111 ref d'));
  const statuses = await Promise.all(plan);
  const count = (st) => statuses.filter((s) => s === st).length;
  check('traffic answered', count(200) === 23 && count(404) === 2 && count(503) === 1, statuses);

  const num = async (id) => Number(await tid(id).getAttribute('data-value'));
  const seen = await waitFor(async () => (await num('requests-total')) === 26, 8000);
  check('page shows the requests', seen, await num('requests-total'));
  // the rate covers the last complete seconds, so it shows the burst from the next second on
  check('requests/s is positive', await waitFor(async () => (await num('rps')) > 0, 4000), await num('rps'));
  await sleep(1200); // one more refresh so every panel is from the same, final state

  const pageState = await page.evaluate(() => {
    const v = (id) => Number(document.querySelector(`[data-testid="${id}"]`).dataset.value);
    const rows = {};
    for (const tr of document.querySelectorAll('[data-testid="backend-row"]')) {
      const c = (id) => tr.querySelector(`[data-testid="${id}"]`).dataset;
      rows[tr.dataset.backend] = {
        requests: Number(c('backend-requests').value), errors: Number(c('backend-errors').value),
        latency: Number(c('backend-latency-avg').value), ttft: Number(c('backend-ttft-avg').value),
        tokens: Number(c('backend-tokens').value), cost: Number(c('backend-cost').value),
        health: Number(c('backend-health').value), kind: c('backend-kind').value,
      };
    }
    return {
      total: v('requests-total'), self: v('self-hosted-total'), hosted: v('hosted-total'),
      none: v('no-backend-total'), share: v('self-hosted-share'), sensLocal: v('sensitive-local'),
      sens: v('sensitive-total'), inv: v('invariant-rejections'), errors: v('errors-total'),
      costTotal: v('cost-total'), rows,
      ruleRows: [...document.querySelectorAll('[data-testid="rule-row"]')].map((tr) => ({
        rule: tr.dataset.rule,
        requests: Number(tr.querySelector('[data-testid="rule-requests"]').dataset.value),
        hosted: Number(tr.querySelector('[data-testid="rule-hosted"]').dataset.value),
      })),
      rpsPaths: document.querySelectorAll('#rps-chart path').length,
      latencyBars: document.querySelectorAll('#latency-chart rect').length,
    };
  });
  const mres = await fetch(URL_ + '/metrics', { headers: { Authorization: 'Bearer ' + KEY } });
  const ms = parseMetrics(await mres.text());
  const R = 'hybridgate_requests_total';
  check('total matches /metrics', pageState.total === sum(ms, R), [pageState.total, sum(ms, R)]);
  check('self-hosted matches /metrics', pageState.self === sum(ms, R, { kind: 'self_hosted' }), [pageState.self, sum(ms, R, { kind: 'self_hosted' })]);
  check('hosted matches /metrics', pageState.hosted === sum(ms, R, { kind: 'hosted' }), [pageState.hosted, sum(ms, R, { kind: 'hosted' })]);
  check('no-backend matches /metrics', pageState.none === sum(ms, R, { kind: 'none' }), pageState.none);
  check('split share matches', Math.abs(pageState.share - pageState.self / (pageState.self + pageState.hosted)) < 1e-4, pageState.share);
  check('errors match /metrics', pageState.errors === sum(ms, R, { status_class: '5xx' }), pageState.errors);
  check('sensitive kept local matches /metrics', pageState.sensLocal === sum(ms, 'hybridgate_sensitive_kept_local_total'), pageState.sensLocal);
  check('sensitive kept local is the 3 card requests', pageState.sensLocal === 3, pageState.sensLocal);
  check('invariant refusal shown', pageState.inv === 1, pageState.inv);
  check('sensitive total matches /metrics', pageState.sens === sum(ms, 'hybridgate_sensitive_requests_total'), pageState.sens);
  check('invariant rejections match /metrics', pageState.inv === sum(ms, 'hybridgate_invariant_rejections_total'), pageState.inv);
  check('total cost matches /metrics', Math.abs(pageState.costTotal - sum(ms, 'hybridgate_cost_usd_total')) < 1e-6, pageState.costTotal);
  check('cost is priced', pageState.costTotal > 0, pageState.costTotal);
  const costToday = Number(await tid('cost-today').getAttribute('data-value'));
  check('cost today matches /metrics (fresh store)', Math.abs(costToday - sum(ms, 'hybridgate_cost_usd_total')) < 1e-6, costToday);
  for (const [name, row] of Object.entries(pageState.rows)) {
    const b = { backend: name };
    check(`${name}: requests match`, row.requests === sum(ms, R, b), [row.requests, sum(ms, R, b)]);
    const cnt = sum(ms, 'hybridgate_request_duration_seconds_count', b);
    const avg = cnt ? (1000 * sum(ms, 'hybridgate_request_duration_seconds_sum', b)) / cnt : 0;
    check(`${name}: mean latency matches`, Math.abs(row.latency - avg) < 0.002, [row.latency, avg]);
    const tc = sum(ms, 'hybridgate_time_to_first_token_seconds_count', b);
    const tavg = tc ? (1000 * sum(ms, 'hybridgate_time_to_first_token_seconds_sum', b)) / tc : 0;
    check(`${name}: mean TTFT matches`, Math.abs(row.ttft - tavg) < 0.002, [row.ttft, tavg]);
    const tok = sum(ms, 'hybridgate_input_tokens_total', b) + sum(ms, 'hybridgate_output_tokens_total', b);
    check(`${name}: tokens match`, row.tokens === tok, [row.tokens, tok]);
    check(`${name}: cost matches`, Math.abs(row.cost - sum(ms, 'hybridgate_cost_usd_total', b)) < 1e-6, [row.cost, sum(ms, 'hybridgate_cost_usd_total', b)]);
    check(`${name}: health matches backend_up`, row.health === sum(ms, 'hybridgate_backend_up', b), row.health);
  }
  check('rules listed', pageState.ruleRows.length >= 2, pageState.ruleRows);
  for (const r of pageState.ruleRows) {
    check(`rule ${r.rule}: requests match`, r.requests === sum(ms, R, { rule: r.rule }), [r.requests, sum(ms, R, { rule: r.rule })]);
    check(`rule ${r.rule}: hosted match`, r.hosted === sum(ms, R, { rule: r.rule, kind: 'hosted' }), r.hosted);
  }
  check('both backends listed', Object.keys(pageState.rows).length === 2, Object.keys(pageState.rows));
  check('charts drawn', pageState.rpsPaths >= 3 && pageState.latencyBars >= 4, [pageState.rpsPaths, pageState.latencyBars]);
  check('economics panel rendered', ((await tid('economics').textContent()) || '').length > 0);
  check('no request left the gateway', external.length === 0, external);
  check('no page errors', consoleErrors.length === 0, consoleErrors);
  const html = await page.content();
  check('no backend key on the page', !html.includes(process.env.HG_CANARY || '\u0000never'), 'canary found');

  mkdirSync(dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });
  check('screenshot saved', true);
} catch (e) {
  failed++;
  console.log('  FAIL driver: ' + (e && e.stack ? e.stack : e));
} finally {
  if (ctx) await ctx.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`ui: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
