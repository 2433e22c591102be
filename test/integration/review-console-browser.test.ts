/**
 * The review console (GET /) in a real browser: Debian's Chromium driven by playwright-core, against the
 * real daemon (HTTP on, Basic auth) screening real calls on the test bed. An agent sees the calls as
 * they come, a hostile caller name stays text, the detail of a spam call shows its reasons with points,
 * and "not spam" clicked there lets the number's next call through to the agents.
 *
 * Places calls on the shared test bed: run under `flock /tmp/callscreen-testbed.lock`.
 * Screenshots go to test-output/ (git-ignored); CALLSCREEN_UPDATE_SCREENSHOT=1 also writes
 * docs/review-console.png, the README's picture.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Redis from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { RedisReputationStore } from '../../src/adapters/redis/redis-reputation-store';
import { CallHarness, type PlacedCall } from '../../tools/testbed/call-harness';
import { launchChromium, testOutputPath } from '../support/browser';
import { startDaemon, testConfigHeader, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { repoRoot, testbed } from '../support/testbed';

jest.setTimeout(120_000);

const PORT = 18490;
const USER = 'reviewer';
const PASSWORD = 'console-browser-pass-5c1e9b';
const BASE = `http://127.0.0.1:${PORT}`;
const DID = '+12125550100';
/** on the seeded reputation list: voicemail until an agent says "not spam" */
const LISTED = '+18336317944';
const CLEAN = '+13125550172';
const XSS_CALLER = '+13125550173';
const XSS_NAME = '<script>alert(1)</script>';
const RULES = 'allow: []\ndeny:\n  - number: "+1 900*"\n    label: Premium-rate lines\n';

const prefix = `rcb-${randomUUID().slice(0, 8)}:`;
let redis: Redis;
let harness: CallHarness;
let daemon: DaemonProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];
const pageErrors: string[] = [];

const row = (attrs: Record<string, string>) =>
  `tr[data-testid="call-row"]${Object.entries(attrs)
    .map(([k, v]) => `[data-${k}="${v}"]`)
    .join('')}`;
const byCaller = (raw: string) => (l: LogLine) => (l.caller as { raw?: string } | undefined)?.raw === raw;

/** the rows the console shows now: caller and verdict */
function rowsShown(): Promise<Array<{ caller: string | null; verdict: string | null }>> {
  return page
    .locator('tr[data-testid="call-row"]')
    .evaluateAll((els) =>
      els.map((e) => ({ caller: e.getAttribute('data-caller'), verdict: e.getAttribute('data-verdict') })),
    );
}

