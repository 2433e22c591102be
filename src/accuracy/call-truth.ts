/**
 * What is known about one screened call's truth: was the caller a spammer or a person? Pure.
 *
 * The rules, in order (the first that says something wins):
 *   1. The agents' verdict on the caller's number (the feedback audit stream, `callscreen report` and
 *      POST /api/v1/feedback): the last verdict on the number at or after the call, else the last one
 *      before it. A report after the call judges the calls before it ("later agent reports on the same
 *      number"); an earlier verdict still says whose number it is (an `ok` says it is a person's). Taken
 *      together the two halves come to the number's latest verdict, whenever it was given: the latest
 *      word is the best informed and corrects a mistaken click. spam -> 'spam', ok -> 'good'. Whether
 *      the verdict came after the call or before it is kept as the source: a verdict known before the
 *      call was one of the screening's own inputs (feedback.spam, feedback.ok), so it is no surprise
 *      when the screening agrees with it.
 *   2. The call's own CAPTCHA: passed -> 'good' (a person typed the code); failed (a wrong code or
 *      silence) -> 'spam' (likely a robot: a person can fail too, which is why an agent's verdict wins).
 *      hangup, timeout, abandoned and error say nothing about the caller.
 *   3. Otherwise 'unknown': counted and shown, never guessed.
 *
 * Limits, said plainly: a withheld or unparseable caller can have no agent verdict; a number that
 * changed hands or is spoofed by a robot gets its latest verdict for all its calls.
 */
import type { FeedbackVerdict } from '../domain/reputation-entry';
import type { ScreenedCallRecord } from '../ports/call-log';

export type Truth = 'spam' | 'good' | 'unknown';

/** where a call's truth comes from */
export type TruthSource = 'agent-after' | 'agent-before' | 'captcha-passed' | 'captcha-failed' | 'none';

export interface CallTruth {
  truth: Truth;
  source: TruthSource;
}

interface LatestVerdict {
  verdict: FeedbackVerdict;
  at: number;
}

/**
 * Each number's latest agent verdict, built from the audit stream before the calls are read. One entry
 * per number however many reports it had, so memory grows with the numbers reported, not the reports.
 */
export class AgentVerdicts {
  private readonly latest = new Map<string, LatestVerdict>();
  /** audit entries taken in */
  entries = 0;

  /** One audit entry; at: when the verdict was given (ms). A later one (or an equal time read later) replaces it. */
  add(e164: string, verdict: FeedbackVerdict, at: number): void {
    this.entries++;
    const known = this.latest.get(e164);
    if (!known || at >= known.at) this.latest.set(e164, { verdict, at });
  }

  /** how many numbers have a verdict */
  get numbers(): number {
    return this.latest.size;
  }

  /** the number's latest verdict, undefined when agents never judged it */
  of(e164: string): LatestVerdict | undefined {
    return this.latest.get(e164);
  }
}

/** The call's time in ms: its record's `at`, else the fallback (the log entry's append time). */
export function callTimeMs(record: Pick<ScreenedCallRecord, 'at'>, fallbackMs: number): number {
  const ms = Date.parse(record.at);
  return Number.isNaN(ms) ? fallbackMs : ms;
}

/** The truth of one call by the rules above; callMs: when it was screened. */
export function callTruth(
  record: Pick<ScreenedCallRecord, 'decision' | 'captcha'>,
  callMs: number,
  verdicts: AgentVerdicts,
): CallTruth {
  const caller = record.decision.caller;
  const agents = caller.kind === 'e164' ? verdicts.of(caller.e164) : undefined;
  if (agents)
    return {
      truth: agents.verdict === 'spam' ? 'spam' : 'good',
      source: agents.at >= callMs ? 'agent-after' : 'agent-before',
    };
  const outcome = record.captcha?.outcome;
  if (outcome === 'passed') return { truth: 'good', source: 'captcha-passed' };
  if (outcome === 'failed') return { truth: 'spam', source: 'captcha-failed' };
  return { truth: 'unknown', source: 'none' };
}
