/**
 * Lookups keyed by text from outside (the dialplan's attestation, `callscreen check --attest`, a feed's
 * source name) see only their own fixed keys: the names every JavaScript object inherits
 * (constructor, __proto__, toString, hasOwnProperty, ...) are not values.
 */
import { checkCall, parseCheckAttestation } from '../../src/cli/check-command';
import { loadConfigText } from '../../src/config/load-config';
import { configSchema } from '../../src/config/schema';
import type { HistoryLookup } from '../../src/domain/caller-history';
import { combineReputation } from '../../src/domain/reputation';
import { buildRuleSet } from '../../src/domain/rule-set';
import { normaliseAttestation, screenCall } from '../../src/domain/screen-call';
import { compileScreening } from '../../src/domain/screening-policy';
import { ConfigError } from '../../src/errors/config-error';

const INHERITED_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

const { model } = compileScreening(
  configSchema.parse({ numbers: { defaultRegion: 'US' }, screening: { timeZone: 'UTC' } }),
);
const AT = new Date('2026-11-23T15:00:00Z');
const clean: HistoryLookup = {
  status: 'found',
  history: {
    reputation: { entries: [] },
    numberCalls: [{ windowSeconds: 60, calls: 1 }],
    blockCalls: [{ windowSeconds: 60, calls: 1 }],
    captcha: { failures: 0 },
  },
};

describe('attestation: only A, B, C, none and failed (any case) are attestations', () => {
  test.each(INHERITED_NAMES)('normaliseAttestation ignores %p', (name) => {
    expect(normaliseAttestation(name)).toBeUndefined();
    expect(normaliseAttestation(` ${name.toUpperCase()} `)).toBeUndefined();
  });

  test.each([
    ['a', 'A'],
    [' B ', 'B'],
    ['c', 'C'],
    ['NONE', 'none'],
    ['fail', 'failed'],
    ['Failed', 'failed'],
  ])('normaliseAttestation still reads %p as %p', (raw, attestation) => {
    expect(normaliseAttestation(raw)).toBe(attestation);
  });

  test.each(INHERITED_NAMES)(
    'a call whose dialplan hands over %p as attestation gets no attestation points',
    (name) => {
      const d = screenCall(
        { callerNumber: '+13125550111', did: '+12125550100', at: AT, attestation: name },
        { rules: buildRuleSet([]), history: clean },
        model,
      );
      expect(d.reasons.map((r) => r.code)).not.toContain('attestation');
      expect(d.attestation).toBeUndefined();
      expect(Number.isFinite(d.score)).toBe(true);
      expect(d).toMatchObject({ verdict: 'allow', score: 0 });
    },
  );

  test.each(INHERITED_NAMES)('callscreen check --attest %p is refused, naming the option', (name) => {
    expect(() => parseCheckAttestation(name)).toThrow(ConfigError);
    expect(() => parseCheckAttestation(name)).toThrow(/--attest: "[^"]+" is not one of A, B, C, none, failed/);
  });

  test('callscreen check --attest constructor is refused before anything is read or connected', async () => {
    // a rules file that does not exist and a Redis port nobody listens on: the refusal must come first
    const loaded = loadConfigText(
      'numbers: {defaultRegion: US}\nredis: {url: "redis://127.0.0.1:1"}\nrules: {file: no-such-rules.yaml}\n',
      '/nonexistent/callscreen.yaml',
      {},
    );
    const refusal = checkCall(loaded, { number: '+13125550111', attest: 'constructor' });
    await expect(refusal).rejects.toThrow(ConfigError);
    await expect(refusal).rejects.toMatchObject({ problems: [{ file: '--attest' }] });
  });

  test('callscreen check --attest reads the attestations it names, in any case', () => {
    expect(parseCheckAttestation(undefined)).toBeUndefined();
    expect(parseCheckAttestation('a')).toBe('A');
    expect(parseCheckAttestation('Failed')).toBe('failed');
  });
});

describe("reputation: a feed entry's source name is looked up among the configured sources only", () => {
  test.each(INHERITED_NAMES)('an entry from a source named %p weighs 1, like any unconfigured source', (source) => {
    const combined = combineReputation({ entries: [{ score: 0.5, reports: 1, source }] }, AT.getTime(), {
      weight: 70,
      halfLifeDays: 30,
      maxAgeDays: 180,
      sources: { robocall: { weight: 2 } },
    });
    expect(combined.score).toBe(0.5);
  });

  test('an inherited weight does not count: only a source the settings name has a weight', () => {
    const sources = Object.create({ feed: { weight: 0 } }) as Record<string, { weight: number }>;
    const combined = combineReputation({ entries: [{ score: 0.5, reports: 1, source: 'feed' }] }, AT.getTime(), {
      weight: 70,
      halfLifeDays: 30,
      maxAgeDays: 180,
      sources,
    });
    expect(combined.score).toBe(0.5);
  });
});
