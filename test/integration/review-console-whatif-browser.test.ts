/**
 * The console's What if and Accuracy pages in a real browser (Debian's Chromium driven by
 * playwright-core, as review-console-browser.test.ts), against the real daemon with HTTP on and Basic
 * auth. The daemon's screened-call log holds records decided by the real CallEvaluator (appended through
 * RedisCallLog under its key prefix): an agent picks a candidate rules file written into the
 * configuration folder, runs the replay, and sees the transition matrix, the red warning about a likely
 * customer now sent to voicemail, and the changed calls with their old and new reasons. The Accuracy
 * page shows the report's figures, or says clearly that the daemon has no accuracy route.
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

test('Accuracy: the report from the accuracy route, or a clear "not available"', async () => {
  await page.goto(`${BASE}/`);
  await page.getByTestId('nav-accuracy').click();
  await page.waitForURL(`${BASE}/accuracy`);
  await page.locator('body[data-accuracy]').waitFor({ state: 'attached' });
  const route = await page.evaluate(async () => {
    const res = await fetch('/api/v1/accuracy?by=week&since=30d');
    return { status: res.status, body: res.ok ? ((await res.json()) as unknown) : null };
  });
  if (route.status === 404) {
    expect(await page.locator('body').getAttribute('data-accuracy')).toBe('not-available');
    expect(await page.getByTestId('accuracy-error').textContent()).toMatch(/accuracy report is not available/);
    expect(await page.getByTestId('accuracy-report').isHidden()).toBe(true);
  } else {
    expect(route.status).toBe(200);
    const report = route.body as {
      overall: { calls: number; spam: { catchRate: number | null }; good: { errorRate: number | null } };
      groups: { group: string }[];
    };
    const pct = (r: number | null) => (r === null ? '–' : `${(100 * r).toFixed(1)} %`);
    expect(await page.locator('body').getAttribute('data-accuracy')).toBe('shown');
    expect(await page.getByTestId('accuracy-calls').textContent()).toBe(String(report.overall.calls));
    expect(await page.getByTestId('accuracy-catch-rate').textContent()).toBe(pct(report.overall.spam.catchRate));
    expect(await page.getByTestId('accuracy-error-rate').textContent()).toBe(pct(report.overall.good.errorRate));
    expect(await page.getByTestId('accuracy-week').count()).toBe(report.groups.length);
    await page.getByTestId('chart-catch-rate').waitFor();
    // three calls, none with a known truth: the thin-truth warning
    expect(await page.getByTestId('accuracy-thin').textContent()).toMatch(/thin truth/i);
    await page.getByTestId('shadow-report').waitFor();
  }
  await page.screenshot({ path: testOutputPath('review-console-accuracy.png'), fullPage: true });
  expect(pageErrors).toEqual([]);
});
