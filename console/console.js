/* The review console: a plain ES module, no framework, no build step.
 * Every piece of data from the API is put into the page with textContent / createElement, never as
 * HTML: a caller name such as <script>...</script> stays text.
 * Every POST carries X-Callscreen-Request: 1 (the server's CSRF check) and a JSON body. */
/* global document, URLSearchParams, setInterval, clearTimeout, setTimeout */
'use strict';

const CALLS_EVERY_MS = 2000;
const RULES_EVERY_MS = 3000;
const SUMMARY_EVERY_MS = 10000; // the server keeps a summary for 10 s
const FEEDS_EVERY_MS = 30000;
import { $, api, el, svg, VERDICTS } from './console-dom.js';

const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify(body) });

function formatPoints(points) {
  return points > 0 ? `+${points}` : String(points);
}

function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === today.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

const callerOf = (call) => call.caller.e164 || call.caller.raw || 'withheld';

/** the reason that moved the score most (or the deciding rule) */
function mainReason(call) {
  const rule = call.reasons.find((r) => r.code === 'rule.allow' || r.code === 'rule.deny');
  if (rule) return rule;
  let best;
  for (const r of call.reasons)
    if (r.points !== null && r.points !== 0 && (!best || Math.abs(r.points) > Math.abs(best.points))) best = r;
  return best;
}

function connection(ok, text) {
  const c = $('conn');
  c.textContent = text;
  c.className = ok ? 'conn ok' : 'conn bad';
}

// ---------------------------------------------------------------------------------------------------
// the list

const state = {
  calls: new Map(),
  signature: undefined,
  selected: undefined,
  selectedCall: undefined,
  filters: new URLSearchParams(),
};

function readFilters() {
  const form = $('filters');
  const params = new URLSearchParams();
  for (const name of ['verdict', 'number', 'did', 'since']) {
    const value = form.elements[name].value.trim();
    if (value !== '') params.set(name, value);
  }
  return params;
}

function applyFilters() {
  state.filters = readFilters();
  state.signature = undefined; // redraw even when the new list is empty too
  void refreshCalls();
}

let callsInFlight = false;
async function refreshCalls() {
  if (callsInFlight) return;
  callsInFlight = true;
  const filters = state.filters.toString();
  try {
    const data = await api(`/api/v1/calls?${filters}`);
    if (filters !== state.filters.toString()) return; // the filters changed meanwhile: the next poll shows them
    connection(true, `updated ${new Date().toLocaleTimeString()}`);
    $('list-note').textContent = data.more
      ? `showing the newest ${data.calls.length}; narrow the filters to see older calls`
      : `${data.calls.length} call${data.calls.length === 1 ? '' : 's'}`;
    renderCalls(data.calls);
  } catch (e) {
    if (e.status === 400) $('list-note').textContent = e.message;
    else connection(false, `not updated: ${e.message}`);
  } finally {
    callsInFlight = false;
  }
}

function renderCalls(calls) {
  const signature = calls.map((c) => c.id).join(',');
  state.calls = new Map(calls.map((c) => [c.id, c]));
  if (signature === state.signature) return; // entries never change: same ids, same rows
  state.signature = signature;
  const rows = calls.map((call) => {
    const reason = mainReason(call);
    const verdict = el('span', { class: `badge v-${call.verdict}` }, call.verdict);
    const verdictCell = el('td', {}, verdict);
    if (call.shadowVerdict)
      verdictCell.append(
        ' ',
        el(
          'span',
          { class: `badge shadow v-${call.shadowVerdict}`, title: 'shadow mode: the verdict it would have had' },
          `(${call.shadowVerdict})`,
        ),
      );
    if (call.degraded)
      verdictCell.append(
        ' ',
        el('span', { class: 'degraded', title: 'Redis did not answer in time: decided on local data' }, 'degraded'),
      );
    const row = el(
      'tr',
      {
        'data-testid': 'call-row',
        'data-call-id': call.callId,
        'data-caller': callerOf(call),
        'data-verdict': call.verdict,
        'data-id': call.id,
        tabindex: 0,
        class: call.id === state.selected ? 'selected' : '',
      },
      el('td', { class: 'time' }, formatTime(call.at)),
      el('td', { class: 'number' }, callerOf(call)),
      el('td', { class: 'name' }, call.callerName ?? ''),
      el('td', { class: 'number' }, call.did),
      verdictCell,
      el('td', { class: 'num' }, String(call.score)),
      el('td', { class: 'reason' }, reason ? reason.text : ''),
      el('td', {}, call.routedTo + (call.captcha ? ` · CAPTCHA ${call.captcha.outcome}` : '')),
    );
    return row;
  });
  $('calls').replaceChildren(...rows);
  if (calls.length === 0)
    $('calls').append(el('tr', { class: 'empty' }, el('td', { colspan: 8 }, 'no screened calls match')));
}

