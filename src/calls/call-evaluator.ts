/**
 * CallEvaluator: one call's facts -> Decision, the same way for a live call (CallScreener) and for
 * `callscreen check`. It resolves the policies for the DID and time, asks Redis for the caller's history
 * in one round trip bounded by the decision deadline, and hands everything to the pure core.
 *
 * It decides with the settings snapshot it is handed (read once when the call arrived) and returns the
 * decision with what it was decided with - the normalised call, the resolved settings, the snapshot -
 * so the route uses exactly those: a reload during the call applies to the next one.
 *
 * A rule match needs no history (allow beats everything, deny beats the score), so those calls cost no
 * round trip. A lookup that fails or is late leaves the history unavailable: the decision is taken on
 * local facts and marked degraded; it is never late.
 */
import { performance } from 'node:perf_hooks';
import type { CallscreenConfig } from '../config/schema';
import type { HistoryLookup } from '../domain/caller-history';
import type { Decision } from '../domain/decision';
import { DECISION_INPUTS_VERSION, type DecisionInputs } from '../domain/decision-inputs';
import { guessE164, type PhoneNumber } from '../domain/phone-number';
import type { RuleSet } from '../domain/rule-set';
import {
  completeDecision,
  prepareDecision,
  decidingNameRule,
  regionOfCall,
  normaliseCall,
  normaliseDid,
  ruleContext,
  type CallFacts,
  type NormalisedCall,
} from '../domain/screen-call';
import { didKey, resolveSettings, type ScreeningModel, type ScreeningSettings } from '../domain/screening-policy';
import { errorText } from '../errors/error-text';
import type { CallerHistoryQuery, CallerHistoryStore } from '../ports/caller-history-store';
import type { LookupService } from '../reputation/lookups/lookup-service';

/** The settings in force when a call arrives, read once: the call is decided and routed with these. */
export interface SettingsSnapshot {
  /** the configuration (screening.deadlineMs is the decision budget; captcha, tags, routing for the route) */
  config: CallscreenConfig;
  /** the screening defaults with the policies compiled */
  screening: ScreeningModel;
  /** the rules in force: the rules file's and the managed allow list's */
  rules: RuleSet;
}

export interface CallEvaluatorDeps {
  history: CallerHistoryStore;
  /** online lookup providers (lookups:); absent or none configured: no lookups */
  lookups?: LookupService;
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
  /**
   * ms a call is expected to be held after its lookup wait (HoldOvershoot): online lookups stop waiting
   * this much before lookups.budgetMs is up, so the call's whole hold stays inside the budget
   */
  lookupReserveMs?: number;
}

export interface Evaluation {
  decision: Decision;
  /** the call with its numbers normalised (once) */
  call: NormalisedCall;
  /** what the call was decided with: the screening defaults and the policies matching its DID and time */
  settings: ScreeningSettings;
  /** the settings in force it was decided with */
  snapshot: SettingsSnapshot;
  /** how long the history lookup took, ms (absent when none was made) */
  historyMs?: number;
  /** what the decision was made from, kept in the screened-call log for `callscreen replay` */
  inputs: DecisionInputs;
}

export class CallEvaluator {
  constructor(private readonly deps: CallEvaluatorDeps) {}

