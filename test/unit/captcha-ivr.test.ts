/**
 * The IVR's flow against a scripted ARI: prompts, keys, barge-in, timeouts, hang-ups at any moment,
 * the watchdog and errors. The real Asterisk is in test/integration/captcha-ivr.test.ts.
 */
import pino from 'pino';
import { CaptchaIvr, type CaptchaSettings } from '../../src/calls/captcha/captcha-ivr';
import { ChannelSession } from '../../src/calls/channel-session';
import type { AriChannel } from '../../src/ports/ari';
import { FakeAri } from '../support/fakes';

const CHANNEL = 'chan-1';
const channel: AriChannel = {
  id: CHANNEL,
  name: 'Local/x;2',
  state: 'Up',
  caller: { name: '', number: '+13125550100' },
};
const settings: CaptchaSettings = {
  codeLength: 2,
  attempts: 2,
  digitTimeoutMs: 60,
  failVerdict: 'voicemail',
  language: 'en',
  prompts: {
    greeting: ['sound:hello'],
    enterCode: ['sound:vm-press'],
    wrong: ['sound:please-try-again'],
    passed: ['sound:auth-thankyou'],
    failed: ['sound:goodbye'],
  },
};

/**
 * One channel in the app, on the shared FakeAri (test/support/fakes.ts): its playbacks end after
 * `playMs`, `onPlay` runs once a playback has started (the test presses keys or hangs up there), and
 * `calls` lists what the IVR asked, in order. `ari.fail(...)` makes a request fail or hang.
 */
class FakeChannel {
  readonly ari = new FakeAri();
  readonly session = new ChannelSession(this.ari, CHANNEL);
  onPlay: (media: string[], playbackId: string) => void = () => undefined;

  constructor() {
    this.ari.playbackMs = 5;
    this.ari.on('event', (event) => this.session.handle(event));
    this.ari.onRequest = (r) => {
      if (r.method === 'play') setImmediate(() => this.onPlay([r.args[1].media].flat(), r.args[1].playbackId ?? ''));
    };
  }

  set playMs(ms: number) {
    this.ari.playbackMs = ms;
  }

  get calls(): string[] {
    return this.ari.requests.map((r) => {
      if (r.method === 'setChannelVar') return `set ${r.args[1]}=${r.args[2]}`;
      if (r.method === 'play') return `play ${[r.args[1].media].flat().join(',')}`;
      if (r.method === 'stopPlayback') return 'stop';
      return r.method;
    });
  }

  press(keys: string): void {
    this.ari.press(channel, keys);
  }

  hangUp(): void {
    this.ari.hangUp(channel);
  }
}

const log = pino({ level: 'silent' });
const codes =
  (...list: string[]) =>
  () =>
    list.shift() ?? '00';
const ivrFor = (fake: FakeChannel, newCode = codes('42', '17'), over: Partial<CaptchaSettings> = {}) =>
  new CaptchaIvr({ session: fake.session, settings: { ...settings, ...over }, log, newCode });
const isCode = (media: string[]) => media.some((m) => m.startsWith('digits:'));

