/**
 * The shadow report (`callscreen report shadow`, GET /api/v1/shadow): for each DID whose calls were
 * screened in shadow mode, what would have happened to them (allow, challenge, voicemail, reject), the
 * reasons that fired most, and what is known of their truth (./call-truth.ts). Pure and streaming: one
 * counter per DID, never the calls.
 *
 * A shadow call is one whose decision carries shadowVerdict (shadow mode let it through; the verdict
 * it would have had). Shadow mode leaves no mark on a call it would have allowed anyway, so those are
 * found by the policies the decision names: a call whose last applied policy that sets `shadow` sets it
 * true (the policies as configured now: a policy renamed or changed since is read as it is now).
 */
import { VERDICTS, type Verdict } from '../domain/decision';
import type { LoggedCall } from '../ports/call-log';
import { idMs } from '../call-log/call-log-query';
import { firedSignals, signalKey } from './call-handling';
import { callTimeMs, callTruth, type AgentVerdicts, type Truth } from './call-truth';
import { didGroup } from './accuracy-report';

export const TOP_SHADOW_REASONS = 5;

type VerdictCounts = Record<Verdict, number>;

export interface ShadowDid {
  did: string;
  /** shadow calls to the DID */
  calls: number;
  /** what would have happened */
  wouldHave: VerdictCounts;
  /** the signals that fired most on its shadow calls, with how many calls each */
  topReasons: { signal: string; calls: number }[];
  /** per truth, what would have happened */
  truth: Record<Truth, VerdictCounts>;
  /** known spam that would not have been allowed / known spam; null: none known */
  wouldCatchRate: number | null;
  /** known good callers that would have been challenged, sent to voicemail or rejected / known good */
  wouldErrorRate: number | null;
}

export interface ShadowReportResult {
  from: string;
  until: string;
  dids: ShadowDid[];
  /** calls read, shadow or not */
  callsRead: number;
  skipped: number;
}

const zero = (): VerdictCounts => ({ allow: 0, challenge: 0, voicemail: 0, reject: 0 });

interface DidCounter {
  calls: number;
  wouldHave: VerdictCounts;
  reasons: Map<string, number>;
  truth: Record<Truth, VerdictCounts>;
}

/**
 * The verdict shadow mode would have given the call, or undefined when it was not screened in shadow
 * mode. shadowPolicies: each configured policy's `shadow` setting, by name (policies without one absent).
 */
export function shadowVerdictOf(
  record: LoggedCall['record'],
  shadowPolicies: ReadonlyMap<string, boolean>,
): Verdict | undefined {
  const d = record.decision;
  if (d.shadowVerdict !== undefined) return d.shadowVerdict;
  let shadow = false;
  for (const name of d.policies) {
    const setting = shadowPolicies.get(name);
    if (setting !== undefined) shadow = setting;
  }
  return shadow && d.verdict === 'allow' ? 'allow' : undefined;
}

export class ShadowReport {
  private readonly dids = new Map<string, DidCounter>();
  private read = 0;
  private skippedCount = 0;

  constructor(
    private readonly verdicts: AgentVerdicts,
    private readonly shadowPolicies: ReadonlyMap<string, boolean> = new Map(),
  ) {}

  skipped(): void {
    this.skippedCount++;
  }

  add(call: LoggedCall): void {
    this.read++;
    const would = shadowVerdictOf(call.record, this.shadowPolicies);
    if (would === undefined) return;
    const did = didGroup(call.record.decision.did);
    let counter = this.dids.get(did);
    if (!counter)
      this.dids.set(
        did,
        (counter = {
          calls: 0,
          wouldHave: zero(),
          reasons: new Map(),
          truth: { spam: zero(), good: zero(), unknown: zero() },
        }),
      );
    counter.calls++;
    counter.wouldHave[would]++;
    for (const s of firedSignals(call.record.decision.reasons)) {
      const key = signalKey(s.code, s.direction);
      counter.reasons.set(key, (counter.reasons.get(key) ?? 0) + 1);
    }
    const { truth } = callTruth(call.record, callTimeMs(call.record, idMs(call.id)), this.verdicts);
    counter.truth[truth][would]++;
  }

  result(range: { fromMs: number; untilMs: number }): ShadowReportResult {
    const dids = [...this.dids.entries()]
      .map(([did, c]): ShadowDid => {
        const notAllowed = (v: VerdictCounts): number => v.challenge + v.voicemail + v.reject;
        const total = (v: VerdictCounts): number => VERDICTS.reduce((sum, verdict) => sum + v[verdict], 0);
        const spam = total(c.truth.spam);
        const good = total(c.truth.good);
        return {
          did,
          calls: c.calls,
          wouldHave: c.wouldHave,
          topReasons: [...c.reasons.entries()]
            .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
            .slice(0, TOP_SHADOW_REASONS)
            .map(([signal, calls]) => ({ signal, calls })),
          truth: c.truth,
          wouldCatchRate: spam === 0 ? null : notAllowed(c.truth.spam) / spam,
          wouldErrorRate: good === 0 ? null : notAllowed(c.truth.good) / good,
        };
      })
      .sort((a, b) => b.calls - a.calls || a.did.localeCompare(b.did));
    return {
      from: new Date(range.fromMs).toISOString(),
      until: new Date(range.untilMs).toISOString(),
      dids,
      callsRead: this.read,
      skipped: this.skippedCount,
    };
  }
}
