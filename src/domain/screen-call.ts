/**
 * screenCall: the whole decision for one inbound call, from plain inputs. Pure: no I/O, no clock (the
 * call's time is an input).
 *
 * Precedence: an allow rule lets the call through whatever else is known (an allow-listed customer is
 * never challenged); then a deny rule; then the score: every signal adds its points, and the score
 * against the thresholds gives the verdict, past the CAPTCHA only when what is on record about the
 * number challenges on its own (./record-cap.ts). Policies for the DID and time of day then remap or cap the
 * verdict, and shadow mode lets the call through while the decision records what would have happened.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { HistoryLookup } from './caller-history';
import type { LookupAnswer } from './lookup-answer';
import { lookupSignals } from './lookup-signal';
import { capWithoutRecord } from './record-cap';
import { sumOfPoints, verdictRank, type Decision, type Reason, type Verdict } from './decision';
import { normalisePhoneNumber, type PhoneNumber } from './phone-number';
import { readVerstat, type Verstat } from './verstat';
import { describeWritten, isNameRule, type Rule, type RuleMatchContext, type RuleSet } from './rule-set';
import { didKey, resolveSettings, type ScreeningModel, type ScreeningSettings } from './screening-policy';
import type { Attestation } from './screening-settings';
import {
  attestationSignal,
  forwardedReason,
  identityMismatchSignal,
  knownCustomerSignal,
  blockReputationSignal,
  callerIdSignal,
  captchaSignal,
  countrySignal,
  neighbourSpoofingSignal,
  numberTypeSignal,
  repeatCallerSignal,
  reputationSignals,
  validitySignal,
  velocitySignals,
} from './signals';

/** A call as it arrives: caller ID and DID as the trunk gave them. */
export interface CallFacts {
  callerNumber: string;
  did: string;
  /** STIR/SHAKEN attestation from the dialplan: A, B, C, none or failed (anything else is ignored) */
  attestation?: string;
  /** the carrier's verstat parameter on the caller's number (./verstat.ts); used when there is no attestation */
  verstat?: string;
  /** the number in the From header, when the trunk asserts the caller elsewhere (P-Asserted-Identity) */
  fromNumber?: string;
  /** the number that forwarded the call to this DID (Diversion / History-Info, as Asterisk's REDIRECTING) */
  forwardedBy?: string;
  /** the region numbers without a country code are read with, when not the default (the trunk's) */
  region?: CountryCode;
  /** the caller's name as received (CALLERID(name)): name rules match it */
  callerName?: string;
  at: Date;
}

/** The call with its numbers normalised once. */
export interface NormalisedCall {
  caller: PhoneNumber;
  did: PhoneNumber;
  attestation?: Attestation;
  /** set when the attestation is the carrier's verstat (no attestation was handed over) */
  verstat?: Verstat;
  /** the From header's number, set only when it is a number other than the caller's */
  fromNumber?: PhoneNumber;
  /** the number that forwarded the call, when one did */
  forwardedBy?: PhoneNumber;
  /** the caller's name as received, when there is one (name rules normalise it themselves) */
  callerName?: string;
  at: Date;
}

export interface ScreeningInputs {
  rules: RuleSet;
  /** what Redis knew; undefined when it was not asked (no number to look up, or a rule decided) */
  history?: HistoryLookup;
  /** what the online lookup providers said (lookups:), one answer per provider consulted */
  lookups?: readonly LookupAnswer[];
}

/**
 * What the dialplan may hand over, lower-cased. A Map, not an object: the text comes from outside, and an
 * object would also answer for the names every object inherits ("constructor", "__proto__").
 */
const ATTESTATION_VALUES: ReadonlyMap<string, Attestation> = new Map([
  ['a', 'A'],
  ['b', 'B'],
  ['c', 'C'],
  ['none', 'none'],
  ['failed', 'failed'],
  ['fail', 'failed'],
]);

/** The attestation a text names (any case, spaces around ignored); undefined for anything else. */
export function normaliseAttestation(raw: string | undefined): Attestation | undefined {
  return raw === undefined ? undefined : ATTESTATION_VALUES.get(raw.trim().toLowerCase());
}

/**
 * A PBX has a handful of DIDs and every call normalises one: remember them (parsing one is a good part of
 * a decision's CPU time; docs/benchmarks.md). Bounded; the values are frozen and shared.
 */
const didCache = new Map<string, PhoneNumber>();
const DID_CACHE_SIZE = 1024;

