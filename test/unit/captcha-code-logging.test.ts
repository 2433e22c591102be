/**
 * The test-only switch CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1 (the daemon logs each CAPTCHA code and the
 * keys typed, at debug level, so the integration tests and the demo can type it): off, no code and no
 * typed key reaches any log line of a challenged call; on, the daemon warns at start; under
 * NODE_ENV=production it is refused with an error line. The daemon runs on the fakes of
 * test/support/fake-daemon-parts.ts with the real logger at debug level; the CAPTCHA, the screener and
 * the evaluator are real.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/adapters/logging/pino-logger';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config';
import { captchaCodeLogging, CallscreenDaemon } from '../../src/daemon/callscreen-daemon';
import { fakeDaemonParts } from '../support/fake-daemon-parts';
import { captureLogger, fakeChannel } from '../support/fakes';

const SWITCH = 'CALLSCREEN_TEST_LOG_CAPTCHA_CODE';
const WARNING =
  'CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1: every CAPTCHA code and the keys typed are logged (debug); for tests only, never in production';
const REFUSAL =
  'CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1 ignored: NODE_ENV is production, CAPTCHA codes are never logged there';

let folder: string;
let loaded: LoadedConfig;
const savedEnv = { [SWITCH]: process.env[SWITCH], NODE_ENV: process.env.NODE_ENV };

beforeAll(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'callscreen-captcha-log-'));
  writeFileSync(path.join(folder, 'rules.yaml'), 'deny: ["+1 201 555 0123"]\n');
  const file = path.join(folder, 'callscreen.yaml');
  // 8 digits: a code or the keys typed cannot turn up in a line by chance (a time, an id, a duration)
  writeFileSync(
    file,
    'numbers:\n  defaultRegion: US\nscreening:\n  timeZone: UTC\nlog:\n  level: debug\n' +
      'captcha:\n  codeLength: 8\n  attempts: 2\n  digitTimeoutMs: 1000\n',
  );
  loaded = loadConfig(file, {});
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));
afterEach(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

interface ChallengedCall {
  /** every line the daemon wrote, start to close, as written */
  output: string;
  lines: Array<{ level: string; msg: string; [field: string]: unknown }>;
  /** the codes the CAPTCHA said, in order */
  codes: string[];
  /** what the caller typed, per attempt: a wrong code first, then the right one */
  typed: string[];
}

/** The daemon started with `env` (its switch and NODE_ENV), one listed caller challenged, the daemon closed. */
async function challengedCall(env: { switch?: string; nodeEnv?: string }): Promise<ChallengedCall> {
  if (env.switch === undefined) delete process.env[SWITCH];
  else process.env[SWITCH] = env.switch;
  if (env.nodeEnv !== undefined) process.env.NODE_ENV = env.nodeEnv;
  const written: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void written.push(line) });
  const fake = fakeDaemonParts();
  fake.history.returns({
    reputation: { entries: [{ score: 0.5, reports: 3, source: 'feed', lastSeenAt: Date.now() }] },
  });
  const daemon = await CallscreenDaemon.start(loaded, logger, fake.parts);

  const channel = fakeChannel('challenged', '+14155552671');
  const codes: string[] = [];
  const typed: string[] = [];
  fake.ari.onRequest = (r) => {
    if (r.method !== 'play') return;
    const said = [r.args[1].media].flat().find((m) => m.startsWith('digits:'));
    if (!said) return;
    const code = said.slice('digits:'.length);
    codes.push(code);
    // every digit wrong on the first attempt, the code itself on the second
    const keys = codes.length === 1 ? [...code].map((d) => String((Number(d) + 1) % 10)).join('') : code;
    typed.push(keys);
    setImmediate(() => fake.ari.press(channel, keys));
  };
  fake.ari.startCall(channel, ['inbound', '+12125550100']);
  await until(() => fake.callLog.records.length === 1);
  await daemon.close();
  expect(fake.callLog.records[0]).toMatchObject({ captcha: { outcome: 'passed', attempts: 2 } });
  expect(codes).toHaveLength(2);
  const lines = written.map((l) => JSON.parse(l) as ChallengedCall['lines'][number]);
  return { output: written.join(''), lines, codes, typed };
}

/** the codes and keys of the call that turn up anywhere in its log output */
function leaked(call: ChallengedCall): string[] {
  return [...call.codes, ...call.typed].filter((digits) => call.output.includes(digits));
}

describe('CALLSCREEN_TEST_LOG_CAPTCHA_CODE', () => {
  test('off: no CAPTCHA code and no typed key appears in any log line of a challenged call', async () => {
    const call = await challengedCall({});
    expect(call.lines.some((l) => l.msg === 'captcha attempt')).toBe(true); // the IVR did log, at debug
    expect(leaked(call)).toEqual([]);
    expect(call.lines.filter((l) => 'code' in l || 'keys' in l)).toEqual([]);
    expect(call.lines.filter((l) => l.msg === WARNING || l.msg === REFUSAL)).toEqual([]);
  });

  test('any value but "1" (here "true") is off too', async () => {
    const call = await challengedCall({ switch: 'true' });
    expect(leaked(call)).toEqual([]);
  });

  test('on: the daemon warns at start, and the codes and keys are in the debug log (what the tests read)', async () => {
    const call = await challengedCall({ switch: '1' });
    const warning = call.lines.findIndex((l) => l.level === 'warn' && l.msg === WARNING);
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(warning).toBeLessThan(call.lines.findIndex((l) => l.msg === 'connecting to ARI'));
    // the grep of the tests above finds them when they are there
    expect(leaked(call).sort()).toEqual([...call.codes, ...call.typed].sort());
  });

  test('on under NODE_ENV=production: refused with an error line, and no code or key is logged', async () => {
    const call = await challengedCall({ switch: '1', nodeEnv: 'production' });
    expect(call.lines.filter((l) => l.msg === REFUSAL)).toMatchObject([{ level: 'error' }]);
    expect(call.lines.filter((l) => l.msg === WARNING)).toEqual([]);
    expect(leaked(call)).toEqual([]);
  });

  test('captchaCodeLogging reads the switch from the environment it is given', () => {
    const log = captureLogger();
    expect(captchaCodeLogging({}, log.logger)).toBe(false);
    expect(captchaCodeLogging({ [SWITCH]: '1', NODE_ENV: 'development' }, log.logger)).toBe(true);
    expect(captchaCodeLogging({ [SWITCH]: '1', NODE_ENV: 'production' }, log.logger)).toBe(false);
    expect(log.lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', WARNING],
      ['error', REFUSAL],
    ]);
  });
});

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}