function rowFromEvent(event) {
  const row = event.target.closest('tr[data-testid="call-row"]');
  return row ? row.getAttribute('data-id') : undefined;
}

// ---------------------------------------------------------------------------------------------------
// the detail

function showDetail(id) {
  const call = state.calls.get(id);
  if (!call) return;
  state.selected = id;
  state.selectedCall = call;
  for (const row of $('calls').querySelectorAll('tr[data-testid="call-row"]'))
    row.classList.toggle('selected', row.getAttribute('data-id') === id);

  $('detail-caller').textContent =
    callerOf(call) + (call.caller.e164 && call.caller.raw !== call.caller.e164 ? ` (${call.caller.raw})` : '');
  const badge = $('detail-verdict');
  badge.textContent = call.verdict;
  badge.className = `badge v-${call.verdict}`;
  $('detail-score').textContent =
    `score ${call.score}${call.shadowVerdict ? ` · shadow verdict ${call.shadowVerdict}` : ''}${call.degraded ? ' · degraded' : ''}`;

  const facts = [
    ['Name', call.callerName ?? '—'],
    ['DID', call.did],
    ['Time', `${formatTime(call.at)} (${call.at})`],
    ['Routed to', call.routedTo],
    [
      'CAPTCHA',
      call.captcha
        ? `${call.captcha.outcome}, ${call.captcha.attempts} attempt${call.captcha.attempts === 1 ? '' : 's'}`
        : '—',
    ],
    ['Decided in', `${call.decisionMs} ms on ${call.host}`],
    ['Call id', call.callId],
  ];
  $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));

  $('detail-reasons').replaceChildren(
    ...call.reasons.map((r) =>
      el(
        'li',
        { 'data-testid': 'reason', 'data-code': r.code },
        el(
          'span',
          { class: `points${r.points === null ? ' none' : r.points > 0 ? ' up' : r.points < 0 ? ' down' : ''}` },
          r.points === null ? '' : formatPoints(r.points),
        ),
        el('span', { class: 'code' }, r.code),
        el('span', { class: 'text' }, r.text),
      ),
    ),
  );
  const withheld = !call.caller.e164;
  for (const id of ['btn-spam', 'btn-not-spam', 'btn-always-allow']) $(id).disabled = withheld;
  $('feedback-status').textContent = withheld ? 'a withheld or unparseable number cannot be reported' : '';
  $('detail').hidden = false;
}

function hideDetail() {
  state.selected = undefined;
  state.selectedCall = undefined;
  $('detail').hidden = true;
  for (const row of $('calls').querySelectorAll('tr.selected')) row.classList.remove('selected');
}

async function act(kind) {
  const call = state.selectedCall;
  const status = $('feedback-status');
  if (!call || !call.caller.e164) return;
  const number = call.caller.e164;
  status.textContent = 'sending…';
  status.className = 'status';
  try {
    if (kind === 'allow') {
      const r = await post('/api/v1/allow', { number });
      status.textContent = r.added
        ? `${r.number} added to ${r.file}: its calls reach the agents`
        : `${r.number} was already on ${r.file}`;
    } else {
      const r = await post('/api/v1/feedback', { number, verdict: kind });
      const what = kind === 'spam' ? 'spam' : 'not spam';
      const listed = r.promoted ? '; on the managed allow list' : '';
      status.textContent = `${r.number} reported as ${what} (spam ${r.spam}, not spam ${r.ok})${listed}${r.listError ? ` — list not changed: ${r.listError}` : ''}`;
    }
    status.className = 'status ok';
    void refreshRules();
  } catch (e) {
    status.textContent = `not saved: ${e.message}`;
    status.className = 'status bad';
  }
}

