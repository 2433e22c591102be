/* The review console's What if and Accuracy pages: one plain script for both (the page says which in
 * <body data-page>), no framework, no build step, no library: the charts are inline SVG drawn here.
 * As in console.js, every value from the API goes into the page as text (textContent, createElement),
 * never as HTML, and every POST carries X-Callscreen-Request: 1 (the server's CSRF check). */
/* global document, URLSearchParams */
'use strict';

import { $, api, el, svg, VERDICTS } from './console-dom.js';

const pct = (rate) => (typeof rate === 'number' ? `${(100 * rate).toFixed(1)} %` : '–');

function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`;
}

const badge = (verdict) => el('span', { class: `badge v-${verdict}` }, verdict);

// ---------------------------------------------------------------------------------------------------
// What if

async function startWhatIf() {
  const form = $('replay-form');
  try {
    const { candidates, running } = await api('/api/v1/replay/candidates');
    const options = (inForce) =>
      candidates.map((name) => el('option', { value: name }, name === 'running' ? `in force (${inForce})` : name));
    form.elements.config.replaceChildren(...options(running.config));
    form.elements.rules.replaceChildren(...options(running.rules));
  } catch (e) {
    $('replay-error').textContent = `the candidate files are not listed: ${e.message}`;
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void runReplay(form);
  });
}

async function runReplay(form) {
  const button = form.querySelector('button[type="submit"]');
  const body = { config: form.elements.config.value, rules: form.elements.rules.value };
  for (const name of ['since', 'did']) if (form.elements[name].value.trim()) body[name] = form.elements[name].value;
  button.disabled = true;
  $('replay-status').textContent = 'replaying…';
  $('replay-error').textContent = '';
  try {
    const result = await api('/api/v1/replay', { method: 'POST', body: JSON.stringify(body) });
    renderReplay(result);
    $('replay-status').textContent = `done: ${result.config} with rules ${result.rules}`;
  } catch (e) {
    $('replay-status').textContent = '';
    $('replay-error').textContent = e.status === 409 ? `busy: ${e.message}` : e.message;
  } finally {
    button.disabled = false;
  }
}

function matrixTable(table, matrix) {
  const head = el('tr', {}, el('th', {}, 'before \\ after'), ...VERDICTS.map((v) => el('th', { class: 'num' }, v)));
  const rows = VERDICTS.map((from) =>
    el(
      'tr',
      {},
      el('th', {}, badge(from)),
      ...VERDICTS.map((to) => {
        const n = matrix[from][to];
        const kind = from === to ? 'same' : n > 0 ? 'changed' : 'none';
        return el(
          'td',
          { class: `num cell-${kind}`, 'data-testid': 'matrix-cell', 'data-from': from, 'data-to': to },
          String(n),
        );
      }),
    ),
  );
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

function renderReplay(r) {
  $('replay-result').hidden = false;
  $('replay-counts').textContent =
    `${r.calls} calls logged from ${formatTime(r.range.since)} to ${formatTime(r.range.until)}: ` +
    `${r.replayed} replayed from their inputs, ${r.changed} changed` +
    (r.partial > 0 ? `; ${r.partial} older records without inputs (counted apart)` : '') +
    (r.skipped > 0 ? `; ${r.skipped} not replayable` : '') +
    (r.withoutHistory > 0 ? `; ${r.withoutHistory} scored without history` : '') +
    (r.unreadable > 0 ? `; ${r.unreadable} log entries were not call records` : '');
  matrixTable($('replay-matrix'), r.matrix);
  const partial = $('replay-partial');
  partial.replaceChildren();
  if (r.partial > 0) {
    const t = el('table', { class: 'matrix' });
    matrixTable(t, r.partialMatrix);
    partial.append(el('h3', {}, 'Older records (no history)'), t);
  }

  const e = r.effect;
  const facts = [
    ['kept from the agents that reached them', e.agentCallsAvoided],
    ['let through to the agents that did not reach them', e.agentCallsAdded],
    ['likely customers newly challenged', e.customersNewlyChallenged],
    ['likely customers newly sent to voicemail', e.customersNewlyVoicemail],
    ['likely customers newly rejected', e.customersNewlyRejected],
  ];
  $('replay-effect').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  $('replay-warning').textContent =
    e.customersNewlyVoicemail > 0 || e.customersNewlyRejected > 0
      ? `Likely customers newly sent to voicemail: ${e.customersNewlyVoicemail}, newly rejected: ${e.customersNewlyRejected} ` +
        '(callers the old decision knew as people: a known customer, the agents’ "ok", a passed CAPTCHA, an allow rule)'
      : '';

  const top = (list, key) =>
    list.length === 0
      ? [el('li', { class: 'note' }, 'none')]
      : list.map((t) => el('li', {}, t[key], ' ', el('span', { class: 'count' }, `${t.changed} changed`)));
  $('replay-top-numbers').replaceChildren(...top(r.topNumbers, 'number'));
  $('replay-top-dids').replaceChildren(...top(r.topDids, 'did'));

  const reasons = (list) => el('ul', { class: 'reason-list' }, ...list.map((x) => el('li', {}, x)));
  const rows = r.changedCalls.map((c) =>
    el(
      'tr',
      {
        'data-testid': 'changed-call',
        'data-caller': c.caller,
        'data-before': c.before,
        'data-after': c.after,
        class: c.likelyCustomer ? 'customer' : undefined,
      },
      el('td', { class: 'time' }, formatTime(c.at)),
      el(
        'td',
        { class: 'number' },
        c.caller,
        c.likelyCustomer ? el('span', { class: 'note' }, ' likely customer') : '',
      ),
      el('td', { class: 'number' }, c.did),
      el('td', {}, badge(c.before)),
      el('td', {}, badge(c.after)),
      el('td', {}, reasons(c.oldReasons)),
      el('td', {}, reasons(c.newReasons)),
    ),
  );
  $('replay-changed').replaceChildren(
    ...(rows.length > 0 ? rows : [el('tr', { class: 'empty' }, el('td', { colspan: 7 }, 'no call changes'))]),
  );
}

// ---------------------------------------------------------------------------------------------------
// Accuracy

function startAccuracy() {
  const form = $('accuracy-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void loadAccuracy(form.elements.since.value.trim());
  });
  void loadAccuracy(form.elements.since.value.trim());
}

async function loadAccuracy(since) {
  const q = new URLSearchParams({ by: 'week' });
  if (since) q.set('since', since);
  $('accuracy-status').textContent = 'reading the log…';
  $('accuracy-error').textContent = '';
  try {
    renderAccuracy(await api(`/api/v1/accuracy?${q}`));
    $('accuracy-status').textContent = '';
  } catch (e) {
    $('accuracy-report').hidden = true;
    $('accuracy-status').textContent = '';
    $('accuracy-error').textContent =
      e.status === 404
        ? 'The accuracy report is not available: this daemon has no accuracy route (an older version).'
        : `the accuracy report was not read: ${e.message}`;
    document.body.setAttribute('data-accuracy', e.status === 404 ? 'not-available' : 'failed');
    return;
  }
  const shadowQuery = new URLSearchParams();
  if (since) shadowQuery.set('since', since);
  try {
    renderShadow(await api(`/api/v1/shadow?${shadowQuery}`));
  } catch (e) {
    $('shadow-report').hidden = false;
    $('shadow-note').textContent = `the shadow report was not read: ${e.message}`;
    $('shadow-dids').replaceChildren();
  }
}

function renderAccuracy(r) {
  document.body.setAttribute('data-accuracy', 'shown');
  $('accuracy-report').hidden = false;
  const o = r.overall;
  $('accuracy-range').textContent =
    `calls from ${formatTime(r.from)} to ${formatTime(r.until)}; truth from ${r.feedback.entries} agent reports on ` +
    `${r.feedback.numbers} numbers and the CAPTCHA outcomes` +
    (r.skipped > 0 ? `; ${r.skipped} log entries were not call records` : '');
  $('accuracy-catch-rate').textContent = pct(o.spam.catchRate);
  $('accuracy-error-rate').textContent = pct(o.good.errorRate);
  $('accuracy-calls').textContent = String(o.calls);
  $('accuracy-known').textContent = `${o.spam.known} known spam, ${o.good.known} known good, ${o.unknown} unknown`;
  const thin = [];
  if (o.thin) thin.push(`Thin truth: ${o.thinReason || 'too few calls with a known truth'}; the rates mean little.`);
  const thinWeeks = r.groups.filter((g) => g.thin).map((g) => g.group);
  if (thinWeeks.length > 0 && !o.thin) thin.push(`Thin truth in the weeks of ${thinWeeks.join(', ')}.`);
  $('accuracy-thin').textContent = thin.join(' ');

  const weeks = [...r.groups].sort((a, b) => (a.group < b.group ? -1 : 1));
  rateChart($('chart-catch-rate'), weeks, (g) => g.spam.catchRate, '#1e8a4c');
  rateChart($('chart-error-rate'), weeks, (g) => g.good.errorRate, '#c73636');
  $('accuracy-weeks').replaceChildren(
    ...(weeks.length > 0
      ? weeks.map((g) =>
          el(
            'tr',
            { 'data-testid': 'accuracy-week', 'data-week': g.group },
            el('td', {}, g.group),
            el('td', { class: 'num' }, String(g.calls)),
            el('td', { class: 'num' }, String(g.spam.known)),
            el('td', { class: 'num' }, pct(g.spam.catchRate)),
            el('td', { class: 'num' }, String(g.good.known)),
            el('td', { class: 'num' }, pct(g.good.errorRate)),
            el('td', { class: g.thin ? 'file-error' : 'note' }, g.thin ? `thin: ${g.thinReason || ''}` : 'enough'),
          ),
        )
      : [el('tr', { class: 'empty' }, el('td', { colspan: 7 }, 'no calls in the range'))]),
  );
  $('accuracy-signals').replaceChildren(
    ...(r.signals.length > 0
      ? r.signals.map((s) =>
          el(
            'tr',
            { 'data-testid': 'accuracy-signal', 'data-signal': s.signal },
            el('td', {}, s.signal, s.thin ? el('span', { class: 'note' }, ' (thin)') : ''),
            el('td', { class: 'num' }, String(s.calls)),
            el('td', { class: 'num' }, String(s.onSpam)),
            el('td', { class: 'num' }, String(s.onGood)),
            el('td', { class: 'num' }, String(s.onUnknown)),
            el('td', { class: 'num' }, pct(s.precision)),
          ),
        )
      : [el('tr', { class: 'empty' }, el('td', { colspan: 6 }, 'no signal fired'))]),
  );
}

/** A rate (0..1, null: nothing known) per week as a line with a dot per week; a null week leaves a gap. */
function rateChart(node, weeks, rateOf, colour) {
  const W = 520;
  const H = 180;
  const left = 40;
  const bottom = 24;
  const plotW = W - left - 30; // room for the last week's label
  const plotH = H - bottom - 10;
  node.setAttribute('viewBox', `0 0 ${W} ${H}`);
  node.setAttribute('width', String(W));
  node.setAttribute('height', String(H));
  const parts = [];
  for (const tick of [0, 0.5, 1]) {
    const y = 10 + plotH * (1 - tick);
    parts.push(svg('line', { x1: left, x2: left + plotW, y1: y, y2: y, class: 'axis' }));
    parts.push(svg('text', { x: left - 4, y: y + 4, 'text-anchor': 'end', class: 'tick y' }, `${tick * 100} %`));
  }
  const step = weeks.length > 1 ? plotW / (weeks.length - 1) : 0;
  let path = '';
  weeks.forEach((g, i) => {
    const x = left + (weeks.length > 1 ? i * step : plotW / 2);
    const rate = rateOf(g);
    if (weeks.length <= 12 || i % Math.ceil(weeks.length / 12) === 0)
      parts.push(svg('text', { x, y: H - 6, 'text-anchor': 'middle', class: 'tick' }, g.group.slice(5)));
    if (typeof rate !== 'number') {
      path += ' '; // a gap: the next point starts a new line
      return;
    }
    const y = 10 + plotH * (1 - rate);
    path += `${path === '' || path.endsWith(' ') ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    const dot = svg('circle', {
      cx: x.toFixed(1),
      cy: y.toFixed(1),
      r: 4,
      fill: colour,
      'data-week': g.group,
      'data-rate': rate,
      class: g.thin ? 'thin' : '',
    });
    dot.append(svg('title', {}, `week of ${g.group}: ${pct(rate)}${g.thin ? ' (thin truth)' : ''}`));
    parts.push(dot);
  });
  if (path.trim() !== '')
    parts.unshift(svg('path', { d: path.trim(), fill: 'none', stroke: colour, 'stroke-width': 2 }));
  if (weeks.length === 0)
    parts.push(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'tick' }, 'no calls'));
  node.replaceChildren(...parts);
}

function renderShadow(r) {
  $('shadow-report').hidden = false;
  $('shadow-note').textContent =
    r.dids.length === 0
      ? `no call was screened in shadow mode from ${formatTime(r.from)} to ${formatTime(r.until)} (${r.callsRead} calls read)`
      : `calls screened in shadow mode from ${formatTime(r.from)} to ${formatTime(r.until)}: what they would have had`;
  $('shadow-dids').replaceChildren(
    ...r.dids.map((d) =>
      el(
        'tr',
        { 'data-testid': 'shadow-did', 'data-did': d.did },
        el('td', { class: 'number' }, d.did),
        el('td', { class: 'num' }, String(d.calls)),
        el('td', {}, ...VERDICTS.filter((v) => d.wouldHave[v] > 0).flatMap((v) => [badge(v), ` ${d.wouldHave[v]} `])),
        el('td', { class: 'num' }, pct(d.wouldCatchRate)),
        el('td', { class: 'num' }, pct(d.wouldErrorRate)),
        el('td', {}, d.topReasons.map((t) => `${t.signal} (${t.calls})`).join(', ')),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------

const page = document.body.getAttribute('data-page');
if (page === 'what-if') void startWhatIf();
else if (page === 'accuracy') startAccuracy();
