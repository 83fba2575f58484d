// SPDX-License-Identifier: MIT
// hybridgate dashboard: polls /admin/stats every second (and /admin/economics every 10 s) with the
// admin key kept in sessionStorage, and draws the numbers and inline-SVG charts. No framework, no
// CDN; every number carries a data-testid and its raw value in data-value for the browser tests.
'use strict';

const KEY = 'hybridgate-admin-key';
const POLL_MS = 1000;
const ECON_MS = 10000;
const SVGNS = 'http://www.w3.org/2000/svg';
let timer = null;
let lastEcon = 0;

const $ = (sel) => document.querySelector(sel);
const tid = (id) => document.querySelector(`[data-testid="${id}"]`);

function setNum(id, value, text) {
  const el = tid(id);
  if (!el) return;
  el.dataset.value = String(value);
  el.textContent = text;
}

const fmtInt = (n) => Number(n).toLocaleString('en-US');
const fmtUsd = (n) => '$' + Number(n).toFixed(Math.abs(n) < 10 ? 4 : 2);
const fmtMs = (n) => (n === null || n === undefined ? '–' : Number(n).toFixed(1));
const fmtPct = (x) => (100 * x).toFixed(1) + '%';

function svgEl(name, attrs, parent) {
  const el = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (parent) parent.appendChild(el);
  return el;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

function showLogin(msg) {
  $('#dash').hidden = true;
  $('#logout').hidden = true;
  $('#login').hidden = false;
  tid('login-error').textContent = msg || '';
  tid('status').textContent = 'locked';
  tid('status').className = 'status';
  if (timer) clearInterval(timer);
  timer = null;
}

function start() {
  $('#login').hidden = true;
  $('#dash').hidden = false;
  $('#logout').hidden = false;
  lastEcon = 0;
  poll();
  if (!timer) timer = setInterval(poll, POLL_MS);
}

async function getJson(path) {
  const key = sessionStorage.getItem(KEY);
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' });
  if (r.status === 401) {
    sessionStorage.removeItem(KEY);
    showLogin('The admin key was refused.');
    throw new Error('unauthorized');
  }
  if (r.status === 404 && path.startsWith('/admin/')) {
    sessionStorage.removeItem(KEY);
    showLogin('The admin API is off on this gateway: set admin_key_env in its config.');
    throw new Error('unauthorized');
  }
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

async function poll() {
  try {
    const s = await getJson('/admin/stats');
    renderStats(s);
    if (Date.now() - lastEcon > ECON_MS) {
      lastEcon = Date.now();
      getJson('/admin/economics').then(renderEconomics).catch(() => {});
    }
    tid('status').textContent = 'live';
    tid('status').className = 'status ok';
  } catch (e) {
    if (e.message !== 'unauthorized') {
      tid('status').textContent = 'offline: ' + e.message;
      tid('status').className = 'status err';
    }
  }
}

function renderStats(s) {
  setNum('rps', s.rps, s.rps.toFixed(1));
  setNum('window', s.window_s, String(s.window_s));
  setNum('requests-total', s.requests_total, fmtInt(s.requests_total));
  setNum('self-hosted-share', s.self_hosted_share, fmtPct(s.self_hosted_share));
  setNum('self-hosted-total', s.self_hosted_total, fmtInt(s.self_hosted_total));
  setNum('hosted-total', s.hosted_total, fmtInt(s.hosted_total));
  setNum('no-backend-total', s.no_backend_total, fmtInt(s.no_backend_total));
  setNum('sensitive-local', s.sensitive_kept_local_total, fmtInt(s.sensitive_kept_local_total));
  setNum('sensitive-total', s.sensitive_total, fmtInt(s.sensitive_total));
  setNum('invariant-rejections', s.invariant_rejections_total, fmtInt(s.invariant_rejections_total));
  setNum('errors-total', s.errors_total, fmtInt(s.errors_total));
  setNum('cost-today', s.cost_today_usd, fmtUsd(s.cost_today_usd));
  setNum('cost-month', s.cost_month_usd, fmtUsd(s.cost_month_usd));
  setNum('cost-projection', s.cost_month_projection_usd, fmtUsd(s.cost_month_projection_usd));
  setNum('cost-total', s.cost_total_usd, fmtUsd(s.cost_total_usd));
  renderRpsChart(s.series);
  renderSplit(s.self_hosted_total, s.hosted_total);
  renderBackends(s.backends);
  renderRules(s.rules || []);
  const lu = tid('last-updated');
  lu.textContent = new Date(s.now_ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  lu.dataset.updatedMs = String(s.now_ms);
}

// Stacked area of self-hosted and hosted requests per second, with the sensitive line on top.
function renderRpsChart(series) {
  const svg = $('#rps-chart');
  clear(svg);
  const W = 600, H = 160, n = series.requests.length;
  const max = Math.max(1, ...series.requests);
  const x = (i) => (i / (n - 1)) * W;
  const y = (v) => H - 4 - (v / max) * (H - 20);
  for (let g = 1; g <= 3; g++) {
    svgEl('line', { x1: 0, x2: W, y1: y((max * g) / 3), y2: y((max * g) / 3), stroke: '#26303b' }, svg);
  }
  const area = (lo, hi, color) => {
    let d = `M0,${y(hi[0] + lo[0])}`;
    for (let i = 1; i < n; i++) d += ` L${x(i)},${y(hi[i] + lo[i])}`;
    for (let i = n - 1; i >= 0; i--) d += ` L${x(i)},${y(lo[i])}`;
    svgEl('path', { d: d + ' Z', fill: color, 'fill-opacity': 0.75 }, svg);
  };
  const zero = new Array(n).fill(0);
  area(zero, series.self_hosted, '#3fb68b');
  area(series.self_hosted, series.hosted, '#5b8def');
  let d = '';
  for (let i = 0; i < n; i++) d += `${i ? ' L' : 'M'}${x(i)},${y(series.sensitive[i])}`;
  svgEl('path', { d, fill: 'none', stroke: '#e5a93b', 'stroke-width': 2 }, svg);
  const t = svgEl('text', { x: 4, y: 12, fill: '#8a96a3', 'font-size': 11 }, svg);
  t.textContent = `max ${max}/s`;
}

// Donut: self-hosted vs hosted share of all requests that reached a backend.
function renderSplit(self, hosted) {
  const svg = $('#split-chart');
  clear(svg);
  const total = self + hosted;
  const r = 60, cx = 80, cy = 80, C = 2 * Math.PI * r;
  svgEl('circle', { cx, cy, r, fill: 'none', stroke: '#26303b', 'stroke-width': 22 }, svg);
  if (total > 0) {
    const f = self / total;
    svgEl('circle', { cx, cy, r, fill: 'none', stroke: '#5b8def', 'stroke-width': 22 }, svg);
    svgEl('circle', {
      cx, cy, r, fill: 'none', stroke: '#3fb68b', 'stroke-width': 22,
      'stroke-dasharray': `${f * C} ${C}`, transform: `rotate(-90 ${cx} ${cy})`,
    }, svg);
  }
  const t = svgEl('text', { x: cx, y: cy + 6, fill: '#e6e6e6', 'font-size': 20, 'text-anchor': 'middle' }, svg);
  t.textContent = total ? fmtPct(self / total) : '–';
  t.setAttribute('data-testid', 'split-self-pct');
}

function cell(tr, testid, value, text, cls) {
  const td = document.createElement('td');
  td.dataset.testid = testid;
  td.dataset.value = String(value);
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function renderBackends(backends) {
  const tbody = $('#backend-rows');
  clear(tbody);
  for (const b of backends) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'backend-row';
    tr.dataset.backend = b.name;
    cell(tr, 'backend-name', b.name, b.name);
    cell(tr, 'backend-kind', b.kind, b.kind === 'self_hosted' ? 'self-hosted' : 'hosted');
    const health = b.healthy ? 'healthy' : !b.up ? 'down' : 'circuit ' + b.circuit.replace('_', '-');
    cell(tr, 'backend-health', b.healthy ? 1 : 0, health, 'health ' + (b.healthy ? 'ok' : b.up ? 'warn' : 'bad'));
    cell(tr, 'backend-requests', b.requests, fmtInt(b.requests));
    cell(tr, 'backend-errors', b.errors, fmtInt(b.errors));
    cell(tr, 'backend-inflight', b.in_flight, fmtInt(b.in_flight));
    cell(tr, 'backend-queued', b.queued, fmtInt(b.queued));
    const lat = cell(tr, 'backend-latency-avg', b.latency_avg_ms ?? '', `${fmtMs(b.latency_avg_ms)} / ${fmtMs(b.latency_p95_ms)}`);
    lat.dataset.p95 = String(b.latency_p95_ms ?? '');
    const tt = cell(tr, 'backend-ttft-avg', b.ttft_avg_ms ?? '', `${fmtMs(b.ttft_avg_ms)} / ${fmtMs(b.ttft_p95_ms)}`);
    tt.dataset.p95 = String(b.ttft_p95_ms ?? '');
    cell(tr, 'backend-tokens', b.input_tokens + b.output_tokens, `${fmtInt(b.input_tokens)} / ${fmtInt(b.output_tokens)}`);
    cell(tr, 'backend-cost', b.cost_usd, fmtUsd(b.cost_usd));
    tbody.appendChild(tr);
  }
  renderLatency(backends);
}

function renderRules(rules) {
  const tbody = $('#rule-rows');
  clear(tbody);
  for (const r of rules) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'rule-row';
    tr.dataset.rule = r.name;
    cell(tr, 'rule-name', r.name, r.name);
    cell(tr, 'rule-requests', r.requests, fmtInt(r.requests));
    cell(tr, 'rule-self-hosted', r.self_hosted, fmtInt(r.self_hosted));
    cell(tr, 'rule-hosted', r.hosted, fmtInt(r.hosted));
    cell(tr, 'rule-no-backend', r.requests - r.self_hosted - r.hosted, fmtInt(r.requests - r.self_hosted - r.hosted));
    cell(tr, 'rule-errors', r.errors, fmtInt(r.errors));
    tbody.appendChild(tr);
  }
}

// Horizontal bars: mean latency and mean TTFT per backend.
function renderLatency(backends) {
  const svg = $('#latency-chart');
  clear(svg);
  const n = Math.max(1, backends.length);
  svg.setAttribute('viewBox', `0 0 600 ${n * 28 + 4}`);
  const max = Math.max(1, ...backends.map((b) => Math.max(b.latency_avg_ms || 0, b.ttft_avg_ms || 0)));
  backends.forEach((b, i) => {
    const y = 4 + i * 28;
    const label = svgEl('text', { x: 0, y: y + 15, fill: '#8a96a3', 'font-size': 12 }, svg);
    label.textContent = b.name;
    const w = (v) => ((v || 0) / max) * 370;
    svgEl('rect', { x: 140, y, width: w(b.latency_avg_ms), height: 10, fill: '#5b8def' }, svg);
    svgEl('rect', { x: 140, y: y + 12, width: w(b.ttft_avg_ms), height: 10, fill: '#e5a93b' }, svg);
    const v = svgEl('text', { x: 145 + w(b.latency_avg_ms), y: y + 10, fill: '#8a96a3', 'font-size': 10 }, svg);
    v.textContent = b.latency_avg_ms === null ? '' : `${fmtMs(b.latency_avg_ms)} ms`;
  });
}

// The economics headline comes from the report (src/report/, report_headline_json), refreshed by
// the gateway in the background: spend over the window, the monthly what-if of each option
// (hybrid as configured, all frontier, hosted open models, all self-hosted) and a recommendation.
// `rules[]` entries (rule / what_if / recommendation) are shown too when the report provides them.
const OPTIONS = [
  ['hybrid_usd', 'hybrid (as configured)'],
  ['frontier_usd', 'all hosted frontier'],
  ['hosted_open_usd', 'hosted open models'],
  ['self_hosted_usd', 'all self-hosted'],
];

function renderEconomics(e) {
  const el = $('#economics');
  clear(el);
  if (!e || e.available === false) {
    el.textContent = (e && e.reason) || 'no economics report available';
    el.dataset.available = 'false';
    return;
  }
  el.dataset.available = 'true';
  const h = e.headline || {};
  const p = document.createElement('p');
  p.dataset.testid = 'economics-headline';
  const days = e.window_days ? `last ${e.window_days} days` : `last ${Math.round(h.window_hours || 0)} h`;
  p.textContent = `${days}: ${fmtInt(h.requests || 0)} requests, ${fmtUsd(h.spend_usd || 0)} spent` +
    (h.peak_hour_over_mean ? `, peak hour ${Number(h.peak_hour_over_mean).toFixed(1)}× the mean` : '') + '.';
  el.appendChild(p);
  if (h.recommendation) {
    const rec = document.createElement('p');
    rec.className = 'rec';
    rec.dataset.testid = 'economics-recommendation';
    rec.dataset.value = h.recommendation;
    rec.textContent = `→ ${h.recommendation.replace(/_/g, ' ')}` + (h.reason ? `: ${h.reason}` : '');
    el.appendChild(rec);
  }
  const m = h.monthly || {};
  const rows = OPTIONS.filter(([k]) => m[k] !== null && m[k] !== undefined);
  if (rows.length) {
    const svg = svgEl('svg', { class: 'bars', viewBox: `0 0 600 ${rows.length * 24 + 4}`, role: 'img', 'aria-label': 'monthly cost what-if' }, el);
    svg.setAttribute('data-testid', 'economics-monthly');
    const max = Math.max(1e-9, ...rows.map(([k]) => m[k]));
    rows.forEach(([k, label], i) => {
      const y = 4 + i * 24;
      const t = svgEl('text', { x: 0, y: y + 13, fill: '#8a96a3', 'font-size': 12 }, svg);
      t.textContent = label;
      const r = svgEl('rect', { x: 170, y, width: (m[k] / max) * 330, height: 16, fill: k === 'hybrid_usd' ? '#3fb68b' : '#5b8def' }, svg);
      r.setAttribute('data-testid', 'econ-' + k);
      r.setAttribute('data-value', String(m[k]));
      const v = svgEl('text', { x: 175 + (m[k] / max) * 330, y: y + 13, fill: '#e6e6e6', 'font-size': 12 }, svg);
      v.textContent = fmtUsd(m[k]) + '/mo';
    });
  }
  for (const r of e.rules || h.rules || []) {
    const div = document.createElement('div');
    div.className = 'econ-rule';
    div.dataset.testid = 'economics-rule';
    div.dataset.rule = r.rule || '';
    const b = document.createElement('b');
    b.textContent = r.rule || '(rule)';
    div.appendChild(b);
    const what = r.what_if ?? r.whatif ?? r.summary;
    if (what !== undefined) {
      div.appendChild(document.createTextNode(' — ' + (typeof what === 'string' ? what : JSON.stringify(what))));
    }
    if (r.recommendation) {
      const rec = document.createElement('div');
      rec.className = 'rec';
      rec.textContent = '→ ' + r.recommendation;
      div.appendChild(rec);
    }
    el.appendChild(div);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = tid('key-input').value.trim();
    if (!k) return;
    sessionStorage.setItem(KEY, k);
    tid('key-input').value = '';
    start();
  });
  $('#logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    showLogin('');
  });
  if (sessionStorage.getItem(KEY)) start();
  else showLogin('');
});
