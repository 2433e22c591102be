/**
 * bench/quality's runner: plays a day of traffic through the real decision path (CallEvaluator with the
 * Redis caller-history store and, when configured, the online lookup service) and plays each call's
 * outcome the way the daemon would record it:
 *
 *   allow                        -> the agents: a person answered (recordReachedHuman, when the store has it)
 *   challenge, a person calling  -> passes the CAPTCHA (recordCaptchaOutcome passed, recordReachedHuman) -> agents
 *   challenge, a robot           -> fails it (recordCaptchaOutcome failed) -> captcha.failVerdict
 *   voicemail, reject            -> there
 *
 * Time: every call is decided at its simulated time (`at` follows the day). The day is replayed compressed
 * (`speedup`), except between two calls of the same number: the second one starts no sooner than the
 * simulated gap after the first, up to `lateAllowanceMs` of real time, so a lookup answer that came late
 * for the first call has had its real time to arrive (and be cached) before the second, as in a real day.
 */
import { performance } from 'node:perf_hooks';
import type { CallEvaluator, SettingsSnapshot } from '../../src/calls/call-evaluator';
import type { Decision, Verdict } from '../../src/domain/decision';
import { didKey } from '../../src/domain/screening-policy';
import type { TrafficCall } from './traffic';

/** the store's writes the runner plays; recordReachedHuman is absent before issue 13 */
export interface OutcomeRecorder {
  recordCaptchaOutcome(e164: string, outcome: 'passed' | 'failed', at: number): Promise<void>;
  recordReachedHuman?: (e164: string, did: string, at: number) => Promise<void>;
}

export type Route = 'agents' | 'voicemail' | 'reject';

export interface CallResult {
  call: TrafficCall;
  verdict: Verdict;
  /** where the call ended up after the CAPTCHA, if any */
  route: Route;
  challenged: boolean;
  degraded: boolean;
  /** reason codes with points, for the summary of what let spam through */
  reasons: string[];
  /** the lookup reasons' texts */
  lookups: string[];
}

export interface RunOptions {
  evaluator: CallEvaluator;
  snapshot: SettingsSnapshot;
  recorder: OutcomeRecorder;
  /** simulated ms per real ms for the day's clock */
  speedup: number;
  /** real time given at most between two calls of the same number (covers a lookup's timeout) */
  lateAllowanceMs: number;
  /** how long a CAPTCHA takes, simulated ms (its outcome is recorded this long after the call) */
  captchaMs?: number;
}

const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();

/** The simulated clock of a run: the day's time now (for the lookup service's rate limits and breakers). */
export class DayClock {
  private realStart = 0;
  private simStart = 0;

  constructor(private readonly speedup: number) {}

  start(simStart: number): void {
    this.simStart = simStart;
    this.realStart = performance.now();
  }

  /** the simulated time now, epoch ms */
  readonly now = (): number => this.simStart + (performance.now() - this.realStart) * this.speedup;

  /** real performance.now() when the simulated time `at` comes */
  realAt(at: number): number {
    return this.realStart + (at - this.simStart) / this.speedup;
  }
}

export async function runDay(
  calls: readonly TrafficCall[],
  options: RunOptions,
  clock: DayClock,
): Promise<CallResult[]> {
  const results = new Array<CallResult>(calls.length);
  const lanes = new Map<string, { tail: Promise<void>; realStart: number; at: number }>();
  const first = calls[0];
  if (!first) return [];
  clock.start(first.at);
  const failures: unknown[] = [];

  for (let i = 0; i < calls.length; i++) {
    const call = calls[i] as TrafficCall;
    await sleep(clock.realAt(call.at) - performance.now());
    const key = call.e164 ?? call.caller;
    const previous = lanes.get(key);
    const entry = { tail: Promise.resolve(), realStart: 0, at: call.at };
    entry.tail = (async () => {
      if (previous) {
        await previous.tail; // its realStart is set from here on
        await sleep(previous.realStart + Math.min(call.at - previous.at, options.lateAllowanceMs) - performance.now());
      }
      entry.realStart = performance.now();
      results[i] = await playCall(call, i, options);
    })().catch((e: unknown) => {
      failures.push(e);
    });
    lanes.set(key, entry);
  }
  await Promise.all([...lanes.values()].map((l) => l.tail));
  if (failures.length > 0) throw failures[0];
  return results;
}

async function playCall(call: TrafficCall, index: number, options: RunOptions): Promise<CallResult> {
  const { evaluator, snapshot, recorder } = options;
  const { decision } = await evaluator.evaluate(
    { callerNumber: call.callerNumber, did: call.did, attestation: call.attestation, at: new Date(call.at) },
    snapshot,
    { callId: `quality-${index}`, record: true },
  );
  const caller = decision.caller.kind === 'e164' ? decision.caller.e164 : undefined;
  const did = didKey(decision.did);
  const shadowed = decision.shadowVerdict !== undefined;
  let route: Route;
  let challenged = false;
  if (decision.verdict === 'allow') {
    route = 'agents';
    if (caller && !shadowed) await recorder.recordReachedHuman?.(caller, did, call.at + 2000);
  } else if (decision.verdict === 'challenge') {
    challenged = true;
    const outcomeAt = call.at + (options.captchaMs ?? 20_000);
    if (!call.spam) {
      route = 'agents';
      if (caller) {
        await recorder.recordCaptchaOutcome(caller, 'passed', outcomeAt);
        await recorder.recordReachedHuman?.(caller, did, outcomeAt);
      }
    } else {
      route = snapshot.config.captcha.failVerdict === 'reject' ? 'reject' : 'voicemail';
      if (caller) await recorder.recordCaptchaOutcome(caller, 'failed', outcomeAt);
    }
  } else {
    route = decision.verdict;
  }
  return {
    call,
    verdict: decision.verdict,
    route,
    challenged,
    degraded: decision.degraded,
    reasons: scoringReasons(decision),
    lookups: decision.reasons.filter((r) => r.code === 'lookup').map((r) => r.text),
  };
}

function scoringReasons(decision: Decision): string[] {
  return decision.reasons
    .filter((r) => r.points !== undefined && r.points !== 0)
    .map((r) => `${r.code} ${r.points! > 0 ? '+' : ''}${r.points}`);
}
