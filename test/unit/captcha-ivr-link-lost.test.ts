/**
 * CaptchaIvr.linkLost: the ARI websocket dropped while a caller is in the CAPTCHA (Asterisk drops the
 * channel's events until it is back: keys, prompt ends). The IVR must not judge the caller on keys it
 * never saw: it stops at once with 'abandoned' (the screener sends the caller to the agents), unless the
 * outcome was already known (its last prompt was playing): then that outcome stands.
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
  digitTimeoutMs: 10_000,
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
 * A channel on the shared FakeAri (test/support/fakes.ts) whose playbacks end after 5 ms unless
 * `endless` names their first medium (then they play until stopped); `onPlay` runs when one starts
 * (the test presses keys or drops the link there).
 */
function fakeChannel(onPlay: (media: string[], session: ChannelSession) => void, endless: string[] = []) {
  const ari = new FakeAri();
  ari.playbackMs = 5;
  ari.endlessMedia = endless;
  const session = new ChannelSession(ari, CHANNEL);
  ari.on('event', (event) => session.handle(event));
  const calls: string[] = [];
  ari.onRequest = (r) => {
    if (r.method === 'stopPlayback') calls.push('stop');
    else if (r.method !== 'play') calls.push(r.method);
    else {
      const media = [r.args[1].media].flat();
      calls.push(`play ${media.join(',')}`);
      setImmediate(() => onPlay(media, session));
    }
  };
  return { session, calls };
}

const log = pino({ level: 'silent' });
const press = (session: ChannelSession, keys: string): void => {
  for (const digit of keys)
    session.handle({ type: 'ChannelDtmfReceived', application: 'callscreen', digit, duration_ms: 100, channel });
};

describe('CaptchaIvr.linkLost (the ARI connection dropped)', () => {
  test('while the caller is typing: abandoned at once (to the agents), not failed for the keys it never saw', async () => {
    const { session, calls } = fakeChannel(
      (media, s) => {
        if (media.some((m) => m.startsWith('digits:'))) {
          press(s, '4'); // the first key arrives, the second is lost with the link
          ivr.linkLost('the ARI connection was lost (websocket closed)');
        }
      },
      ['sound:vm-press'],
    );
    const ivr = new CaptchaIvr({ session, settings, log, newCode: () => '42' });
    const started = Date.now();
    const result = await ivr.run();
    expect(result).toMatchObject({
      outcome: 'abandoned',
      attempts: 1,
      detail: 'the ARI connection was lost (websocket closed)',
    });
    expect(result.failure).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000); // not after the 10 s digit timeout
    expect(calls).toContain('stop'); // the code prompt is cut
  });

  test('during the last prompt, the outcome already known stands (failed stays failed, passed stays passed)', async () => {
    for (const [keys, outcome] of [
      ['42', 'passed'],
      ['13', 'failed'],
    ] as const) {
      const { session } = fakeChannel(
        (media, s) => {
          if (media.some((m) => m.startsWith('digits:'))) press(s, keys);
          if (media.includes('sound:auth-thankyou') || media.includes('sound:goodbye'))
            ivr.linkLost('the ARI connection was lost');
        },
        ['sound:auth-thankyou', 'sound:goodbye'],
      );
      const ivr = new CaptchaIvr({ session, settings: { ...settings, attempts: 1 }, log, newCode: () => '42' });
      const result = await ivr.run();
      expect(result.outcome).toBe(outcome);
      expect(result.callerGone).toBeUndefined(); // the caller is still there: route them
    }
  });

  test('a shutdown (abandon) keeps its reason and detail', async () => {
    const { session } = fakeChannel(
      (media) => {
        if (media.some((m) => m.startsWith('digits:'))) ivr.abandon('abandoned', 'the daemon is shutting down');
      },
      ['sound:vm-press'],
    );
    const ivr = new CaptchaIvr({ session, settings, log, newCode: () => '42' });
    expect(await ivr.run()).toMatchObject({ outcome: 'abandoned', detail: 'the daemon is shutting down' });
  });
});
