/**
 * What a candidate configuration would have done to the logged calls, summed up as the calls stream past
 * (bounded memory: counts, a capped table of numbers and DIDs, the first changed calls in full):
 *   - the verdict transition matrix (allow -> challenge, ...), replayed-in-full and partial calls apart;
 *   - the numbers and DIDs whose calls change most;
 *   - the changed calls with their old and new reasons;
 *   - the estimated effect: calls kept from the agents or let through to them now, and callers who look like
 *     customers (a known customer, the agents' "ok", a passed CAPTCHA, an allow rule, a repeat caller who
 *     reached a person) newly challenged, and, loudest, newly sent to voicemail or rejected.
 */
import { describePhoneNumber } from '../domain/phone-number';
import { VERDICTS, type Reason, type ReasonCode, type Verdict } from '../domain/decision';
import type { LoggedCall } from '../ports/call-log';
import type { ReplayedCall } from './replay-call';

/** reasons in a call's old decision (or its own CAPTCHA pass) that say the caller is a person the business knows */
const CUSTOMER_SIGNS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'known-customer',
  'feedback.ok',
  'captcha.passed',
  'rule.allow',
  'repeat-caller',
]);

/** how many numbers and DIDs are counted one by one; past that, together as "others" */
const MAX_KEYS = 100_000;

export interface ChangedCall {
  id: string;
  callId: string;
  at: string;
  caller: string;
  did: string;
  before: Verdict;
  after: Verdict;
  likelyCustomer: boolean;
  /** "code +points: text" */
  oldReasons: string[];
  newReasons: string[];
}

export type TransitionMatrix = Record<Verdict, Record<Verdict, number>>;

export interface ReplaySummary {
  calls: number;
  /** decided again from the inputs they kept */
  replayed: number;
  /** older records without inputs: decided from what their decision shows, without history */
  partial: number;
  skipped: number;
  /** the first few reasons calls were skipped for, with counts */
  skippedBecause: Record<string, number>;
  matrix: TransitionMatrix;
  partialMatrix: TransitionMatrix;
  changed: number;
  /** replayed calls scored without history: a rule decided them then (no Redis round trip), none does now */
  withoutHistory: number;
  effect: {
    /** reached the agents before, not now */
    agentCallsAvoided: number;
    /** did not reach the agents before, do now */
    agentCallsAdded: number;
    customersNewlyChallenged: number;
    customersNewlyVoicemail: number;
    customersNewlyRejected: number;
  };
  topNumbers: Array<{ number: string; changed: number }>;
  topDids: Array<{ did: string; changed: number }>;
  /** the first `showChanged` changed calls, oldest first */
  changedCalls: ChangedCall[];
}

const emptyMatrix = (): TransitionMatrix =>
  Object.fromEntries(VERDICTS.map((v) => [v, Object.fromEntries(VERDICTS.map((w) => [w, 0]))])) as TransitionMatrix;

export const reasonLine = (r: Reason): string =>
  `${r.code}${r.points !== undefined && r.points !== 0 ? ` ${r.points > 0 ? '+' : ''}${r.points}` : ''}: ${r.text}`;

export class ReplayReport {
  private calls = 0;
  private replayed = 0;
  private partial = 0;
  private skipped = 0;
  private readonly skippedBecause = new Map<string, number>();
  private readonly matrix = emptyMatrix();
  private readonly partialMatrix = emptyMatrix();
  private changed = 0;
  private withoutHistory = 0;
  private readonly effect = {
    agentCallsAvoided: 0,
    agentCallsAdded: 0,
    customersNewlyChallenged: 0,
    customersNewlyVoicemail: 0,
    customersNewlyRejected: 0,
  };
  private readonly byNumber = new Map<string, number>();
  private readonly byDid = new Map<string, number>();
  private readonly changedCalls: ChangedCall[] = [];

  constructor(private readonly showChanged = 50) {}

  add(logged: LoggedCall, replayed: ReplayedCall): void {
    this.calls++;
    if (replayed.kind === 'skipped') {
      this.skipped++;
      if (this.skippedBecause.size < 20 || this.skippedBecause.has(replayed.problem))
        this.skippedBecause.set(replayed.problem, (this.skippedBecause.get(replayed.problem) ?? 0) + 1);
      return;
    }
    const { before, after } = replayed;
    if (replayed.kind === 'partial') {
      this.partial++;
      this.partialMatrix[before][after.verdict]++;
      return; // too little is known of them to count their effect with the others
    }
    this.replayed++;
    if (replayed.withoutHistory) this.withoutHistory++;
    this.matrix[before][after.verdict]++;
    if (before === after.verdict) return;
    this.changed++;
    const record = logged.record;
    const customer =
      record.decision.reasons.some((r) => CUSTOMER_SIGNS.has(r.code)) || record.captcha?.outcome === 'passed';
    if (before === 'allow') this.effect.agentCallsAvoided++;
    if (after.verdict === 'allow') this.effect.agentCallsAdded++;
    if (customer && before === 'allow') {
      if (after.verdict === 'challenge') this.effect.customersNewlyChallenged++;
      if (after.verdict === 'voicemail') this.effect.customersNewlyVoicemail++;
      if (after.verdict === 'reject') this.effect.customersNewlyRejected++;
    }
    if (customer && before === 'challenge' && after.verdict === 'voicemail') this.effect.customersNewlyVoicemail++;
    if (customer && before !== 'reject' && before !== 'allow' && after.verdict === 'reject')
      this.effect.customersNewlyRejected++;
    const caller = describePhoneNumber(record.decision.caller) || 'withheld';
    const did = describePhoneNumber(record.decision.did) || '(no DID)';
    count(this.byNumber, caller);
    count(this.byDid, did);
    if (this.changedCalls.length < this.showChanged)
      this.changedCalls.push({
        id: logged.id,
        callId: record.callId,
        at: record.decision.at,
        caller,
        did,
        before,
        after: after.verdict,
        likelyCustomer: customer,
        oldReasons: record.decision.reasons.map(reasonLine),
        newReasons: after.reasons.map(reasonLine),
      });
  }

  summary(top = 10): ReplaySummary {
    return {
      calls: this.calls,
      replayed: this.replayed,
      partial: this.partial,
      skipped: this.skipped,
      skippedBecause: Object.fromEntries(this.skippedBecause),
      matrix: this.matrix,
      partialMatrix: this.partialMatrix,
      changed: this.changed,
      withoutHistory: this.withoutHistory,
      effect: { ...this.effect },
      topNumbers: topOf(this.byNumber, top).map(([number, changed]) => ({ number, changed })),
      topDids: topOf(this.byDid, top).map(([did, changed]) => ({ did, changed })),
      changedCalls: [...this.changedCalls],
    };
  }
}

function count(map: Map<string, number>, key: string): void {
  const known = map.get(key);
  if (known !== undefined) map.set(key, known + 1);
  else if (map.size < MAX_KEYS) map.set(key, 1);
  else map.set('(others)', (map.get('(others)') ?? 0) + 1);
}

function topOf(map: Map<string, number>, n: number): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}
