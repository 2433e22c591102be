/**
 * Past the CAPTCHA only on record: a caller is sent to voicemail or rejected without a CAPTCHA only when
 * what is on record about its number reaches the challenge threshold; how the call looks and the online
 * lookups alone, however many points they add, take it to the CAPTCHA.
 */
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { HistoryLookup } from '../../src/domain/caller-history';
import type { LookupAnswer } from '../../src/domain/lookup-answer';
import { screenCall } from '../../src/domain/screen-call';
import { foundHistory } from '../support/screening-fixtures';

const rules = compileRulesText('allow: []\ndeny: []\n', 'rules.yaml', 'US');
const at = new Date('2026-11-23T15:00:00Z');
const { screening } = loadConfigText('numbers: { defaultRegion: US }\n', 'callscreen.yaml', {});

function decide(
  callerNumber: string,
  attestation: string,
  history: HistoryLookup = foundHistory(),
  lookups: LookupAnswer[] = [],
  model = screening,
) {
  return screenCall({ callerNumber, did: '+12125550100', attestation, at }, { rules, history, lookups }, model);
}

const capped = (d: ReturnType<typeof decide>) => d.reasons.find((r) => r.code === 'score.capped')?.text;

describe('past the CAPTCHA only on record', () => {
  test('a provider alone sends a caller it reports to the CAPTCHA, not to voicemail', () => {
    // +61 for the answer and +10 for attestation C: 71 would be voicemail; nothing is on record
    const d = decide('+12015550123', 'C', foundHistory(), [
      { provider: 'p', status: 'answered', score: 0.9, weight: 68 },
    ]);
    expect(d.score).toBe(71);
    expect(d.verdict).toBe('challenge');
    expect(capped(d)).toBe(
      'voicemail becomes challenge: nothing is on record against the number; how the call looks, its block and the online lookups (71 points) alone never take a caller past the CAPTCHA',
    );
  });

  test('a foreign premium-rate number that is not signed is challenged, not sent to voicemail on its looks', () => {
    // premium rate +50, a country not expected +15, unsigned +5
    const d = decide('+449098790123', 'none');
    expect(d.score).toBe(70);
    expect(d.verdict).toBe('challenge');
    expect(capped(d)).toContain('nothing is on record against the number');
  });

  test('a failed attestation and neighbour spoofing together are challenged: the CAPTCHA stops the robot', () => {
    const d = decide('+12125559876', 'failed');
    expect(d.score).toBe(70);
    expect(d.verdict).toBe('challenge');
  });

  test('a number on the list goes to voicemail as before', () => {
    const listed = foundHistory({
      reputation: { entries: [{ score: 1, reports: 12, category: 'robocall', source: 'feed' }] },
    });
    const d = decide('+12015550123', 'C', listed);
    expect(d.verdict).toBe('voicemail');
    expect(capped(d)).toBeUndefined();
  });

  test('with a record that challenges on its own, how the call looks counts in full', () => {
    // a third call within a minute: velocity +30 on record, then a failed attestation +40
    const burst = foundHistory({
      numberCalls: [
        { windowSeconds: 60, calls: 3 },
        { windowSeconds: 3600, calls: 3 },
      ],
    });
    const d = decide('+12015550123', 'failed', burst);
    expect(d.verdict).toBe('voicemail');
    expect(capped(d)).toBeUndefined();
  });

  test('a little on record is said, and still capped', () => {
    // a weak list entry (score 0.3 x weight 70 = 21) besides the foreign premium-rate number's 70
    const weaklyListed = foundHistory({
      reputation: { entries: [{ score: 0.3, reports: 1, category: 'robocall', source: 'feed' }] },
    });
    const d = decide('+449098790123', 'none', weaklyListed);
    expect(d.score).toBe(91);
    expect(d.verdict).toBe('challenge');
    expect(capped(d)).toBe(
      'reject becomes challenge: only 21 points are on record against the number; how the call looks, its block and the online lookups (70 points) alone never take a caller past the CAPTCHA',
    );
  });

  test('the cap comes before the policies: a policy that turns challenges into voicemail still does', () => {
    const afterHours = loadConfigText(
      [
        'numbers: { defaultRegion: US }',
        'policies:',
        '  - name: after-hours',
        '    dids: ["+12125550100"]',
        '    verdicts: { challenge: voicemail }',
        '',
      ].join('\n'),
      'callscreen.yaml',
      {},
    ).screening;
    const d = decide('+449098790123', 'none', foundHistory(), [], afterHours);
    expect(d.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['score.capped', 'policy.verdict']));
    expect(d.verdict).toBe('voicemail');
  });

  test('screening.withoutRecord sets how far looks alone may go: voicemail, or reject for the score alone', () => {
    const model = (value: string) =>
      loadConfigText(`numbers: { defaultRegion: US }\nscreening: { withoutRecord: ${value} }\n`, 'callscreen.yaml', {})
        .screening;
    const weaklyListed = foundHistory({
      reputation: { entries: [{ score: 0.3, reports: 1, category: 'robocall', source: 'feed' }] },
    });
    const toVoicemail = decide('+449098790123', 'none', weaklyListed, [], model('voicemail'));
    expect(toVoicemail.verdict).toBe('voicemail');
    expect(capped(toVoicemail)).toMatch(/^reject becomes voicemail: .* alone take a caller no further than voicemail$/);
    const scoreAlone = decide('+449098790123', 'none', weaklyListed, [], model('reject'));
    expect(scoreAlone.verdict).toBe('reject');
    expect(capped(scoreAlone)).toBeUndefined();
  });
});