describe('CaptchaIvr', () => {
  test('the right code after the prompt: passed; answer, language, greeting, code, thank-you', async () => {
    const fake = new FakeChannel();
    fake.onPlay = (media) => isCode(media) && setTimeout(() => fake.press('42'), 20);
    const result = await ivrFor(fake).run();
    expect(result).toMatchObject({ outcome: 'passed', attempts: 1 });
    expect(fake.calls).toEqual([
      'answer',
      'set CHANNEL(language)=en',
      'play sound:hello',
      'play sound:vm-press,digits:42',
      'play sound:auth-thankyou',
    ]);
  });

  test('keys during the code prompt count, and the first one stops it (barge-in)', async () => {
    const fake = new FakeChannel();
    fake.onPlay = (media) => {
      if (media.includes('sound:hello')) fake.playMs = 10_000; // the code prompt would play 10 s
      if (isCode(media)) {
        fake.playMs = 5;
        fake.press('4');
        setTimeout(() => fake.press('2'), 10);
      }
    };
    const started = Date.now();
    expect((await ivrFor(fake).run()).outcome).toBe('passed');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.calls.filter((c) => c === 'stop')).toHaveLength(1);
  });

  test('a wrong code, then the right one: the wrong prompt, a new code, passed on attempt 2', async () => {
    const fake = new FakeChannel();
    let attempt = 0;
    fake.onPlay = (media) => isCode(media) && fake.press(++attempt === 1 ? '99' : '17');
    const result = await ivrFor(fake).run();
    expect(result).toMatchObject({ outcome: 'passed', attempts: 2 });
    expect(fake.calls).toContain('play sound:please-try-again');
    expect(fake.calls).toContain('play sound:vm-press,digits:17');
  });

  test('wrong on every attempt: failed (wrong), the failed prompt, no wrong prompt after the last one', async () => {
    const fake = new FakeChannel();
    fake.onPlay = (media) => isCode(media) && fake.press('99');
    const result = await ivrFor(fake).run();
    expect(result).toMatchObject({ outcome: 'failed', attempts: 2, failure: 'wrong' });
    expect(fake.calls.filter((c) => c === 'play sound:please-try-again')).toHaveLength(1);
    expect(fake.calls.at(-1)).toBe('play sound:goodbye');
  });

  test('silence: failed at once (no second attempt) after the digit timeout', async () => {
    const fake = new FakeChannel();
    const result = await ivrFor(fake).run();
    expect(result).toMatchObject({ outcome: 'failed', attempts: 1, failure: 'silence' });
  });

  test('an incomplete code times out between digits and counts as wrong', async () => {
    const fake = new FakeChannel();
    fake.onPlay = (media) => isCode(media) && setTimeout(() => fake.press('4'), 10);
    const result = await ivrFor(fake).run();
    expect(result).toMatchObject({ outcome: 'failed', attempts: 2, failure: 'wrong' });
  });

  test('keys pressed during the greeting are dropped', async () => {
    const fake = new FakeChannel();
    fake.onPlay = (media) => {
      if (media.includes('sound:hello')) fake.press('4');
      else if (isCode(media)) setTimeout(() => fake.press('42'), 10);
    };
    expect((await ivrFor(fake).run()).outcome).toBe('passed');
  });

  test.each([
    [
      'while answering',
      (fake: FakeChannel) => {
        fake.ari.fail('answer', 'hang');
        setTimeout(() => fake.hangUp(), 10);
      },
      0,
    ],
    [
      'during the greeting',
      (fake: FakeChannel) => (fake.onPlay = (media) => media.includes('sound:hello') && fake.hangUp()),
      0,
    ],
    [
      'while waiting for keys',
      (fake: FakeChannel) => (fake.onPlay = (media) => isCode(media) && setTimeout(() => fake.hangUp(), 20)),
      1,
    ],
  ])('a hang-up %s: outcome hangup, no further ARI calls', async (_when, arrange, attempts) => {
    const fake = new FakeChannel();
    arrange(fake);
    const result = await ivrFor(fake).run();
    expect(result).toMatchObject({ outcome: 'hangup', attempts });
    const count = fake.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.calls).toHaveLength(count);
  });

  test('a 404 from ARI (channel gone) counts as a hang-up', async () => {
    const fake = new FakeChannel();
    fake.ari.fail('play', 404);
    expect((await ivrFor(fake).run()).outcome).toBe('hangup');
  });

  test('a hang-up during the thank-you keeps the pass (callerGone)', async () => {
    const fake = new FakeChannel();
    fake.onPlay = (media) => {
      if (isCode(media)) fake.press('42');
      if (media.includes('sound:auth-thankyou')) fake.hangUp();
    };
    expect(await ivrFor(fake).run()).toMatchObject({ outcome: 'passed', callerGone: true });
  });

  test('abandon (watchdog) ends the IVR at once with its reason, and stops what plays', async () => {
    const fake = new FakeChannel();
    const ivr = ivrFor(fake, codes('42'), { digitTimeoutMs: 10_000 });
    fake.onPlay = (media) => {
      if (media.includes('sound:hello')) fake.playMs = 10_000; // the code prompt plays on and on
      if (isCode(media)) ivr.abandon('timeout', 'watchdog');
    };
    const result = await ivr.run();
    expect(result.outcome).toBe('timeout');
    expect(fake.calls).toContain('stop');
  });

  test('an error (not a hang-up) ends it with outcome error', async () => {
    const fake = new FakeChannel();
    fake.ari.fail('answer', 500);
    const result = await ivrFor(fake).run();
    expect(result.outcome).toBe('error');
    expect(result.error).toMatch(/boom|500/);
  });
});
