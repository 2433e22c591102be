/**
 * The accuracy report (`callscreen report accuracy`, GET /api/v1/accuracy): of the calls whose truth
 * is known (./call-truth.ts), the share of known spam kept from the agents (the catch rate) and the
 * share of known good callers challenged, sent to voicemail or rejected (the error rate), with how
 * many calls have no known truth; per signal, how often it fired on known spam and on known good
 * callers. Pure and streaming: fed one call at a time, it keeps counters only (per group and per
 * signal), never the calls.
 *
 * Thin truth: a figure resting on fewer than THIN_KNOWN_CALLS known calls, or on known calls that are
 * under THIN_KNOWN_SHARE of the calls, says so next to it: a catch rate of 100 % from 3 known calls
 * says little, and one from 40 known calls out of 5,000 may say more about which calls get reported
 * than about the screening.
 */
import type { LoggedCall } from '../ports/call-log';
import { callHandling, firedSignals, signalKey, type SignalDirection } from './call-handling';
import { callTimeMs, callTruth, type AgentVerdicts, type TruthSource } from './call-truth';
import { idMs } from '../call-log/call-log-query';

export const THIN_KNOWN_CALLS = 30;
export const THIN_KNOWN_SHARE = 0.05;

export const GROUP_BY = ['week', 'did', 'signal'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** The headline figures of a set of calls. Rates are shares from 0 to 1, null when nothing is known to divide by. */
export interface AccuracyFigures {
  calls: number;
  /** calls with no known truth */
  unknown: number;
  /** how the known calls are known */
  truthFrom: Record<Exclude<TruthSource, 'none'>, number>;
  spam: {
    /** calls known to be spam */
    known: number;
    /** of those, kept from the agents (voicemail, reject, a challenge not passed) */
    keptFromAgents: number;
    /** of those, let through by shadow mode (they reached the agents) */
    shadowLetThrough: number;
    /** keptFromAgents / known */
    catchRate: number | null;
  };
  good: {
    /** calls known to be from a person */
    known: number;
    challenged: number;
    voicemail: number;
    rejected: number;
    /** (challenged + voicemail + rejected) / known */
    errorRate: number | null;
  };
  /** true when the truth is too thin for the figures to mean much; `thinReason` says why */
  thin: boolean;
  thinReason?: string;
}

export interface AccuracyGroup extends AccuracyFigures {
  /** the week's Monday (UTC, YYYY-MM-DD), the DID, or the signal */
  group: string;
}

export interface SignalFigures {
  /** the reason code, with "(towards good)" when it took points off */
  signal: string;
  code: string;
  direction: SignalDirection;
  /** calls it fired on */
  calls: number;
  onSpam: number;
  onGood: number;
  onUnknown: number;
  /** the share of the known calls it fired on that were what it pointed to (spam, or good); null: none known */
  precision: number | null;
  thin: boolean;
}

export interface AccuracyReportResult {
  /** ISO bounds of the calls read */
  from: string;
  until: string;
  by: GroupBy | null;
  overall: AccuracyFigures;
  groups: AccuracyGroup[];
  signals: SignalFigures[];
  /** the agents' verdicts the truth was taken from */
  feedback: { entries: number; numbers: number };
  /** log entries that were not call records, left out */
  skipped: number;
}

class FiguresCounter {
  calls = 0;
  unknown = 0;
  truthFrom: AccuracyFigures['truthFrom'] = {
    'agent-after': 0,
    'agent-before': 0,
    'captcha-passed': 0,
    'captcha-failed': 0,
  };
  spam = { known: 0, keptFromAgents: 0, shadowLetThrough: 0 };
  good = { known: 0, challenged: 0, voicemail: 0, rejected: 0 };

  add(call: LoggedCall, source: TruthSource, truth: 'spam' | 'good' | 'unknown'): void {
    this.calls++;
    if (source === 'none' || truth === 'unknown') {
      this.unknown++;
      return;
    }
    this.truthFrom[source]++;
    const handling = callHandling(call.record);
    if (truth === 'spam') {
      this.spam.known++;
      if (handling.keptFromAgents) this.spam.keptFromAgents++;
      if (handling.shadowVerdict !== undefined) this.spam.shadowLetThrough++;
      return;
    }
    this.good.known++;
    if (handling.verdict === 'challenge') this.good.challenged++;
    else if (handling.verdict === 'voicemail') this.good.voicemail++;
    else if (handling.verdict === 'reject') this.good.rejected++;
  }

  figures(): AccuracyFigures {
    const known = this.spam.known + this.good.known;
    const thinReason = thinTruth(known, this.calls);
    const errors = this.good.challenged + this.good.voicemail + this.good.rejected;
    return {
      calls: this.calls,
      unknown: this.unknown,
      truthFrom: { ...this.truthFrom },
      spam: { ...this.spam, catchRate: share(this.spam.keptFromAgents, this.spam.known) },
      good: { ...this.good, errorRate: share(errors, this.good.known) },
      thin: thinReason !== undefined,
      ...(thinReason !== undefined ? { thinReason } : {}),
    };
  }
}

/** why the truth under a figure is thin, or undefined when it is not */
export function thinTruth(known: number, calls: number): string | undefined {
  if (calls === 0) return 'no calls';
  if (known === 0) return `no call of ${calls} has a known truth`;
  if (known < THIN_KNOWN_CALLS)
    return `only ${known} of ${calls} calls have a known truth (fewer than ${THIN_KNOWN_CALLS})`;
  if (known < calls * THIN_KNOWN_SHARE)
    return `only ${known} of ${calls} calls have a known truth (under ${THIN_KNOWN_SHARE * 100} %)`;
  return undefined;
}

const share = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

interface SignalCounter {
  code: string;
  direction: SignalDirection;
  calls: number;
  onSpam: number;
  onGood: number;
}

/** The Monday (UTC) of the week a time falls in, as YYYY-MM-DD. */
export function weekOf(ms: number): string {
  const day = new Date(ms);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - sinceMonday))
    .toISOString()
    .slice(0, 10);
}

