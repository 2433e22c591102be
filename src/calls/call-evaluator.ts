/**
 * CallEvaluator: one call's facts -> Decision, the same way for a live call (CallScreener) and for
 * `callscreen check`. It resolves the policies for the DID and time, asks Redis for the caller's history
 * in one round trip bounded by the decision deadline, and hands everything to the pure core.
 *
 * A rule match needs no history (allow beats everything, deny beats the score), so those calls cost no
 * round trip. A lookup that fails or is late leaves the history unavailable: the decision is taken on
 * local facts and marked degraded; it is never late.
 */
import { performance } from 'node:perf_hooks';
import type { HistoryLookup } from '../domain/caller-history';
import type { Decision } from '../domain/decision';
import { guessE164, type PhoneNumber } from '../domain/phone-number';
import type { RuleSet } from '../domain/rule-set';
import {
  decideCall,
  matchRule,
  normaliseCall,
  normaliseDid,
  ruleContext,
  type CallFacts,
  type NormalisedCall,
} from '../domain/screen-call';
import { didKey, resolveSettings, type ScreeningModel, type ScreeningSettings } from '../domain/screening-policy';
import { errorText } from '../errors/error-text';
import type { CallerHistoryQuery, CallerHistoryStore } from '../ports/caller-history-store';

export interface CallEvaluatorDeps {
  history: CallerHistoryStore;
  /** the screening settings and policies in force (may be swapped on reload) */
  model: () => ScreeningModel;
  /** the rules in force (swapped on reload) */
  rules: () => RuleSet;
  /** the decision budget in force, ms (screening.deadlineMs; may change on reload) */
  deadlineMs: () => number;
}

export interface EvaluateOptions {
  /** unique per call: the channel id for a live call */
  callId: string;
  /** live calls are recorded (velocity, repeat caller); `check` records nothing */
  record: boolean;
  /** performance.now() when the call arrived; the deadline counts from here (default: now) */
  startedAt?: number;
  /** set while the daemon drains: no Redis lookups, decide on local facts */
  skipHistory?: string;
}

export interface Evaluation {
  decision: Decision;
  call: NormalisedCall;
  /** how long the history lookup took, ms (absent when none was made) */
  historyMs?: number;
}

export class CallEvaluator {
  constructor(private readonly deps: CallEvaluatorDeps) {}

  async evaluate(facts: CallFacts, options: EvaluateOptions): Promise<Evaluation> {
    const startedAt = options.startedAt ?? performance.now();
    const model = this.deps.model();
    const rules = this.deps.rules();

    // Start the Redis round trip before the expensive part of normalising the caller (libphonenumber,
    // ~25 us) so the two overlap; the guess is checked against the full normalisation below.
    const guess = options.skipHistory ? undefined : guessE164(facts.callerNumber, model.defaultRegion);
    const did = normaliseDid(facts.did, model.defaultRegion);
    const settings = resolveSettings(model, did, facts.at);
    const early =
      guess !== undefined && !rules.match(guess, ruleContext(did, facts.at))
        ? this.lookup(guess, did, facts.at, settings, options, startedAt)
        : undefined;

    const call = normaliseCall(facts, model.defaultRegion);
    if (call.caller.kind !== 'e164' || matchRule(call, rules))
      return { decision: decideCall(call, { rules }, settings), call };
    if (options.skipHistory)
      return {
        decision: decideCall(
          call,
          { rules, history: { status: 'unavailable', reason: options.skipHistory } },
          settings,
        ),
        call,
      };

    const { history, ms: historyMs } =
      early && guess === call.caller.e164
        ? await early
        : await this.lookup(call.caller.e164, did, call.at, settings, options, startedAt);
    return { decision: decideCall(call, { rules, history }, settings), call, historyMs };
  }

  private async lookup(
    e164: string,
    did: PhoneNumber,
    at: Date,
    settings: ScreeningSettings,
    options: EvaluateOptions,
    startedAt: number,
  ): Promise<{ history: HistoryLookup; ms: number }> {
    const started = performance.now();
    const history = await this.fetchHistory(historyQuery(e164, did, at, settings, options), startedAt);
    return { history, ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  private async fetchHistory(query: CallerHistoryQuery, startedAt: number): Promise<HistoryLookup> {
    const deadlineMs = this.deps.deadlineMs();
    const budget = Math.max(0, deadlineMs - (performance.now() - startedAt));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<HistoryLookup>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: 'unavailable', reason: `no answer within the ${deadlineMs} ms deadline` }),
        budget,
      );
    });
    const lookup = this.deps.history.fetch(query).then(
      (history): HistoryLookup => ({ status: 'found', history }),
      (e: unknown): HistoryLookup => ({ status: 'unavailable', reason: `Redis failed: ${errorText(e)}` }),
    );
    try {
      return await Promise.race([lookup, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The windows and memory a set of (frozen, shared) settings asks Redis for, worked out once. */
const windowsOf = new WeakMap<
  ScreeningSettings,
  Pick<CallerHistoryQuery, 'numberWindowsSeconds' | 'blockWindowsSeconds' | 'blockDigits' | 'repeatWithinSeconds'>
>();

/** What to ask Redis for this call: the windows and memory the settings for its DID and time use. */
export function historyQuery(
  e164: string,
  did: PhoneNumber,
  at: Date,
  settings: ScreeningSettings,
  options: Pick<EvaluateOptions, 'callId' | 'record'>,
): CallerHistoryQuery {
  let windows = windowsOf.get(settings);
  if (!windows) {
    const { velocity, repeatCaller } = settings.signals;
    windows = {
      numberWindowsSeconds: unique(velocity.number.map((w) => w.windowSeconds)),
      blockWindowsSeconds: velocity.blockDigits > 0 ? unique(velocity.block.map((w) => w.windowSeconds)) : [],
      blockDigits: velocity.blockDigits,
      repeatWithinSeconds: Math.max(1, Math.round(repeatCaller.withinMinutes * 60)),
    };
    windowsOf.set(settings, windows);
  }
  return { e164, did: didKey(did), at: at.getTime(), callId: options.callId, ...windows, record: options.record };
}

const unique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
