import { parseCheckRegion, parseCheckVerstat } from '../../src/cli/check-command';
import type { Decision } from '../../src/domain/decision';
import { buildRuleSet } from '../../src/domain/rule-set';
import { screenCall, type CallFacts } from '../../src/domain/screen-call';
import { readVerstat } from '../../src/domain/verstat';
import { ConfigError } from '../../src/errors/config-error';
import { compileTestModel, foundHistory } from '../support/screening-fixtures';

const AT = new Date('2026-11-23T15:00:00Z');
const model = compileTestModel();

function screen(extra: Partial<CallFacts>): Decision {
  return screenCall(
    { callerNumber: '+13125550111', did: '+12125550100', at: AT, ...extra },
    { rules: buildRuleSet([]), history: foundHistory() },
    model,
  );
}
const attestationReason = (d: Decision) => d.reasons.find((r) => r.code === 'attestation');

describe("readVerstat: the carrier's verification verdict as an attestation", () => {
  test.each([
    ['TN-Validation-Passed', 'TN-Validation-Passed', 'B'],
    ['TN-Validation-Passed-A', 'TN-Validation-Passed-A', 'A'],
    ['tn-validation-passed-c', 'TN-Validation-Passed-C', 'C'],
    [' TN-Validation-Failed ', 'TN-Validation-Failed', 'failed'],
    ['TN-Validation-Failed-A', 'TN-Validation-Failed-A', 'failed'],
    ['No-TN-Validation', 'No-TN-Validation', 'none'],
  ])('%j means %s, attestation %s', (raw, text, attestation) => {
    expect(readVerstat(raw)).toEqual({ text, attestation });
  });

  test.each([
    '',
    'Passed',
    'TN-Validation-Passed-D',
    'TN-Validation-Passed-AB',
    'TN-Validation',
    'constructor',
    'x'.repeat(200),
  ])('%j is not a verstat: ignored', (raw) => {
    expect(readVerstat(raw)).toBeUndefined();
  });
});

describe('the verstat in a decision', () => {
  test('with no attestation handed over, TN-Validation-Failed scores as failed (a challenge with the defaults) and says whose verdict it is', () => {
    const d = screen({ verstat: 'TN-Validation-Failed' });
    expect(d).toMatchObject({ verdict: 'challenge', attestation: 'failed', verstat: 'TN-Validation-Failed' });
    expect(attestationReason(d)).toEqual({
      code: 'attestation',
      text: 'verstat TN-Validation-Failed: the carrier could not verify the caller ID: it may be spoofed',
      points: 40,
    });
  });

  test('TN-Validation-Passed without a level is verified with no bonus (B); with -A it is A', () => {
    expect(attestationReason(screen({ verstat: 'TN-Validation-Passed' }))).toMatchObject({ points: 0 });
    const a = screen({ verstat: 'TN-Validation-Passed-A' });
    expect(a).toMatchObject({ verdict: 'allow', attestation: 'A', verstat: 'TN-Validation-Passed-A' });
    expect(attestationReason(a)).toMatchObject({ points: -15 });
  });

  test('an attestation handed over (res_stir_shaken, or set by the admin) wins over the verstat, which then is not reported', () => {
    const d = screen({ attestation: 'A', verstat: 'TN-Validation-Failed' });
    expect(d.attestation).toBe('A');
    expect(d.verstat).toBeUndefined();
    expect(attestationReason(d)?.text).toMatch(/^STIR\/SHAKEN attestation A/);
  });

  test('an attestation value that means nothing leaves the verstat in charge', () => {
    const d = screen({ attestation: 'maybe', verstat: 'No-TN-Validation' });
    expect(d).toMatchObject({ attestation: 'none', verstat: 'No-TN-Validation' });
  });

  test('a verstat that means nothing scores nothing', () => {
    const d = screen({ verstat: 'Validation-Unknown' });
    expect(attestationReason(d)).toBeUndefined();
    expect(d.verstat).toBeUndefined();
  });
});

describe('callscreen check --verstat', () => {
  test('takes the carrier spelling in any case', () => {
    expect(parseCheckVerstat('tn-validation-failed')).toBe('TN-Validation-Failed');
    expect(parseCheckVerstat(undefined)).toBeUndefined();
  });

  test('refuses anything else, naming the option', () => {
    expect(() => parseCheckVerstat('Failed')).toThrow(ConfigError);
    expect(() => parseCheckVerstat('Failed')).toThrow(/--verstat: "Failed" is not one of TN-Validation-Passed/);
  });
});