/** the name a call's DID is grouped under: its E.164 form, or what was dialled */
export function didGroup(did: LoggedCall['record']['decision']['did']): string {
  return did.kind === 'e164' ? did.e164 : did.raw;
}

/** Fed the calls of a range one by one (add), then asked for the figures (result). */
export class AccuracyReport {
  private readonly overall = new FiguresCounter();
  private readonly groups = new Map<string, FiguresCounter>();
  private readonly signals = new Map<string, SignalCounter>();
  private skippedCount = 0;

  constructor(
    private readonly verdicts: AgentVerdicts,
    private readonly by: GroupBy | undefined = undefined,
  ) {}

  /** an entry of the log that was not a call record */
  skipped(): void {
    this.skippedCount++;
  }

  add(call: LoggedCall): void {
    const callMs = callTimeMs(call.record, idMs(call.id));
    const { truth, source } = callTruth(call.record, callMs, this.verdicts);
    this.overall.add(call, source, truth);
    const fired = firedSignals(call.record.decision.reasons);
    for (const signal of fired) {
      const key = signalKey(signal.code, signal.direction);
      let counter = this.signals.get(key);
      if (!counter) this.signals.set(key, (counter = { ...signal, calls: 0, onSpam: 0, onGood: 0 }));
      counter.calls++;
      if (truth === 'spam') counter.onSpam++;
      else if (truth === 'good') counter.onGood++;
    }
    for (const group of this.groupsOf(
      call,
      callMs,
      fired.map((s) => signalKey(s.code, s.direction)),
    )) {
      let counter = this.groups.get(group);
      if (!counter) this.groups.set(group, (counter = new FiguresCounter()));
      counter.add(call, source, truth);
    }
  }

  private groupsOf(call: LoggedCall, callMs: number, signals: string[]): string[] {
    switch (this.by) {
      case 'week':
        return [weekOf(callMs)];
      case 'did':
        return [didGroup(call.record.decision.did)];
      case 'signal':
        // a call counts under every signal that fired on it; under "(no signal)" when none did
        return signals.length > 0 ? signals : [NO_SIGNAL];
      default:
        return [];
    }
  }

  result(range: { fromMs: number; untilMs: number }): AccuracyReportResult {
    const groups = [...this.groups.entries()].map(([group, counter]) => ({ group, ...counter.figures() }));
    // weeks and DIDs in order; signals with the most calls first
    if (this.by === 'signal') groups.sort((a, b) => b.calls - a.calls || a.group.localeCompare(b.group));
    else groups.sort((a, b) => a.group.localeCompare(b.group));
    const signals = [...this.signals.entries()]
      .map(([signal, c]): SignalFigures => {
        const known = c.onSpam + c.onGood;
        return {
          signal,
          code: c.code,
          direction: c.direction,
          calls: c.calls,
          onSpam: c.onSpam,
          onGood: c.onGood,
          onUnknown: c.calls - known,
          precision: share(c.direction === 'spam' ? c.onSpam : c.onGood, known),
          thin: known < THIN_KNOWN_CALLS,
        };
      })
      .sort((a, b) => b.calls - a.calls || a.signal.localeCompare(b.signal));
    return {
      from: new Date(range.fromMs).toISOString(),
      until: new Date(range.untilMs).toISOString(),
      by: this.by ?? null,
      overall: this.overall.figures(),
      groups,
      signals,
      feedback: { entries: this.verdicts.entries, numbers: this.verdicts.numbers },
      skipped: this.skippedCount,
    };
  }
}

export const NO_SIGNAL = '(no signal)';