// ---------------------------------------------------------------------------------------------------
// the summary

let summaryInFlight = false;
async function refreshSummary() {
  if (summaryInFlight) return;
  summaryInFlight = true;
  try {
    renderSummary(await api('/api/v1/summary?hours=24'));
  } catch (e) {
    $('summary-note').textContent = `summary not updated: ${e.message}`;
  } finally {
    summaryInFlight = false;
  }
}

function renderSummary(s) {
  const chart = $('chart');
  const barW = 24;
  const gap = 4;
  const height = 140;
  const axis = 18;
  const width = s.byHour.length * (barW + gap) + gap;
  chart.setAttribute('viewBox', `0 0 ${width} ${height + axis}`);
  chart.setAttribute('width', String(width));
  chart.setAttribute('height', String(height + axis));
  const max = Math.max(1, ...s.byHour.map((h) => VERDICTS.reduce((n, v) => n + h[v], 0)));
  const parts = [svg('line', { x1: 0, y1: height + 0.5, x2: width, y2: height + 0.5, class: 'axis' })];
  s.byHour.forEach((h, i) => {
    const x = gap + i * (barW + gap);
    const hour = new Date(h.hour);
    const label = `${String(hour.getHours()).padStart(2, '0')}:00`;
    let y = height;
    for (const v of VERDICTS) {
      if (h[v] === 0) continue;
      const barH = Math.max(1, Math.round((h[v] / max) * (height - 4)));
      y -= barH;
      const rect = svg('rect', {
        x,
        y,
        width: barW,
        height: barH,
        class: `bar v-${v}`,
        'data-verdict': v,
        'data-hour': h.hour,
      });
      const title = svg('title');
      title.textContent = `${label}: ${h[v]} ${v}`;
      rect.append(title);
      parts.push(rect);
    }
    if (i % 3 === 0 || i === s.byHour.length - 1) {
      const text = svg('text', { x: x + barW / 2, y: height + axis - 4, class: 'tick' });
      text.textContent = label;
      parts.push(text);
    }
  });
  chart.replaceChildren(...parts);
  $('summary-note').textContent =
    `${s.calls} call${s.calls === 1 ? '' : 's'}${s.capped ? ' (only the newest were counted)' : ''}`;

  $('top-spam').replaceChildren(
    ...(s.topSpam.length === 0
      ? [el('li', { class: 'empty' }, 'none')]
      : s.topSpam.map((t) =>
          el(
            'li',
            {},
            el('span', { class: 'number' }, t.number),
            ' ',
            el('span', { class: 'count' }, `${t.calls} call${t.calls === 1 ? '' : 's'}`),
          ),
        )),
  );

  const c = s.captcha;
  $('captcha-pass-rate').textContent = c.passRate === null ? 'no CAPTCHAs' : `${Math.round(c.passRate * 1000) / 10} %`;
  $('captcha-counts').textContent = `passed ${c.passed}, failed ${c.failed}, other ${c.other} (hung up, timed out)`;
}

// ---------------------------------------------------------------------------------------------------
// the rules

let rulesInFlight = false;
let rulesSignature = '';
async function refreshRules() {
  if (rulesInFlight) return;
  rulesInFlight = true;
  try {
    const data = await api('/api/v1/rules');
    $('rules-error').textContent = data.lastReloadError ?? '';
    const signature = JSON.stringify(data.files);
    if (signature !== rulesSignature) {
      rulesSignature = signature;
      renderRules(data.files);
    }
  } catch (e) {
    $('rules-error').textContent = `rules not loaded: ${e.message}`;
  } finally {
    rulesInFlight = false;
  }
}