/** read() again every 100 ms until ok() holds; the last value is in the error when it never does */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`not reached within ${timeoutMs} ms; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function call(caller: string, callerName = ''): Promise<{ placed: PlacedCall; destination: string }> {
  const placed = await harness.placeCall({ caller, did: DID, callerName });
  return { placed, destination: await harness.waitForDestination(placed, 15_000) };
}

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  await new RedisReputationStore(redis, prefix).put('test', [{ e164: LISTED, score: 0.95, reports: 9 }]);
  harness = await CallHarness.open();
  const config = `${testConfigHeader(prefix)}log:\n  level: debug\nfeedback:\n  promoteAfter: 1\nhttp:\n  enabled: true\n  port: ${PORT}\n  auth:\n    basic:\n      user: ${USER}\n      passwordEnv: CS_CONSOLE_PASSWORD\n`;
  daemon = await startDaemon({ config, rules: RULES, env: { CS_CONSOLE_PASSWORD: PASSWORD } });
  browser = await launchChromium();
  context = await browser.newContext({
    httpCredentials: { username: USER, password: PASSWORD },
    viewport: { width: 1400, height: 900 },
  });
  page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await daemon?.stop();
  await harness?.close();
  if (redis) {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
});

test('an agent reviews screened calls in the console and lets a wrongly listed number through', async () => {
  // three calls, each ending where Asterisk says
  const listed = await call(LISTED);
  expect(listed.destination).toBe('voicemail');
  expect((await call(CLEAN)).destination).toBe('agents');
  const hostile = await call(XSS_CALLER, XSS_NAME);
  expect(hostile.destination).toBe('agents');
  await daemon.screenedLine(byCaller(XSS_CALLER));

  const response = await page.goto(`${BASE}/`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toMatch(/default-src 'self'/);

  // the rows, each with its caller and verdict
  await page.locator(row({ caller: LISTED, verdict: 'voicemail' })).waitFor({ timeout: 10_000 });
  await page.locator(row({ caller: CLEAN, verdict: 'allow' })).waitFor();
  const hostileRow = page.locator(row({ 'call-id': hostile.placed.screenedUniqueId }));
  await hostileRow.waitFor();
  expect(await hostileRow.getAttribute('data-caller')).toBe(XSS_CALLER);

  // the hostile caller name is shown as text: no dialog, no script element carrying it
  expect(await hostileRow.textContent()).toContain(XSS_NAME);
  const scripts = await page.locator('script').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
  expect(scripts.filter((s) => s.includes('alert(1)'))).toEqual([]);
  expect(await page.locator('[data-testid="calls"] script').count()).toBe(0);
  expect(dialogs).toEqual([]);
  await page.screenshot({ path: testOutputPath('review-console-calls.png'), fullPage: true });

  // the listed call's detail: every reason the API gives, with its points (where it has any)
  // (asked from the page, with the browser's Basic credentials: Playwright's own request context does not
  // answer a 401 whose first challenge is Bearer)
  const apiCall = (await page.evaluate(
    async (url) => (await fetch(url)).json(),
    `/api/v1/calls?number=${encodeURIComponent(LISTED)}`,
  )) as {
    calls: Array<{ callId: string; reasons: Array<{ code: string; text: string; points: number | null }> }>;
  };
  const logged = apiCall.calls.find((c) => c.callId === listed.placed.screenedUniqueId);
  expect(logged?.reasons.find((r) => r.code === 'reputation.listed')?.points).toBeGreaterThan(0);
  await page.locator(row({ 'call-id': listed.placed.screenedUniqueId })).click();
  const detail = page.getByTestId('call-detail');
  await detail.waitFor({ state: 'visible' });
  const reasons = detail.getByTestId('reason');
  await reasons.first().waitFor();
  const reasonTexts = await reasons.allTextContents();
  expect(reasonTexts).toHaveLength(logged!.reasons.length);
  for (const reason of logged!.reasons) {
    expect([
      reason.code,
      reasonTexts.some(
        (t) => t.includes(reason.text) && (reason.points === null || t.includes(String(Math.abs(reason.points)))),
      ),
    ]).toEqual([reason.code, true]);
  }
  await detail.screenshot({ path: testOutputPath('review-console-detail.png') });

  // "not spam": the status says so, and the number is promoted (promoteAfter 1)
  const count = daemon.lines.length;
  await detail.getByTestId('btn-not-spam').click();
  await page.getByTestId('feedback-status').filter({ hasText: /\S/ }).waitFor();
  expect(await page.getByTestId('feedback-status').textContent()).not.toMatch(/error|fail|denied|forbidden/i);
  await daemon.waitForLog(
    (l) => daemon.lines.indexOf(l) >= count && l.msg === 'managed allow list reloaded' && l.allow === 1,
  );

  // its next call reaches the agents, and the console shows it as allowed without a reload
  const again = await call(LISTED);
  expect(again.destination).toBe('agents');
  await page
    .locator(row({ 'call-id': again.placed.screenedUniqueId, caller: LISTED, verdict: 'allow' }))
    .waitFor({ timeout: 10_000 });

  // the summary: the chart, the listed number among the top spam, a captcha pass rate text
  const summary = page.getByTestId('summary');
  await summary.waitFor();
  const chart = summary.locator('svg[data-testid="chart-by-hour"]');
  await chart.waitFor();
  expect(await chart.locator('rect').count()).toBeGreaterThan(0);
  await page.getByTestId('top-spam').filter({ hasText: LISTED }).waitFor();
  await page.getByTestId('captcha-pass-rate').waitFor();

  // the rules panel lists the admin rule and the promoted number; no reload error
  const rules = page.getByTestId('rules');
  await rules.filter({ hasText: 'Premium-rate lines' }).waitFor();
  await rules.filter({ hasText: LISTED }).waitFor();
  expect(((await page.getByTestId('rules-error').textContent()) ?? '').trim()).toBe('');

  await page.screenshot({ path: testOutputPath('review-console-after.png'), fullPage: true });
  if (process.env.CALLSCREEN_UPDATE_SCREENSHOT === '1') {
    // the README's picture: once the summary (refreshed every 5 s) counts all four calls
    await page.locator('#summary-note', { hasText: '4 calls' }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(repoRoot, 'docs', 'review-console.png'), fullPage: true });
  }
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
});

test('the filters narrow the list: by verdict, and by number', async () => {
  await page.getByTestId('filter-verdict').selectOption('voicemail');
  const voicemailOnly = await until(
    rowsShown,
    (rows) => rows.length > 0 && rows.every((r) => r.verdict === 'voicemail'),
  );
  expect(voicemailOnly.map((r) => r.caller)).toContain(LISTED);
  await page.getByTestId('filter-verdict').selectOption('');
  await page.getByTestId('filter-number').fill(CLEAN);
  await page.getByTestId('filter-number').press('Enter');
  expect(await until(rowsShown, (rows) => rows.length === 1 && rows[0]?.caller === CLEAN)).toEqual([
    { caller: CLEAN, verdict: 'allow' },
  ]);
});

test('without credentials the page and the API answer 401', async () => {
  const bare = await browser.newContext();
  try {
    for (const route of ['/', '/api/v1/calls', '/api/v1/summary']) {
      const res = await bare.request.get(`${BASE}${route}`);
      expect([route, res.status(), res.headers()['www-authenticate']]).toEqual([
        route,
        401,
        expect.stringContaining('Basic realm="callscreen"'),
      ]);
    }
  } finally {
    await bare.close();
  }
});
