/**
 * The console's What if and Accuracy pages in a real browser (Debian's Chromium driven by
 * playwright-core, as review-console-browser.test.ts), against the real daemon with HTTP on and Basic
 * auth. The daemon's screened-call log holds records decided by the real CallEvaluator (appended through
 * RedisCallLog under its key prefix): an agent picks a candidate rules file written into the
 * configuration folder, runs the replay, and sees the transition matrix, the red warning about a likely
 * customer now sent to voicemail, and the changed calls with their old and new reasons. The Accuracy
 * page shows the figures of the daemon's accuracy and shadow routes; with a report of several weeks served
 * to it in the routes' shape, its charts, thin weeks, signals and shadow DIDs; and without the route
 * (an older daemon), a clear "not available".
 *
 * Places no calls: the daemon registers a Stasis app of its own (ari.app), so it never takes a call
 * meant for another test on the shared test bed.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import { loadConfigText } from '../../src/config/load-config';
import { launchChromium, testOutputPath } from '../support/browser';
import { startDaemon, testConfigHeader, type DaemonProcess } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { decidedRecord } from '../support/replayable-calls';
import { testbed } from '../support/testbed';

jest.setTimeout(120_000);

const PORT = 18492;
const USER = 'reviewer';
const PASSWORD = 'console-whatif-pass-8a3f1d';
const BASE = `http://127.0.0.1:${PORT}`;
const DID = '+12125550100';
const CUSTOMER = '+12125550147';
const STRANGER = '+14155550101';
const OTHER = '+14155550102';
const RULES = 'allow:\n  - number: "+1 212 555 0147"\n    label: ACME Corp\ndeny: []\n';
/** the candidate: the customer and a stranger denied (voicemail) */
const CANDIDATE_RULES = 'allow: []\ndeny:\n  - number: "+1 212 555 0147"\n  - number: "+1 415 555 0101"\n';

const prefix = `rcw-${randomUUID().slice(0, 8)}:`;
const app = `callscreen-console-${randomUUID().slice(0, 8)}`;
const config = `${testConfigHeader(prefix)}ari:\n  app: ${app}\nhttp:\n  enabled: true\n  port: ${PORT}\n  auth:\n    basic:\n      user: ${USER}\n      passwordEnv: CS_CONSOLE_PASSWORD\n`;
let redis: Redis;
let daemon: DaemonProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  daemon = await startDaemon({ config, rules: RULES, env: { CS_CONSOLE_PASSWORD: PASSWORD } });
  writeFileSync(path.join(daemon.configDir, 'candidate-rules.yaml'), CANDIDATE_RULES);
  const loaded = loadConfigText(config, 'callscreen.yaml', {});
  const log = new RedisCallLog(redis, prefix, loaded.config.callLog.stream, loaded.config.callLog.maxLength);
  for (const caller of [CUSTOMER, STRANGER, OTHER])
    await log.append(await decidedRecord(loaded, RULES, { callerNumber: caller, did: DID }));
  browser = await launchChromium();
  context = await browser.newContext({
    httpCredentials: { username: USER, password: PASSWORD },
    viewport: { width: 1400, height: 900 },
  });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await daemon?.stop();
  if (redis) {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
});

const cell = (from: string, to: string) =>
  page.locator(`[data-testid="matrix-cell"][data-from="${from}"][data-to="${to}"]`);