function renderRules(files) {
  const blocks = files.map((f) => {
    const show = el('button', { type: 'button', class: 'link', 'data-name': f.name }, 'show file');
    const head = el(
      'h3',
      {},
      `${f.name} `,
      el('span', { class: 'note' }, f.kind === 'admin' ? 'the admin’s rules' : 'managed allow list (agents’ feedback)'),
      ' ',
      show,
    );
    const block = el('div', { class: 'rule-file', 'data-kind': f.kind }, head);
    if (f.error)
      block.append(
        el(
          'p',
          { class: 'file-error' },
          `${f.error.file}:${f.error.line}:${f.error.column} ${f.error.reason} — the last good rules stay in force`,
        ),
      );
    if (f.rules.length === 0) {
      block.append(el('p', { class: 'note' }, 'no rules'));
    } else {
      const rows = f.rules.map((r) =>
        el(
          'tr',
          { 'data-list': r.list },
          el('td', {}, el('span', { class: `badge ${r.list === 'allow' ? 'v-allow' : 'v-reject'}` }, r.list)),
          el('td', { class: 'number' }, r.pattern),
          el('td', {}, r.label ?? ''),
          el('td', { class: 'num' }, String(r.line)),
        ),
      );
      block.append(
        el(
          'table',
          { class: 'rule-table' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', {}, 'List'),
              el('th', {}, 'Pattern'),
              el('th', {}, 'Label'),
              el('th', { class: 'num' }, 'Line'),
            ),
          ),
          el('tbody', {}, ...rows),
        ),
      );
    }
    return block;
  });
  $('rule-files').replaceChildren(...blocks);
}

async function showSource(name) {
  const pre = $('rule-source');
  try {
    pre.textContent = await api(`/api/v1/rules/source?name=${encodeURIComponent(name)}`);
  } catch (e) {
    pre.textContent = `${name}: ${e.message}`;
  }
  pre.hidden = false;
}

// ---------------------------------------------------------------------------------------------------
// the feed subscriptions (shown only when callscreen.yaml has feeds:)

async function refreshFeeds() {
  try {
    const data = await api('/api/v1/feeds');
    $('feeds-error').textContent = '';
    renderFeeds(data.feeds);
  } catch (e) {
    $('feeds-error').textContent = `feed status not loaded: ${e.message}`;
  }
}

function renderFeeds(feeds) {
  $('feeds-panel').hidden = feeds.length === 0;
  const when = (ms) => (typeof ms === 'number' ? formatTime(new Date(ms).toISOString()) : '–');
  const rows = feeds.map((f) => {
    const s = f.status;
    return el(
      'tr',
      { 'data-feed': f.name, class: s && s.failures > 0 ? 'failing' : undefined },
      el('td', { title: f.url }, f.name),
      el('td', {}, s ? when(s.lastSuccessAt) : 'never'),
      el('td', { class: 'num' }, s && typeof s.entries === 'number' ? s.entries.toLocaleString('en') : '–'),
      el('td', { class: 'num' }, s && typeof s.httpStatus === 'number' ? String(s.httpStatus) : '–'),
      el('td', {}, s ? when(s.nextRunAt) : 'due'),
      el('td', { class: 'num' }, String(s ? s.failures : 0)),
      el('td', { class: 'file-error' }, s && s.lastError ? `${when(s.lastErrorAt)} ${s.lastError}` : ''),
    );
  });
  $('feed-rows').replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------------
// wiring

function every(ms, fn) {
  void fn();
  setInterval(() => {
    if (document.visibilityState !== 'hidden') void fn();
  }, ms);
}

function start() {
  const form = $('filters');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilters();
  });
  form.elements.verdict.addEventListener('change', applyFilters);
  let typing;
  for (const name of ['number', 'did', 'since']) {
    form.elements[name].addEventListener('change', applyFilters);
    form.elements[name].addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(applyFilters, 600);
    });
  }
  $('calls').addEventListener('click', (e) => {
    const id = rowFromEvent(e);
    if (id) showDetail(id);
  });
  $('calls').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    const id = rowFromEvent(e);
    if (id) {
      e.preventDefault();
      showDetail(id);
    }
  });
  $('detail-close').addEventListener('click', hideDetail);
  $('btn-spam').addEventListener('click', () => void act('spam'));
  $('btn-not-spam').addEventListener('click', () => void act('ok'));
  $('btn-always-allow').addEventListener('click', () => void act('allow'));
  $('rule-files').addEventListener('click', (e) => {
    const button = e.target.closest('button[data-name]');
    if (button) void showSource(button.getAttribute('data-name'));
  });
  state.filters = readFilters();
  every(CALLS_EVERY_MS, refreshCalls);
  every(RULES_EVERY_MS, refreshRules);
  every(SUMMARY_EVERY_MS, refreshSummary);
  every(FEEDS_EVERY_MS, refreshFeeds);
}

start();