export function normaliseDid(raw: string, defaultRegion: CountryCode): PhoneNumber {
  const key = `${defaultRegion}|${raw}`;
  let did = didCache.get(key);
  if (!did) {
    if (didCache.size >= DID_CACHE_SIZE) didCache.clear();
    did = Object.freeze(normalisePhoneNumber(raw, defaultRegion));
    didCache.set(key, did);
  }
  return did;
}

/**
 * The call's numbers normalised; `did`: the DID when it is normalised already (once per call); `caller`: the
 * caller when it is (a replay reuses the logged one).
 */
export function normaliseCall(
  facts: CallFacts,
  defaultRegion: CountryCode,
  did: PhoneNumber = normaliseDid(facts.did, defaultRegion),
  caller: PhoneNumber = normalisePhoneNumber(facts.callerNumber, defaultRegion),
): NormalisedCall {
  const call: NormalisedCall = {
    caller,
    did,
    at: facts.at,
  };
  const attestation = normaliseAttestation(facts.attestation);
  const verstat = attestation ? undefined : readVerstat(facts.verstat);
  if (attestation) call.attestation = attestation;
  else if (verstat) {
    call.attestation = verstat.attestation;
    call.verstat = verstat;
  }
  // the From number is parsed only when it can be another number (a parse is not free): not when it is
  // written as the caller is, nor when its digits (without leading zeros: trunk or international prefix)
  // end the caller's E.164 digits, as the same number written nationally does
  const from = facts.fromNumber?.trim();
  if (
    from &&
    call.caller.kind === 'e164' &&
    from !== facts.callerNumber.trim() &&
    !endsNumber(call.caller.e164, from)
  ) {
    const parsed = normalisePhoneNumber(from, defaultRegion);
    if (parsed.kind === 'e164' && parsed.e164 !== call.caller.e164) call.fromNumber = parsed;
  }
  const forwardedBy = facts.forwardedBy?.trim();
  if (forwardedBy) call.forwardedBy = normalisePhoneNumber(forwardedBy, defaultRegion);
  if (facts.callerName) call.callerName = facts.callerName;
  return call;
}

/** Do the digits of `written` (leading zeros dropped; at least 7 left) end the E.164 number `e164`? */
function endsNumber(e164: string, written: string): boolean {
  const digits = written.replace(/\D/g, '').replace(/^0+/, '');
  return digits.length >= 7 && e164.endsWith(digits);
}

/** The name rule that decides a call with this caller name (one without points), if any. */
export function decidingNameRule(name: string | undefined, rules: RuleSet, ctx: RuleMatchContext): Rule | undefined {
  const rule = name ? rules.matchName(name, ctx) : undefined;
  return rule?.points === undefined ? rule : undefined;
}

/** The name rule for the caller's name, if the call has a name and one applies. */
function matchNameRule(call: NormalisedCall, rules: RuleSet): Rule | undefined {
  return call.callerName === undefined ? undefined : rules.matchName(call.callerName, ruleContext(call.did, call.at));
}

/** What a rule's DID scope and expiry are checked against. */
export function ruleContext(did: PhoneNumber, now: Date): RuleMatchContext {
  return { did: { raw: did.raw, ...(did.kind === 'e164' && did.possible ? { e164: did.e164 } : {}) }, now };
}

/**
 * The region a call's numbers without a country code are read with: its DID group's
 * (numbers.didGroupRegions), else its trunk's (numbers.endpointRegions, facts.region), else the default.
 */
export function regionOfCall(facts: Pick<CallFacts, 'did' | 'region'>, model: ScreeningModel): CountryCode {
  const trunk = facts.region ?? model.defaultRegion;
  if (model.didRegions.size === 0) return trunk;
  return model.didRegions.get(didKey(normaliseDid(facts.did, trunk))) ?? trunk;
}

/** Screen a call from its raw facts with the policies of the model. */
export function screenCall(facts: CallFacts, inputs: ScreeningInputs, model: ScreeningModel): Decision {
  const call = normaliseCall(facts, regionOfCall(facts, model));
  return decideCall(call, inputs, resolveSettings(model, call.did, call.at));
}

/** Screen a call whose numbers are already normalised, with the settings its DID and time resolved to. */
export function decideCall(call: NormalisedCall, inputs: ScreeningInputs, settings: ScreeningSettings): Decision {
  return completeDecision(prepareDecision(call, inputs.rules, settings), inputs);
}

