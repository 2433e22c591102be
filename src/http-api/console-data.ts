/**
 * What the review console's API answers with, built from the screened-call log's records. Pure: no I/O.
 *
 * CallView is one logged call as the page shows it; Summary counts calls per hour and verdict, the
 * numbers most often treated as spam and how CAPTCHAs ended over a window.
 */
import type { PhoneNumber } from '../domain/phone-number';
import { VERDICTS, type ReasonCode, type Verdict } from '../domain/decision';
import { callCountOf, HOUR_MS, type HourTally } from '../domain/call-counts';
import type { RuleSet } from '../domain/rule-set';
import type { ConfigError } from '../errors/config-error';
import type { CaptchaOutcome, LoggedCall } from '../ports/call-log';

export interface CallView {
  /** the log's stream id (GET /api/v1/calls/:id) */
  id: string;
  callId: string;
  at: string;
  caller: { raw: string; e164: string | null };
  callerName: string | null;
  did: string;
  verdict: Verdict;
  shadowVerdict: Verdict | null;
  score: number;
  degraded: boolean;
  reasons: { code: ReasonCode; text: string; points: number | null }[];
  captcha: { outcome: CaptchaOutcome; attempts: number } | null;
  routedTo: string;
  decisionMs: number;
  host: string;
}

const e164Of = (n: PhoneNumber): string | null => (n.kind === 'e164' ? n.e164 : null);

export function callView({ id, record }: LoggedCall): CallView {
  const d = record.decision;
  return {
    id,
    callId: record.callId,
    at: record.at,
    caller: { raw: d.caller.raw, e164: e164Of(d.caller) },
    callerName: typeof record.callerName === 'string' && record.callerName !== '' ? record.callerName : null,
    did: e164Of(d.did) ?? d.did.raw,
    verdict: d.verdict,
    shadowVerdict: d.shadowVerdict ?? null,
    score: d.score,
    degraded: d.degraded,
    reasons: (d.reasons ?? []).map((r) => ({ code: r.code, text: r.text, points: r.points ?? null })),
    captcha: record.captcha ? { outcome: record.captcha.outcome, attempts: record.captcha.attempts } : null,
    routedTo: record.routedTo,
    decisionMs: record.decisionMs,
    host: record.host,
  };
}

// ---- summary ----

export const TOP_SPAM = 10;

export interface HourCounts {
  /** ISO start of the hour */
  hour: string;
  allow: number;
  challenge: number;
  voicemail: number;
  reject: number;
}

export interface Summary {
  /** ISO start of the first hour and the end of the window */
  from: string;
  until: string;
  byHour: HourCounts[];
  topSpam: { number: string; calls: number }[];
  captcha: { passed: number; failed: number; other: number; passRate: number | null };
  /** calls counted */
  calls: number;
  /** true when the window held more calls than were read (the oldest were left out) */
  capped: boolean;
}

/** Counts calls one by one; `hours` buckets, the last one the hour `nowMs` falls in. */
export class SummaryCounter {
  readonly fromMs: number;
  private readonly byHour: HourCounts[];
  private readonly spam = new Map<string, number>();
  private readonly captcha = { passed: 0, failed: 0, other: 0 };
  private calls = 0;

  constructor(
    hours: number,
    private readonly nowMs: number,
  ) {
    const current = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    this.fromMs = current - (hours - 1) * HOUR_MS;
    this.byHour = Array.from({ length: hours }, (_, i) => ({
      hour: new Date(this.fromMs + i * HOUR_MS).toISOString(),
      allow: 0,
      challenge: 0,
      voicemail: 0,
      reject: 0,
    }));
  }

  add({ record }: LoggedCall, appendedMs: number): void {
    const at = Date.parse(record.at);
    const count = callCountOf(record.decision, record.captcha?.outcome, Number.isNaN(at) ? appendedMs : at);
    const index = Math.min(
      this.byHour.length - 1,
      Math.max(0, Math.floor((count.hour * HOUR_MS - this.fromMs) / HOUR_MS)),
    );
    const bucket = this.byHour[index];
    if (bucket && count.verdict in bucket) bucket[count.verdict] += 1;
    this.calls += 1;
    if (count.spamCaller !== undefined) this.spam.set(count.spamCaller, (this.spam.get(count.spamCaller) ?? 0) + 1);
    if (count.captcha) this.captcha[count.captcha] += 1;
  }

  /** One hour's counts as the daemon kept them (the same counting as add, done as the calls were logged). */
  addTally(tally: HourTally): void {
    const index = tally.hour * HOUR_MS - this.fromMs;
    const bucket = index >= 0 ? this.byHour[Math.floor(index / HOUR_MS)] : undefined;
    if (!bucket) return;
    for (const verdict of VERDICTS) {
      bucket[verdict] += tally.verdicts[verdict];
      this.calls += tally.verdicts[verdict];
    }
    for (const { number, calls } of tally.spamCallers) this.spam.set(number, (this.spam.get(number) ?? 0) + calls);
    this.captcha.passed += tally.captcha.passed;
    this.captcha.failed += tally.captcha.failed;
    this.captcha.other += tally.captcha.other;
  }

  result(capped: boolean): Summary {
    const { passed, failed, other } = this.captcha;
    const challenged = passed + failed + other;
    const topSpam = [...this.spam.entries()]
      .map(([number, calls]) => ({ number, calls }))
      .sort((a, b) => b.calls - a.calls || (a.number < b.number ? -1 : a.number > b.number ? 1 : 0))
      .slice(0, TOP_SPAM);
    return {
      from: new Date(this.fromMs).toISOString(),
      until: new Date(this.nowMs).toISOString(),
      byHour: this.byHour,
      topSpam,
      // passed out of every challenged call (a caller who hung up or timed out did not pass)
      captcha: {
        passed,
        failed,
        other,
        passRate: challenged === 0 ? null : Math.round((passed / challenged) * 10_000) / 10_000,
      },
      calls: this.calls,
      capped,
    };
  }
}

// ---- rules ----

export interface RuleFileView {
  name: string;
  kind: 'admin' | 'managed';
  rules: { list: 'allow' | 'deny'; pattern: string; label: string | null; line: number }[];
  error: { file: string; line: number; column: number; reason: string } | null;
}

export function ruleFileView(
  name: string,
  kind: 'admin' | 'managed',
  set: Pick<RuleSet, 'rules'>,
  error: ConfigError | undefined,
): RuleFileView {
  const problem = error?.problems[0];
  return {
    name,
    kind,
    rules: set.rules.map((r) => ({ list: r.list, pattern: r.written, label: r.label ?? null, line: r.source.line })),
    error: problem
      ? {
          file: problem.file,
          line: problem.line,
          column: problem.column,
          reason:
            error.problems.length > 1 ? `${problem.reason} (and ${error.problems.length - 1} more)` : problem.reason,
        }
      : null,
  };
}
