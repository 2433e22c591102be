import { callTags, callerNameTag, type CallTagInput } from '../../src/calls/call-tags';
import { captchaSettingsFor } from '../../src/calls/captcha/captcha-settings';
import { configSchema } from '../../src/config/schema';
import type { Decision } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { compileScreening, resolveSettings } from '../../src/domain/screening-policy';

const decision = (over: Partial<Decision> = {}): Decision => ({
  verdict: 'challenge',
  score: 45,
  reasons: [
    { code: 'caller.withheld', text: 'withheld', points: 30 },
    { code: 'attestation', text: 'none', points: 5 },
    { code: 'caller.foreign-country', text: 'abroad', points: 10 },
    { code: 'score', text: 'score 45' },
  ],
  degraded: false,
  policies: [],
  caller: normalisePhoneNumber('anonymous', 'US'),
  did: normalisePhoneNumber('+12125550100', 'US'),
  at: '2026-11-23T10:00:00.000Z',
  ...over,
});

const input = (over: Partial<CallTagInput> = {}): CallTagInput => ({
  decision: decision(),
  target: 'agents',
  tags: { callerNamePrefix: 'SPAM? ', cdrUserfield: true },
  challengeThreshold: 30,
  callerName: 'Bob',
  callerNumber: 'anonymous',
  ...over,
});

describe('callTags', () => {
  test('verdict, score, top reasons joined with commas, CAPTCHA outcome, CDR userfield', () => {
    expect(callTags(input({ captcha: 'passed' }))).toEqual([
      ['CALLSCREEN_VERDICT', 'challenge'],
      ['CALLSCREEN_SCORE', '45'],
      ['CALLSCREEN_REASONS', 'caller.withheld,caller.foreign-country,attestation'],
      ['CALLSCREEN_CAPTCHA', 'passed'],
      ['CDR(userfield)', 'callscreen:challenge:45:caller.withheld:captcha-passed'],
    ]);
  });

  test('a clean call: no reasons, no prefix, no CDR userfield when switched off: two variables', () => {
    const clean = decision({
      verdict: 'allow',
      score: 0,
      reasons: [{ code: 'reputation.unlisted', text: 'not listed', points: 0 }],
    });
    expect(callTags(input({ decision: clean, tags: { callerNamePrefix: 'SPAM? ', cdrUserfield: false } }))).toEqual([
      ['CALLSCREEN_VERDICT', 'allow'],
      ['CALLSCREEN_SCORE', '0'],
    ]);
  });
});

describe('the caller-name prefix', () => {
  test('a call that reaches the agents looking suspect without passing the CAPTCHA', () => {
    expect(callerNameTag(input({ captcha: 'timeout' }))).toBe('SPAM? Bob');
    // shadow mode: let through with a score over the challenge threshold
    expect(callerNameTag(input({ decision: decision({ verdict: 'allow', score: 40 }) }))).toBe('SPAM? Bob');
    // no name: the number is shown after the prefix
    expect(callerNameTag(input({ captcha: 'error', callerName: '' }))).toBe('SPAM? anonymous');
  });

  test('never on a caller who passed the CAPTCHA, a clean call, voicemail, or when switched off; never twice', () => {
    expect(callerNameTag(input({ captcha: 'passed' }))).toBeUndefined();
    expect(callerNameTag(input({ decision: decision({ verdict: 'allow', score: 10 }) }))).toBeUndefined();
    expect(callerNameTag(input({ target: 'voicemail' }))).toBeUndefined();
    expect(callerNameTag(input({ tags: { callerNamePrefix: '', cdrUserfield: true } }))).toBeUndefined();
    expect(callerNameTag(input({ callerName: 'SPAM? Bob' }))).toBe('SPAM? Bob');
  });
});

describe('per-DID CAPTCHA and voicemail settings from the policies', () => {
  const config = configSchema.parse({
    screening: { timeZone: 'UTC' },
    captcha: { attempts: 2, prompts: { greeting: ['sound:hello'] } },
    policies: [
      { name: 'all', captcha: { language: 'de', prompts: { wrong: ['sound:beep'] } } },
      {
        name: 'hotline',
        dids: ['+12125550100'],
        captcha: { attempts: 4, prompts: { passed: ['sound:queue-thankyou'] } },
        voicemail: { context: 'vm-hotline' },
      },
    ],
  });
  const { model } = compileScreening(config);
  const at = new Date('2026-11-23T10:00:00Z');

  test('matching policies merge in order; prompts one by one; the rest from `captcha`', () => {
    const hotline = resolveSettings(model, normalisePhoneNumber('+12125550100', 'US'), at);
    expect(hotline.voicemail).toEqual({ context: 'vm-hotline', priority: 1 });
    const settings = captchaSettingsFor(config.captcha, hotline.captcha);
    expect(settings).toMatchObject({
      attempts: 4,
      language: 'de',
      codeLength: 2,
      digitTimeoutMs: 5000,
      failVerdict: 'voicemail',
    });
    expect(settings.prompts).toEqual({
      greeting: ['sound:hello'],
      enterCode: ['sound:vm-press'],
      wrong: ['sound:beep'],
      passed: ['sound:queue-thankyou'],
      failed: ['sound:goodbye'],
    });
  });

  test('a DID without a voicemail policy keeps routing.voicemail (undefined override)', () => {
    const other = resolveSettings(model, normalisePhoneNumber('+12125550199', 'US'), at);
    expect(other.voicemail).toBeUndefined();
    expect(captchaSettingsFor(config.captcha, other.captcha)).toMatchObject({ attempts: 2, language: 'de' });
  });
});
