/**
 * Past the CAPTCHA only on record. A caller goes to voicemail or is rejected without a CAPTCHA only when
 * what is on record about its number says so: the reputation list, the agents' verdicts, its calls
 * (velocity, DIDs walked), its CAPTCHA history, the admin's name rules with points, on balance (a credit
 * on record counts against them). How the call looks (the number's form, type and country, the
 * attestation, neighbour spoofing, a withheld ID, the listed numbers of its block) and what the online
 * providers say can each be wrong about a person (a number that changed hands, a carrier that does not
 * sign, a foreign premium-rate line, a new line in a block a campaign once used), so on their own,
 * however many, they take a caller to the CAPTCHA, where a person gets through and a robot does not.
 * screening.withoutRecord (or a policy's) sets how far they may go: challenge by default; reject lets
 * the score alone decide. Pure: no I/O.
 */
import { sumOfPoints, verdictRank, type Reason, type ReasonCode, type Verdict } from './decision';
import type { ScreeningSettings } from './screening-policy';

/** the reasons that are about the number's record rather than about how this call looks */
export const RECORD_CODES: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'rule.name',
  'reputation.listed',
  'feedback.ok',
  'feedback.spam',
  'known-customer',
  'velocity.number',
  'velocity.block',
  'velocity.dids',
  'captcha.passed',
  'captcha.failed',
  'repeat-caller',
]);

/**
 * screening.withoutRecord (default challenge), with the reason (code score.capped), when the score gives
 * a harsher verdict but the points on record stay below the challenge threshold; undefined when nothing
 * is capped.
 */
export function capWithoutRecord(
  scored: Verdict,
  reasons: readonly Reason[],
  settings: Pick<ScreeningSettings, 'thresholds' | 'withoutRecord'>,
): { verdict: Verdict; reason: Reason } | undefined {
  const most = settings.withoutRecord;
  if (verdictRank(scored) <= verdictRank(most)) return undefined;
  const onRecord = sumOfPoints(reasons.filter((r) => RECORD_CODES.has(r.code)));
  if (onRecord >= settings.thresholds.challenge) return undefined;
  const looks = sumOfPoints(reasons.filter((r) => !RECORD_CODES.has(r.code)));
  const record = onRecord > 0 ? `only ${onRecord} points are on record` : 'nothing is on record';
  const limit = most === 'challenge' ? 'never take a caller past the CAPTCHA' : `take a caller no further than ${most}`;
  return {
    verdict: most,
    reason: {
      code: 'score.capped',
      text: `${scored} becomes ${most}: ${record} against the number; how the call looks, its block and the online lookups (${looks} points) alone ${limit}`,
    },
  };
}
