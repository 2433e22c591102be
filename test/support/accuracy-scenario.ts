/**
 * A small month of screened calls and agents' reports whose accuracy figures are worked out by hand in
 * the tests that use it (test/unit/accuracy-report.test.ts, test/integration/accuracy-report.test.ts).
 *
 *   known spam (6):  S1 three calls (reject, voicemail, allow), reported spam after them
 *                    S2 challenge, CAPTCHA failed                      S3 shadow mode (would reject), reported spam after
 *                    S4 challenge, caller hung up, reported spam two days before the call
 *   known good (5):  G1 allow, reported ok     G2 challenge, CAPTCHA passed     G3 voicemail, reported ok (DID ...0199)
 *                    G4 reject, reported ok (DID ...0199)     G5 challenge, CAPTCHA failed but reported ok
 *   unknown (3):     U1 allow     U2 challenge, CAPTCHA timeout     U3 withheld, allow
 * S1's reject and U1 fall in the week of 2026-11-23, the rest in the week of 2026-11-30.
 */
import type { FeedbackVerdict } from '../../src/domain/reputation-entry';
import { reason, type CallSpec } from './screened-calls';

const T = Date.parse('2026-11-30T10:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;
const EARLIER_WEEK = Date.parse('2026-11-27T09:00:00Z');

export const DID_MAIN = '+1 212 555 0100';
export const DID_SALES = '+1 212 555 0199';

const listed = reason('reputation.listed', 40);
const velocity = reason('velocity.number', 20);
const attestation = reason('attestation', -10);

export const SCENARIO_CALLS: CallSpec[] = [
  { caller: '+1 212 555 0101', verdict: 'reject', at: EARLIER_WEEK, reasons: [listed] },
  { caller: '+1 212 555 0301', verdict: 'allow', at: EARLIER_WEEK + MIN, reasons: [attestation] },
  { caller: '+1 212 555 0101', verdict: 'voicemail', at: T, reasons: [listed] },
  { caller: '+1 212 555 0101', verdict: 'allow', at: T + 1 * MIN, reasons: [listed] },
  { caller: '+1 212 555 0102', verdict: 'challenge', at: T + 2 * MIN, reasons: [velocity], captcha: 'failed' },
  {
    caller: '+1 212 555 0103',
    verdict: 'allow',
    at: T + 3 * MIN,
    reasons: [listed, velocity, reason('policy.shadow')],
    shadowVerdict: 'reject',
  },
  {
    caller: '+1 212 555 0104',
    verdict: 'challenge',
    at: T + 4 * MIN,
    reasons: [reason('rule.deny')],
    captcha: 'hangup',
  },
  { caller: '+1 212 555 0201', verdict: 'allow', at: T + 5 * MIN, reasons: [attestation] },
  { caller: '+1 212 555 0202', verdict: 'challenge', at: T + 6 * MIN, reasons: [velocity], captcha: 'passed' },
  { caller: '+1 212 555 0203', verdict: 'voicemail', at: T + 7 * MIN, reasons: [listed], did: DID_SALES },
  { caller: '+1 212 555 0204', verdict: 'reject', at: T + 8 * MIN, reasons: [reason('rule.deny')], did: DID_SALES },
  {
    caller: '+1 212 555 0205',
    verdict: 'challenge',
    at: T + 9 * MIN,
    reasons: [velocity, attestation],
    captcha: 'failed',
  },
  { caller: '+1 212 555 0302', verdict: 'challenge', at: T + 10 * MIN, reasons: [velocity], captcha: 'timeout' },
  { caller: 'anonymous', verdict: 'allow', at: T + 11 * MIN, reasons: [reason('caller.withheld', 30)] },
];

export const SCENARIO_REPORTS: Array<{ e164: string; verdict: FeedbackVerdict; at: number }> = [
  { e164: '+12125550104', verdict: 'spam', at: T - 2 * DAY },
  { e164: '+12125550101', verdict: 'spam', at: T + DAY },
  { e164: '+12125550103', verdict: 'spam', at: T + DAY },
  { e164: '+12125550201', verdict: 'ok', at: T + DAY },
  { e164: '+12125550203', verdict: 'ok', at: T + DAY },
  { e164: '+12125550204', verdict: 'ok', at: T + DAY },
  { e164: '+12125550205', verdict: 'ok', at: T + DAY },
];