test('What if: a candidate rules file from the configuration folder, replayed over the logged calls', async () => {
  // reached from the console's calls page
  const response = await page.goto(`${BASE}/`);
  expect(response?.status()).toBe(200);
  await page.getByTestId('nav-what-if').click();
  await page.waitForURL(`${BASE}/what-if`);
  expect(await page.title()).toMatch(/what if/);

  // the candidates: the file written beside callscreen.yaml, not the files in force
  const rules = page.getByTestId('replay-rules');
  await rules.locator('option[value="candidate-rules.yaml"]').waitFor({ state: 'attached' });
  expect(await rules.locator('option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual([
    'running',
    'candidate-rules.yaml',
  ]);

  // under the rules in force nothing changes
  await page.getByTestId('replay-run').click();
  await page.getByTestId('replay-result').waitFor();
  await page.getByTestId('replay-status').filter({ hasText: 'done' }).waitFor();
  expect(await cell('allow', 'allow').textContent()).toBe('3');
  expect(await page.getByTestId('changed-call').count()).toBe(0);
  expect(((await page.getByTestId('replay-warning').textContent()) ?? '').trim()).toBe('');

  // the candidate: two calls allowed then go to voicemail, one of them a likely customer
  await rules.selectOption('candidate-rules.yaml');
  await page.getByTestId('replay-since').fill('1h');
  await page.getByTestId('replay-run').click();
  await page.getByTestId('replay-status').filter({ hasText: 'candidate-rules.yaml' }).waitFor();
  expect(await cell('allow', 'allow').textContent()).toBe('1');
  expect(await cell('allow', 'voicemail').textContent()).toBe('2');
  expect(await cell('allow', 'voicemail').getAttribute('class')).toMatch(/cell-changed/);
  const warning = page.getByTestId('replay-warning');
  expect(await warning.textContent()).toMatch(/newly sent to voicemail: 1/);
  expect(
    await page.evaluate(
      // the page's own check, as a string: the test is compiled without the DOM's types
      'getComputedStyle(document.querySelector(\'[data-testid="replay-warning"]\')).color',
    ),
  ).toBe('rgb(199, 54, 54)');

  const customer = page.locator(`[data-testid="changed-call"][data-caller="${CUSTOMER}"]`);
  expect(await customer.getAttribute('data-before')).toBe('allow');
  expect(await customer.getAttribute('data-after')).toBe('voicemail');
  const customerText = (await customer.textContent()) ?? '';
  expect(customerText).toContain('likely customer');
  expect(customerText).toMatch(/rule\.allow.*ACME Corp/);
  expect(customerText).toContain('rule.deny');
  await page.locator(`[data-testid="changed-call"][data-caller="${STRANGER}"]`).waitFor();
  expect(await page.getByTestId('changed-call').count()).toBe(2);
  expect(await page.getByTestId('replay-top-numbers').textContent()).toContain(CUSTOMER);
  expect(await page.getByTestId('replay-top-dids').textContent()).toContain(`${DID} 2 changed`);
  await page.screenshot({ path: testOutputPath('review-console-what-if.png'), fullPage: true });

  // a refused request is shown as the server's message
  await page.getByTestId('replay-since').fill('90d');
  await page.getByTestId('replay-run').click();
  await page.getByTestId('replay-error').filter({ hasText: 'at most 31 days' }).waitFor();
  expect(pageErrors).toEqual([]);
});