  /** Decide one call with `snapshot`: the settings in force when it arrived. */
  async evaluate(facts: CallFacts, snapshot: SettingsSnapshot, options: EvaluateOptions): Promise<Evaluation> {
    const startedAt = options.startedAt ?? performance.now();
    const { screening: model, rules } = snapshot;
    const deadline = { startedAt, deadlineMs: snapshot.config.screening.deadlineMs };

    // Start the Redis round trip before the expensive part of normalising the caller (libphonenumber's
    // parse; docs/benchmarks.md) so the two overlap; the guess is checked against the full normalisation below.
    // numbers without a country code: the DID group's or the trunk's region when it has one
    const region = regionOfCall(facts, model);
    const guess = options.skipHistory ? undefined : guessE164(facts.callerNumber, region);
    const did = normaliseDid(facts.did, region);
    const settings = resolveSettings(model, did, facts.at);
    // a rule that decides needs no round trip (nor records the call): the number's, or the caller name's
    const ctx = ruleContext(did, facts.at);
    const early =
      guess !== undefined && !rules.match(guess, ctx) && !decidingNameRule(facts.callerName, rules, ctx)
        ? this.lookup(guess, did, facts.at, settings, options, deadline)
        : undefined;
    // online lookups: their cache is read beside the history (same wait), the providers asked once it is known
    const lookupCache =
      early && guess !== undefined && this.deps.lookups?.enabled ? this.deps.lookups.prefetch(guess) : undefined;

    const call = normaliseCall(facts, region, did);
    const { at: _at, ...kept } = facts;
    const evaluated = (decision: Decision, inputs: Omit<DecisionInputs, 'v' | 'facts'> = {}): Evaluation => ({
      decision,
      call,
      settings,
      snapshot,
      inputs: { v: DECISION_INPUTS_VERSION, facts: kept, ...inputs },
    });
    // everything the history cannot change is worked out while the round trip is in flight
    const prepared = prepareDecision(call, rules, settings);
    if (call.caller.kind !== 'e164' || prepared.rule) return evaluated(completeDecision(prepared, {}));
    if (options.skipHistory) {
      const history: HistoryLookup = { status: 'unavailable', reason: options.skipHistory };
      return evaluated(completeDecision(prepared, { history }), { history });
    }

    const { history, ms: historyMs } =
      early && guess === call.caller.e164
        ? await early
        : await this.lookup(call.caller.e164, did, call.at, settings, options, deadline);
    // no providers configured: no await at all (a turn of the event loop is a measurable part of a decision)
    const lookups = this.deps.lookups?.enabled
      ? await this.deps.lookups.consult({
          e164: call.caller.e164,
          callId: options.callId,
          at: call.at,
          history,
          settings,
          ...deadline,
          ...(options.lookupReserveMs !== undefined ? { reserveMs: options.lookupReserveMs } : {}),
          ...(lookupCache && guess === call.caller.e164 ? { cached: lookupCache } : {}),
        })
      : undefined;
    const used = { history, ...(lookups ? { lookups } : {}) };
    return { ...evaluated(completeDecision(prepared, used), used), historyMs };
  }

  private async lookup(
    e164: string,
    did: PhoneNumber,
    at: Date,
    settings: ScreeningSettings,
    options: EvaluateOptions,
    deadline: Deadline,
  ): Promise<{ history: HistoryLookup; ms: number }> {
    const started = performance.now();
    const history = await this.fetchHistory(historyQuery(e164, did, at, settings, options), deadline);
    return { history, ms: Math.round((performance.now() - started) * 100) / 100 };
  }

  private async fetchHistory(query: CallerHistoryQuery, { startedAt, deadlineMs }: Deadline): Promise<HistoryLookup> {
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

/** The decision budget of one call: screening.deadlineMs from when the call arrived (performance.now()). */
interface Deadline {
  startedAt: number;
  deadlineMs: number;
}

/** The windows and memory a set of (frozen, shared) settings asks Redis for, worked out once. */
const windowsOf = new WeakMap<
  ScreeningSettings,
  Pick<
    CallerHistoryQuery,
    | 'numberWindowsSeconds'
    | 'blockWindowsSeconds'
    | 'blockDigits'
    | 'repeatWithinSeconds'
    | 'didWindowSeconds'
    | 'blockReputationDigits'
  >
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
    const { velocity, repeatCaller, didSpread, blockReputation } = settings.signals;
    windows = {
      numberWindowsSeconds: unique(velocity.number.map((w) => w.windowSeconds)),
      blockWindowsSeconds: velocity.blockDigits > 0 ? unique(velocity.block.map((w) => w.windowSeconds)) : [],
      blockDigits: velocity.blockDigits,
      repeatWithinSeconds: Math.max(1, Math.round(repeatCaller.withinMinutes * 60)),
      didWindowSeconds: didSpread.windowSeconds > 0 ? didSpread.windowSeconds : 0,
      blockReputationDigits: blockReputation.blockDigits > 0 ? blockReputation.blockDigits : 0,
    };
    windowsOf.set(settings, windows);
  }
  return { e164, did: didKey(did), at: at.getTime(), callId: options.callId, ...windows, record: options.record };
}

const unique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
