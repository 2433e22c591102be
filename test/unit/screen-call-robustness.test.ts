import fc from 'fast-check';
import { VERDICTS } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { buildRuleSet, compileRule } from '../../src/domain/rule-set';
import { screenCall } from '../../src/domain/screen-call';

const policy = { defaultRegion: 'DE' as const, reputationThreshold: 0.7, withheldCaller: 'allow' as const, unparseableCaller: 'voicemail' as const, spamVerdict: 'voicemail' as const };
const rules = buildRuleSet([]);
// caller IDs as trunks send them: digits and separators, mixed with anything at all
const callerIds = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'+0123456789 -()./#*'.split('')), maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

describe('robustness', () => {
  test('10,000 random caller IDs never throw and always give a verdict with a reason', () => {
    fc.assert(
      fc.property(callerIds, callerIds, (caller, did) => {
        const d = screenCall({ callerNumber: caller, did }, { rules, reputation: { status: 'unlisted' } }, policy);
        return VERDICTS.includes(d.verdict) && d.reasons.length > 0;
      }),
      { numRuns: 10_000 },
    );
  });

  test('10,000 random rule strings never throw and give a rule or a located reason', () => {
    fc.assert(
      fc.property(callerIds, (number) => {
        const r = compileRule({ list: 'deny', number, source: { file: 'r.yaml', line: 4, column: 5 } }, 'DE');
        return 'reason' in r ? r.reason.length > 0 && r.source.line === 4 : r.written === number.trim();
      }),
      { numRuns: 10_000 },
    );
  });

  test('normalisation of a possible number is idempotent on its own output', () => {
    fc.assert(
      fc.property(callerIds, (raw) => {
        const n = normalisePhoneNumber(raw, 'DE');
        if (n.kind !== 'e164' || !n.possible) return true;
        const again = normalisePhoneNumber(n.e164, 'DE');
        return again.kind === 'e164' && again.e164 === n.e164;
      }),
      { numRuns: 5_000 },
    );
  });
});