test('the replay route keeps the console’s CSRF rule and refuses paths', async () => {
  const answers = await page.evaluate(async () => {
    const post = async (headers: Record<string, string>, body: unknown) => {
      const res = await fetch('/api/v1/replay', { method: 'POST', headers, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as { error: string; message: string } };
    };
    return {
      noHeader: await post({ 'content-type': 'application/json' }, {}),
      path: await post(
        { 'content-type': 'application/json', 'x-callscreen-request': '1' },
        { config: '../callscreen.yaml' },
      ),
    };
  });
  expect(answers.noHeader).toMatchObject({ status: 403, body: { error: 'csrf' } });
  expect(answers.path.status).toBe(400);
  expect(answers.path.body.message).toMatch(/not a file name/);
});

test('Accuracy: the page shows the figures the daemon’s accuracy and shadow routes answer', async () => {
  await page.goto(`${BASE}/`);
  await page.getByTestId('nav-accuracy').click();
  await page.waitForURL(`${BASE}/accuracy`);
  await page.locator('body[data-accuracy="shown"]').waitFor({ state: 'attached' });
  const route = await page.evaluate(async () => {
    const res = await fetch('/api/v1/accuracy?by=week&since=30d');
    return { status: res.status, body: (await res.json()) as unknown };
  });
  expect(route.status).toBe(200);
  const report = route.body as {
    overall: { calls: number; spam: { catchRate: number | null }; good: { errorRate: number | null } };
    groups: { group: string }[];
  };
  const pct = (r: number | null) => (r === null ? '–' : `${(100 * r).toFixed(1)} %`);
  expect(report.overall.calls).toBe(3);
  expect(await page.getByTestId('accuracy-calls').textContent()).toBe('3');
  expect(await page.getByTestId('accuracy-catch-rate').textContent()).toBe(pct(report.overall.spam.catchRate));
  expect(await page.getByTestId('accuracy-error-rate').textContent()).toBe(pct(report.overall.good.errorRate));
  expect(await page.getByTestId('accuracy-week').count()).toBe(report.groups.length);
  await page.getByTestId('chart-catch-rate').waitFor();
  // three calls, none with a known truth (no agent report, no CAPTCHA): the thin-truth warning
  expect(await page.getByTestId('accuracy-thin').textContent()).toMatch(/thin truth: no call of 3 has a known truth/i);
  // no policy in shadow mode: the shadow report says so
  await page.getByTestId('shadow-report').waitFor();
  expect(await page.locator('#shadow-note').textContent()).toMatch(
    /no call was screened in shadow mode .*3 calls read/,
  );
  await page.screenshot({ path: testOutputPath('review-console-accuracy.png'), fullPage: true });
  expect(pageErrors).toEqual([]);
});

/** a week's figures in the accuracy report's JSON shape (`callscreen report accuracy --json`) */
function figures(group: string, spamKnown: number, kept: number, goodKnown: number, bothered: number) {
  const thin = spamKnown + goodKnown < 30;
  return {
    group,
    calls: 200,
    unknown: 200 - spamKnown - goodKnown,
    truthFrom: { 'agent-after': spamKnown, 'agent-before': 0, 'captcha-passed': goodKnown, 'captcha-failed': 0 },
    spam: {
      known: spamKnown,
      keptFromAgents: kept,
      shadowLetThrough: 0,
      catchRate: spamKnown === 0 ? null : kept / spamKnown,
    },
    good: {
      known: goodKnown,
      challenged: bothered,
      voicemail: 0,
      rejected: 0,
      errorRate: goodKnown === 0 ? null : bothered / goodKnown,
    },
    thin,
    ...(thin && { thinReason: `only ${spamKnown + goodKnown} of 200 calls have a known truth (fewer than 30)` }),
  };
}

test('Accuracy: the report by week as charts and tables, the signals, the thin weeks, the shadow DIDs', async () => {
  // the report's JSON as the accuracy routes answer it, served to the page: the figures of several weeks
  // whatever this daemon has logged
  const weeks = [
    figures('2026-11-16', 40, 30, 60, 3),
    figures('2026-11-23', 10, 9, 5, 0),
    figures('2026-11-30', 50, 45, 70, 7),
  ];
  const { group: _overall, ...sum } = figures('', 100, 84, 135, 10);
  const overall = { ...sum, calls: 600, unknown: 365 };
  const accuracy = {
    from: '2026-11-16T00:00:00.000Z',
    until: '2026-12-06T23:59:59.000Z',
    by: 'week',
    overall,
    groups: weeks,
    signals: [
      {
        signal: 'reputation.listed',
        code: 'reputation.listed',
        direction: 'spam',
        calls: 90,
        onSpam: 70,
        onGood: 2,
        onUnknown: 18,
        precision: 70 / 72,
        thin: false,
      },
      {
        signal: 'known-customer (towards good)',
        code: 'known-customer',
        direction: 'good',
        calls: 12,
        onSpam: 0,
        onGood: 4,
        onUnknown: 8,
        precision: 1,
        thin: true,
      },
    ],
    feedback: { entries: 120, numbers: 95 },
    skipped: 0,
  };
  const shadow = {
    from: '2026-11-30T00:00:00.000Z',
    until: '2026-12-06T23:59:59.000Z',
    dids: [
      {
        did: '+12125550200',
        calls: 25,
        wouldHave: { allow: 18, challenge: 4, voicemail: 3, reject: 0 },
        topReasons: [{ signal: 'velocity.number', calls: 5 }],
        truth: {
          spam: { allow: 1, challenge: 1, voicemail: 3, reject: 0 },
          good: { allow: 9, challenge: 1, voicemail: 0, reject: 0 },
          unknown: { allow: 8, challenge: 2, voicemail: 0, reject: 0 },
        },
        wouldCatchRate: 0.8,
        wouldErrorRate: 0.1,
      },
    ],
    callsRead: 400,
    skipped: 0,
  };
  const fresh = await context.newPage();
  fresh.on('pageerror', (e) => pageErrors.push(e.message));
  const asked: string[] = [];
  await fresh.route(/\/api\/v1\/(accuracy|shadow)\b/, (route) => {
    const url = new URL(route.request().url());
    asked.push(`${url.pathname}?${url.searchParams.toString()}`);
    return route.fulfill({ json: url.pathname.endsWith('accuracy') ? accuracy : shadow });
  });
  try {
    await fresh.goto(`${BASE}/accuracy`);
    await fresh.locator('body[data-accuracy="shown"]').waitFor({ state: 'attached' });
    expect(asked).toContain('/api/v1/accuracy?by=week&since=30d');
    expect(await fresh.getByTestId('accuracy-catch-rate').textContent()).toBe('84.0 %');
    expect(await fresh.getByTestId('accuracy-error-rate').textContent()).toBe('7.4 %');
    // one dot per week on each chart, at its rate
    const dots = await fresh
      .locator('svg[data-testid="chart-catch-rate"] circle')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-week'), e.getAttribute('data-rate')]));
    expect(dots).toEqual([
      ['2026-11-16', '0.75'],
      ['2026-11-23', '0.9'],
      ['2026-11-30', '0.9'],
    ]);
    expect(await fresh.locator('svg[data-testid="chart-error-rate"] circle').count()).toBe(3);
    expect(await fresh.locator('svg[data-testid="chart-error-rate"] path').count()).toBe(1);
    // the thin week is said, the per-signal table holds both signals
    expect(await fresh.getByTestId('accuracy-thin').textContent()).toMatch(/Thin truth in the weeks of 2026-11-23/);
    expect(await fresh.locator('[data-testid="accuracy-week"][data-week="2026-11-23"]').textContent()).toMatch(/thin/);
    expect(
      await fresh.locator('[data-testid="accuracy-signal"][data-signal="reputation.listed"]').textContent(),
    ).toContain('97.2 %');
    expect(await fresh.getByTestId('accuracy-signal').count()).toBe(2);
    // the shadow report per DID
    const did = fresh.locator('[data-testid="shadow-did"][data-did="+12125550200"]');
    await did.waitFor();
    expect(await did.textContent()).toMatch(
      /25.*allow 18.*challenge 4.*voicemail 3.*80\.0 %.*10\.0 %.*velocity\.number \(5\)/,
    );
    await fresh.screenshot({ path: testOutputPath('review-console-accuracy-report.png'), fullPage: true });
  } finally {
    await fresh.close();
  }
  expect(pageErrors).toEqual([]);
});

test('Accuracy: a daemon without the accuracy route (an older version) shows "not available"', async () => {
  const older = await context.newPage();
  older.on('pageerror', (e) => pageErrors.push(e.message));
  await older.route(/\/api\/v1\/accuracy\b/, (route) =>
    route.fulfill({ status: 404, json: { error: 'not-found', message: 'no such route' } }),
  );
  try {
    await older.goto(`${BASE}/accuracy`);
    await older.locator('body[data-accuracy="not-available"]').waitFor({ state: 'attached' });
    expect(await older.getByTestId('accuracy-error').textContent()).toMatch(/accuracy report is not available/);
    expect(await older.getByTestId('accuracy-report').isHidden()).toBe(true);
  } finally {
    await older.close();
  }
  expect(pageErrors).toEqual([]);
});
