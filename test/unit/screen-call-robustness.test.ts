import fc from 'fast-check';
import { configSchema } from '../../src/config/schema';
import { VERDICTS } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { buildRuleSet, compileRule } from '../../src/domain/rule-set';
import { screenCall } from '../../src/domain/screen-call';
import { compileScreening } from '../../src/domain/screening-policy';
import { histories, ms } from '../support/history-arbitraries';

const { model } = compileScreening(
  configSchema.parse({
    numbers: { defaultRegion: 'DE' },
    screening: { timeZone: 'Europe/Berlin' },
    didGroups: { hotline: ['+49 30 1234567'] },
    policies: [
      { name: 'hotline', dids: ['hotline'], maxVerdict: 'challenge' },
      { name: 'nights', when: [{ from: '20:00', to: '07:00' }], verdicts: { challenge: 'voicemail' } },
    ],
  }),
);
const rules = buildRuleSet([]);
const callerIds = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'+0123456789 -()./#*'.split('')), maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

describe('robustness', () => {
  test('10,000 random caller IDs, DIDs, attestations, histories and times never throw and always give a verdict with reasons and a finite score', () => {
    fc.assert(
      fc.property(
        callerIds,
        fc.oneof(callerIds, fc.constant('+49 30 1234567')),
        fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
        histories,
        ms,
        (caller, did, attestation, history, at) => {
          const d = screenCall(
            { callerNumber: caller, did, at: new Date(at), ...(attestation !== undefined ? { attestation } : {}) },
            { rules, history },
            model,
          );
          return VERDICTS.includes(d.verdict) && d.reasons.length > 0 && Number.isFinite(d.score);
        },
      ),
      { seed: 12_007, numRuns: 10_000 },
    );
  });

  test('10,000 random rule strings never throw and give a rule or a located reason', () => {
    fc.assert(
      fc.property(callerIds, (number) => {
        const r = compileRule({ list: 'deny', number, source: { file: 'r.yaml', line: 4, column: 5 } }, 'DE');
        return 'reason' in r ? r.reason.length > 0 && r.source.line === 4 : r.written === number.trim();
      }),
      { seed: 12_007, numRuns: 10_000 },
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
      { seed: 12_007, numRuns: 5_000 },
    );
  });
});