/**
 * The part of a call's decision its history cannot change: the rule that decides it (if one does), the
 * name rule that scores it, and the signals of the call itself. The live path works it out while the Redis
 * round trip is in flight, so only the history's signals and the verdict are left for after the answer
 * (docs/benchmarks.md "Why the decision is shaped this way").
 */
export interface PreparedDecision {
  readonly call: NormalisedCall;
  readonly settings: ScreeningSettings;
  /**
   * the allow or deny rule that decides the call, no history needed (the live path skips the round trip
   * then): a number rule, else a name rule without points. The number rule comes first because anyone can
   * send any name: a number the admin denied is not let through by the name it sends.
   */
  readonly rule: Rule | undefined;
  /** the reasons before the history's: the policies, the rules (deciding or scoring) */
  readonly leading: readonly Reason[];
  /** caller ID, validity, number type, country: the first signals, in this order */
  readonly numberSignals: ReadonlyArray<Reason | undefined>;
  /** attestation, identity mismatch, forwarding: the last signals, in this order */
  readonly callSignals: ReadonlyArray<Reason | undefined>;
  /** the call's time, ISO 8601 */
  readonly at: string;
}

export function prepareDecision(call: NormalisedCall, rules: RuleSet, settings: ScreeningSettings): PreparedDecision {
  const { caller, did, at } = call;
  const leading: Reason[] = [];
  if (settings.policies.length > 0)
    leading.push({
      code: 'policy',
      text: `polic${settings.policies.length === 1 ? 'y' : 'ies'} ${settings.policies.join(', ')} appl${settings.policies.length === 1 ? 'ies' : 'y'}`,
    });
  // the number's rule, else the name's (matched once): one without points decides, one with points scores
  const numberRule = caller.kind === 'e164' ? rules.match(caller.e164, ruleContext(did, at)) : undefined;
  const nameRule = numberRule ? undefined : matchNameRule(call, rules);
  const rule = numberRule ?? (nameRule?.points === undefined ? nameRule : undefined);
  const prepared = { call, settings, rule, leading, at: at.toISOString() };
  if (rule) {
    leading.push(ruleReason(rule, call));
    return { ...prepared, numberSignals: [], callSignals: [] };
  }
  if (nameRule) leading.push(ruleReason(nameRule, call));
  const numberSignals: Array<Reason | undefined> = [callerIdSignal(caller, settings)];
  if (caller.kind === 'e164')
    numberSignals.push(
      validitySignal(caller, settings),
      numberTypeSignal(caller, settings),
      countrySignal(caller, did, settings),
    );
  const callSignals = [
    attestationSignal(call.attestation, settings, call.verstat),
    identityMismatchSignal(caller, call.fromNumber, settings),
    forwardedReason(caller, call.forwardedBy),
  ];
  return { ...prepared, numberSignals, callSignals };
}

/** The decision of a prepared call with what Redis and the lookup providers said. */
export function completeDecision(prepared: PreparedDecision, inputs: Omit<ScreeningInputs, 'rules'>): Decision {
  const { call, settings, rule } = prepared;
  const { caller, did } = call;
  const reasons: Reason[] = [...prepared.leading];
  const degraded = inputs.history?.status === 'unavailable';
  const finish = ({ verdict, shadowVerdict }: { verdict: Verdict; shadowVerdict?: Verdict }): Decision => {
    const decision: Decision = {
      verdict,
      score: sumOfPoints(reasons),
      reasons,
      degraded,
      policies: settings.policies,
      caller,
      did,
      at: prepared.at,
    };
    if (shadowVerdict) decision.shadowVerdict = shadowVerdict;
    if (call.attestation) decision.attestation = call.attestation;
    if (call.verstat) decision.verstat = call.verstat.text;
    return decision;
  };
  if (rule) {
    if (rule.list === 'allow') return finish({ verdict: 'allow' });
    return finish(applyPolicy(settings.denyVerdict, settings, reasons));
  }

  if (inputs.history?.status === 'unavailable')
    reasons.push({
      code: 'history.unavailable',
      text: `reputation and call history not consulted: ${inputs.history.reason}`,
    });
  const history = inputs.history?.status === 'found' ? inputs.history.history : undefined;
  const atMs = call.at.getTime();
  const signals: Array<Reason | undefined> = [...prepared.numberSignals];
  if (caller.kind === 'e164') {
    // a number the business called is a customer: its block, its neighbours and its call rate say nothing
    const known = history ? knownCustomerSignal(history, atMs, settings) : undefined;
    if (history) {
      const velocity = known ? [] : velocitySignals(caller, history, settings);
      signals.push(
        known,
        ...reputationSignals(history, atMs, settings),
        known ? undefined : blockReputationSignal(caller, history, atMs, settings),
        ...lookupSignals(inputs.lookups),
        ...velocity,
        captchaSignal(history.captcha, atMs, settings),
        repeatCallerSignal(history, atMs, settings, velocity),
      );
    }
    if (!known) signals.push(neighbourSpoofingSignal(caller, did, history, atMs, settings));
  }
  signals.push(...prepared.callSignals);
  for (const s of signals) if (s) reasons.push(s);

  const score = sumOfPoints(reasons);
  const scored = verdictForScore(score, settings);
  reasons.push({ code: 'score', text: scoreText(score, scored, settings) });
  const capped = capWithoutRecord(scored, reasons, settings);
  if (capped) reasons.push(capped.reason);
  return finish(applyPolicy(capped?.verdict ?? scored, settings, reasons));
}