describe('From beside P-Asserted-Identity', () => {
  const mismatch = (d: Decision) => d.reasons.find((r) => r.code === 'caller.identity-mismatch');

  test('another number in From adds identityMismatch points, naming both numbers', () => {
    const d = screen({ fromNumber: '+12125550000' });
    expect(mismatch(d)).toEqual({
      code: 'caller.identity-mismatch',
      text: 'the From header says +12125550000, the carrier asserts +13125550111 (the number screened)',
      points: 10,
    });
    expect(d.verdict).toBe('allow'); // on its own it never challenges
  });

  test.each([
    ['the same number', '+13125550111'],
    ['the same number written nationally', '(312) 555-0111'],
    ['no number (anonymous)', 'anonymous'],
    ['nothing', ''],
  ])('%s in From: no signal', (_, from) => {
    expect(mismatch(screen({ fromNumber: from }))).toBeUndefined();
  });

  test('signals.identityMismatch.points 0 switches it off', () => {
    const off = compileTestModel({ screening: { signals: { identityMismatch: { points: 0 } } } });
    const d = screenCall(
      { callerNumber: '+13125550111', did: '+12125550100', at: AT, fromNumber: '+12125550000' },
      { rules: buildRuleSet([]), history: foundHistory() },
      off,
    );
    expect(mismatch(d)).toBeUndefined();
  });
});

describe('forwarded calls', () => {
  test('are screened on the caller, and the decision says who forwarded them (no points)', () => {
    const d = screen({ forwardedBy: '2125550999' });
    expect(d.caller).toMatchObject({ e164: '+13125550111' });
    expect(d.reasons.find((r) => r.code === 'caller.forwarded')).toEqual({
      code: 'caller.forwarded',
      text: 'forwarded by +12125550999: screened on the caller +13125550111',
    });
  });
});

describe('callscreen check --region', () => {
  test('takes a region libphonenumber knows, in any case, and reads the numbers with it', () => {
    expect(parseCheckRegion('ch')).toBe('CH');
    expect(parseCheckRegion(undefined)).toBeUndefined();
    const d = screenCall(
      { callerNumber: '044 668 18 00', did: '044 200 11 22', at: AT, region: 'CH' },
      { rules: buildRuleSet([]), history: foundHistory() },
      model,
    );
    expect(d.caller).toMatchObject({ e164: '+41446681800' });
  });

  test('refuses anything else, naming the option', () => {
    expect(() => parseCheckRegion('XX')).toThrow(/--region: "XX" is not a region libphonenumber knows/);
  });
});

describe('a region per DID group (numbers.didGroupRegions)', () => {
  const grouped = compileTestModel({
    numbers: { defaultRegion: 'US', didGroupRegions: { zurich: 'CH' } },
    didGroups: { zurich: ['044 200 11 99'], hotline: ['+1 212 555 0100'] },
  });
  const screen = (facts: Partial<CallFacts>) =>
    screenCall(
      { callerNumber: '044 668 18 00', did: '+41442001199', at: AT, ...facts },
      { rules: buildRuleSet([]), history: foundHistory() },
      grouped,
    );

  test("calls to the group's DIDs read the caller with its region (its DIDs written nationally in it)", () => {
    expect(screen({}).caller).toMatchObject({ e164: '+41446681800' });
  });

  test("it wins over the trunk's region; other DIDs keep the trunk's or the default", () => {
    expect(screen({ region: 'DE' }).caller).toMatchObject({ e164: '+41446681800' });
    expect(screen({ did: '+12125550100', region: 'DE' }).caller).toMatchObject({ e164: '+49446681800' });
    expect(screen({ did: '+12125550100' }).caller).not.toMatchObject({ e164: '+41446681800' });
  });

  test('a region for a group that does not exist is a problem at load, with its path', () => {
    expect(() => compileTestModel({ numbers: { defaultRegion: 'US', didGroupRegions: { nowhere: 'CH' } } })).toThrow(
      /"path":\["numbers","didGroupRegions","nowhere"\].*not a DID group/,
    );
  });
});