export function verdictForScore(score: number, settings: ScreeningSettings): Verdict {
  const t = settings.thresholds;
  if (score >= t.reject) return 'reject';
  if (score >= t.voicemail) return 'voicemail';
  if (score >= t.challenge) return 'challenge';
  return 'allow';
}

/** Remap, cap, then shadow: each step that changes the verdict leaves a reason. */
function applyPolicy(
  decided: Verdict,
  settings: ScreeningSettings,
  reasons: Reason[],
): { verdict: Verdict; shadowVerdict?: Verdict } {
  let verdict = decided;
  const mapped = settings.verdicts[verdict];
  if (mapped && mapped !== verdict) {
    reasons.push({
      code: 'policy.verdict',
      text: `${verdict} becomes ${mapped} by policy ${settings.policies.join(', ')}`,
    });
    verdict = mapped;
  }
  if (settings.maxVerdict && verdictRank(verdict) > verdictRank(settings.maxVerdict)) {
    reasons.push({
      code: 'policy.verdict',
      text: `${verdict} capped at ${settings.maxVerdict} by policy ${settings.policies.join(', ')}`,
    });
    verdict = settings.maxVerdict;
  }
  if (settings.shadow && verdict !== 'allow') {
    reasons.push({ code: 'policy.shadow', text: `shadow mode: would have been ${verdict}, let through` });
    return { verdict: 'allow', shadowVerdict: verdict };
  }
  return { verdict };
}

function scoreText(score: number, verdict: Verdict, settings: ScreeningSettings): string {
  const t = settings.thresholds;
  if (verdict === 'allow') return `score ${score} is below the challenge threshold ${t.challenge}`;
  return `score ${score} reaches the ${verdict} threshold ${t[verdict]}`;
}

/**
 * "+12015550123 denied by rules.yaml:12 (Harassing caller)", "caller name "SPAM RISK" matches name "*spam*":
 * denied by rules.yaml:40"; a name rule with points says what it adds and carries them (code rule.name).
 */
function ruleReason(rule: Rule, call: NormalisedCall): Reason {
  const where = `${rule.source.file}:${rule.source.line}`;
  const label = rule.label ? ` (${rule.label})` : '';
  const written = {
    list: rule.list,
    written: rule.written,
    source: rule.source,
    ...(rule.label !== undefined ? { label: rule.label } : {}),
  };
  if (isNameRule(rule)) {
    const how = `caller name "${call.callerName ?? ''}" matches ${describeWritten(rule)}`;
    if (rule.points !== undefined) {
      const points = rule.list === 'deny' ? rule.points : -rule.points;
      return { code: 'rule.name', text: `${how} (${rule.list} list) at ${where}${label}`, points, rule: written };
    }
    return {
      code: rule.list === 'allow' ? 'rule.allow' : 'rule.deny',
      text: `${how}: ${rule.list === 'allow' ? 'allowed' : 'denied'} by ${where}${label}`,
      rule: written,
    };
  }
  const e164 = call.caller.kind === 'e164' ? call.caller.e164 : call.caller.raw;
  const how = rule.match.kind === 'exact' ? e164 : `${e164} matches ${rule.written}`;
  return {
    code: rule.list === 'allow' ? 'rule.allow' : 'rule.deny',
    text: `${how} ${rule.list === 'allow' ? 'allowed' : 'denied'} by ${where}${label}`,
    rule: written,
  };
}
