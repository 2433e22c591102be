/**
 * Signals: each looks at one fact about the call and, when it has something to say, gives a Reason
 * with the points it adds to the score. Pure; the settings say how many points (callscreen.yaml's
 * `screening.signals`, adjusted per DID and time by policies).
 */
import type { PhoneNumberType } from 'libphonenumber-js';
import type { CaptchaHistory, CallerHistory, SourceBlockCount, WindowCount } from './caller-history';
import type { Reason } from './decision';
import type { PhoneNumber } from './phone-number';
import { combineReputation, feedbackPoints, type SourceContribution } from './reputation';
import type { ScreeningSettings } from './screening-policy';
import type { Attestation } from './screening-settings';
import type { Verstat } from './verstat';

type E164Caller = PhoneNumber & { kind: 'e164' };
const DAY_MS = 86_400_000;

/** A withheld or unparseable caller ID. */
export function callerIdSignal(caller: PhoneNumber, s: ScreeningSettings): Reason | undefined {
  if (caller.kind === 'withheld') {
    return {
      code: 'caller.withheld',
      text: caller.raw.trim() === '' ? 'no caller ID' : `caller ID withheld ("${caller.raw}")`,
      points: s.signals.withheld.points,
    };
  }
  if (caller.kind === 'unparseable') {
    return {
      code: 'caller.unparseable',
      text: `caller ID ${JSON.stringify(caller.raw)} is not a phone number: ${caller.reason}`,
      points: s.signals.unparseable.points,
    };
  }
  return undefined;
}

/** A number that cannot exist: impossible length, or not in its numbering plan. */
export function validitySignal(caller: E164Caller, s: ScreeningSettings): Reason | undefined {
  if (!caller.possible)
    return {
      code: 'caller.impossible',
      text: `${caller.e164} has a length no number in its country has`,
      points: s.signals.impossibleNumber.points,
    };
  if (!caller.valid)
    return {
      code: 'caller.invalid',
      text: `${caller.e164} is not a valid number in its numbering plan`,
      points: s.signals.invalidNumber.points,
    };
  return undefined;
}

const TYPE_NAMES: Readonly<Record<PhoneNumberType, string>> = {
  PREMIUM_RATE: 'a premium-rate number',
  SHARED_COST: 'a shared-cost number',
  TOLL_FREE: 'a toll-free number (these do not normally place calls)',
  VOIP: 'a VoIP number',
  PERSONAL_NUMBER: 'a personal (follow-me) number',
  PAGER: 'a pager number',
  UAN: 'a universal access number',
  VOICEMAIL: 'a voicemail access number',
  FIXED_LINE: 'a fixed line',
  MOBILE: 'a mobile number',
  FIXED_LINE_OR_MOBILE: 'a fixed line or mobile number',
};

export function numberTypeSignal(caller: E164Caller, s: ScreeningSettings): Reason | undefined {
  if (!caller.type) return undefined;
  const points = ownValue(s.signals.numberType, caller.type);
  if (points === undefined || points === 0) return undefined;
  return { code: 'caller.number-type', text: `${caller.e164} is ${TYPE_NAMES[caller.type]}`, points };
}

/** The caller's country against the countries this DID expects callers from. */
export function countrySignal(caller: E164Caller, did: PhoneNumber, s: ScreeningSettings): Reason | undefined {
  if (!caller.country) return undefined;
  const expected = s.expectedCountries ?? [did.kind === 'e164' && did.country ? did.country : s.defaultRegion];
  if (expected.includes(caller.country)) return undefined;
  return {
    code: 'caller.foreign-country',
    text: `caller from ${caller.country}, this line expects callers from ${expected.join(', ')}`,
    points: s.signals.foreignCountry.points,
  };
}

/**
 * The From header names another number than the one the carrier asserts (P-Asserted-Identity), which is
 * the caller screened: a caller ID someone wrote, beside the one the network vouches for.
 */
export function identityMismatchSignal(
  caller: PhoneNumber,
  from: PhoneNumber | undefined,
  s: ScreeningSettings,
): Reason | undefined {
  if (from?.kind !== 'e164' || caller.kind !== 'e164') return undefined;
  const { points } = s.signals.identityMismatch;
  if (points === 0) return undefined;
  return {
    code: 'caller.identity-mismatch',
    text: `the From header says ${from.e164}, the carrier asserts ${caller.e164} (the number screened)`,
    points,
  };
}

/** A forwarded call is screened on its caller; the reason says who forwarded it (no points). */
export function forwardedReason(caller: PhoneNumber, forwardedBy: PhoneNumber | undefined): Reason | undefined {
  if (!forwardedBy) return undefined;
  const by = forwardedBy.kind === 'e164' ? forwardedBy.e164 : forwardedBy.raw;
  const screened = caller.kind === 'e164' ? `the caller ${caller.e164}` : 'the caller';
  return { code: 'caller.forwarded', text: `forwarded by ${by}: screened on ${screened}` };
}

const ATTESTATION_TEXT: Readonly<Record<Attestation, string>> = {
  A: 'STIR/SHAKEN attestation A: the carrier vouches for the caller and the number',
  B: 'STIR/SHAKEN attestation B: the carrier knows the caller, not that they may use this number',
  C: 'STIR/SHAKEN attestation C: the carrier only passed the call on (gateway)',
  none: 'no STIR/SHAKEN identity on the call',
  failed: 'STIR/SHAKEN verification failed: the caller ID may be spoofed',
};

const VERSTAT_TEXT: Readonly<Record<Attestation, string>> = {
  A: 'the carrier verified the caller ID (attestation A)',
  B: 'the carrier verified the caller ID',
  C: 'the carrier verified the caller ID (attestation C: a gateway passed the call on)',
  none: 'the carrier did not verify the caller ID',
  failed: 'the carrier could not verify the caller ID: it may be spoofed',
};

/**
 * `attestation`: as normaliseAttestation read it (src/domain/screen-call.ts), or the carrier's `verstat`
 * (scored as the attestation it means, explained in the carrier's words); raw text never gets here.
 */
export function attestationSignal(
  attestation: Attestation | undefined,
  s: ScreeningSettings,
  verstat?: Verstat,
): Reason | undefined {
  if (attestation === undefined) return undefined;
  const points = ownValue(s.signals.attestation, attestation);
  if (points === undefined) return undefined;
  const text = verstat ? `verstat ${verstat.text}: ${VERSTAT_TEXT[attestation]}` : ATTESTATION_TEXT[attestation];
  return { code: 'attestation', text, points };
}

/**
 * A settings table's own value for a key, never one every object inherits ("constructor", "toString"):
 * the tables are plain objects read from the configuration.
 */
function ownValue<K extends string, V>(table: Readonly<Partial<Record<K, V>>>, key: K): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The reputation list: every source's entry, faded by the age of its last report and weighted, combined
 * (src/domain/reputation.ts); and the agents' verdicts, whose `ok` overrules the feeds.
 */
export function reputationSignals(history: CallerHistory, at: number, s: ScreeningSettings): Reason[] {
  const view = history.reputation;
  const settings = s.signals.reputation;
  const reasons: Reason[] = [];
  if (view.entries.length === 0) {
    reasons.push({ code: 'reputation.unlisted', text: 'not on the reputation list', points: 0 });
  } else {
    const combined = combineReputation(view, at, settings);
    const points = combined.overruled ? 0 : Math.round(settings.weight * combined.score);
    const facts = combined.contributions.map(describeContribution).join('; ');
    const overruled = combined.overruled ? ' (overruled: agents said not spam)' : '';
    const value = Math.round(combined.score * 100) / 100;
    reasons.push({ code: 'reputation.listed', text: `on the reputation list${overruled}: ${facts}`, points, value });
  }
  const fb = view.feedback;
  const scored = feedbackPoints(fb, at, settings, s.signals.feedback);
  if (fb && scored) {
    const counts = `${fb.spam} spam, ${fb.ok} not spam`;
    const ago = formatAge(Math.max(0, (at - fb.lastAt) / DAY_MS));
    if (fb.last === 'ok')
      reasons.push({
        code: 'feedback.ok',
        text: `agents said not spam (${counts}; last ${ago} ago)`,
        points: scored.points,
      });
    else
      reasons.push({
        code: 'feedback.spam',
        text: `agents reported spam (${counts}; last ${ago} ago, weighs ${Math.round(scored.fade * 100)}%)`,
        points: scored.points,
      });
  }
  return reasons;
}

function describeContribution(c: SourceContribution): string {
  const e = c.entry;
  const facts = [
    `score ${clamp01(e.score)}`,
    e.reports ? `${e.reports} report${e.reports === 1 ? '' : 's'}` : undefined,
    e.category,
    c.ageDays !== undefined
      ? c.stale
        ? `last report ${formatAge(c.ageDays)} ago, too old: ignored`
        : `last report ${formatAge(c.ageDays)} ago, weighs ${Math.round(c.fade * 100)}%`
      : undefined,
  ].filter(Boolean);
  return `${e.source ?? 'list'} (${facts.join(', ')})`;
}

/**
 * Robocall bursts: per scope (the number, its block) the most points among the windows whose call count
 * is reached; and the number calling several of the company's DIDs (didSpreadSignal).
 */
export function velocitySignals(caller: E164Caller, history: CallerHistory, s: ScreeningSettings): Reason[] {
  const reasons: Reason[] = [];
  const { velocity } = s.signals;
  const number = busiestWindow(velocity.number, history.numberCalls);
  if (number) {
    reasons.push({
      code: 'velocity.number',
      text: `${number.calls} calls from ${caller.e164} in the last ${formatWindow(number.windowSeconds)} (${number.limit} or more add points)`,
      points: number.points,
      value: number.calls,
    });
  }
  if (velocity.blockDigits > 0) {
    const block = busiestWindow(velocity.block, history.blockCalls);
    if (block) {
      const masked = `${caller.e164.slice(0, -velocity.blockDigits)}${'x'.repeat(velocity.blockDigits)}`;
      reasons.push({
        code: 'velocity.block',
        text: `${block.calls} calls from the block ${masked} in the last ${formatWindow(block.windowSeconds)} (${block.limit} or more add points)`,
        points: block.points,
        value: block.calls,
      });
    }
  }
  const dids = didSpreadSignal(history, s);
  if (dids) reasons.push(dids);
  return reasons;
}

function busiestWindow(
  limits: ReadonlyArray<{ windowSeconds: number; calls: number; points: number }>,
  counts: readonly WindowCount[],
): { windowSeconds: number; calls: number; limit: number; points: number } | undefined {
  let best: { windowSeconds: number; calls: number; limit: number; points: number } | undefined;
  for (const limit of limits) {
    const count = counts.find((c) => c.windowSeconds === limit.windowSeconds);
    if (!count || count.calls < limit.calls) continue;
    if (!best || limit.points > best.points)
      best = { windowSeconds: limit.windowSeconds, calls: count.calls, limit: limit.calls, points: limit.points };
  }
  return best;
}

/**
 * A number the business called (an answered outbound call) within knownCustomer.days: a customer, not
 * a stranger. Undefined when it is not one; the caller of this decides which other signals then stand.
 */
export function knownCustomerSignal(history: CallerHistory, at: number, s: ScreeningSettings): Reason | undefined {
  const calledAt = history.calledByUsAt;
  const { points, days } = s.signals.knownCustomer;
  if (calledAt === undefined || at - calledAt > days * DAY_MS) return undefined;
  return {
    code: 'known-customer',
    text: `known customer: called by us ${formatAge(Math.max(0, (at - calledAt) / DAY_MS))} ago`,
    points,
  };
}

/** Trusted after a passed CAPTCHA; raised after failures since the last pass. */
export function captchaSignal(captcha: CaptchaHistory, at: number, s: ScreeningSettings): Reason | undefined {
  const c = s.signals.captcha;
  const passedRecently = captcha.lastPassedAt !== undefined && at - captcha.lastPassedAt <= c.trustDays * DAY_MS;
  const failedLast =
    captcha.lastFailedAt !== undefined &&
    (captcha.lastPassedAt === undefined || captcha.lastFailedAt > captcha.lastPassedAt);
  if (failedLast && captcha.failures > 0 && at - (captcha.lastFailedAt as number) <= c.failedDays * DAY_MS) {
    const counted = Math.min(captcha.failures, c.maxFailures);
    const ago = formatAge((at - (captcha.lastFailedAt as number)) / DAY_MS);
    return {
      code: 'captcha.failed',
      text: `failed the CAPTCHA ${captcha.failures} time${captcha.failures === 1 ? '' : 's'}, last ${ago} ago`,
      points: c.failedPoints * counted,
      value: captcha.failures,
    };
  }
  if (passedRecently) {
    return {
      code: 'captcha.passed',
      text: `passed the CAPTCHA ${formatAge((at - (captcha.lastPassedAt as number)) / DAY_MS)} ago: a person`,
      points: c.passedPoints,
    };
  }
  return undefined;
}

/**
 * Someone who rings the same line again within minutes, and reached a person on it last time (the call
 * went on to the agents, or the caller passed the CAPTCHA), is let through more easily: a distressed
 * caller ringing back. Never while the number calls in a burst (`velocity`: the reasons velocitySignals
 * gave; velocity.number or velocity.dids among them): a robot redialling is not a person ringing again.
 */
export function repeatCallerSignal(
  history: CallerHistory,
  at: number,
  s: ScreeningSettings,
  velocity: readonly Reason[] = [],
): Reason | undefined {
  const previous = history.reachedHumanAt;
  const { withinMinutes, points } = s.signals.repeatCaller;
  if (previous === undefined || withinMinutes <= 0 || at - previous > withinMinutes * 60_000 || at < previous)
    return undefined;
  if (velocity.some((r) => r.code === 'velocity.number' || r.code === 'velocity.dids')) return undefined;
  return {
    code: 'repeat-caller',
    text: `reached a person on this number ${formatAge((at - previous) / DAY_MS)} ago (calling again within ${withinMinutes} min)`,
    points,
  };
}

/**
 * DID walking: one number calling several of the company's DIDs within a short window is a robot
 * working through a number range, not a person (who rings one line, maybe a second).
 */
export function didSpreadSignal(history: CallerHistory, s: ScreeningSettings): Reason | undefined {
  const { windowSeconds, dids, points } = s.signals.didSpread;
  const called = history.didsCalled;
  if (called === undefined || windowSeconds <= 0 || called < dids) return undefined;
  return {
    code: 'velocity.dids',
    text: `called ${called} different numbers of this company in the last ${formatWindow(windowSeconds)} (${dids} or more add points)`,
    points,
    value: called,
  };
}

/**
 * Block reputation: a caller that is not listed itself, from a number block whose other numbers are.
 * Spam campaigns hold and spoof runs of numbers; one listed neighbour is common by chance (a list of a
 * few hundred thousand numbers touches a good share of all 1000-blocks), several are not. Points =
 * weight x mean score x n^3 / (n^3 + halfAtNumbers^3) for the source whose n listed numbers give the
 * most (sources overlap, so they are not added), its score weighted like its entries
 * (signals.reputation.sources). Nothing for a caller with a reputation of its own (an entry with a
 * score, agents' feedback) or trusted after a recent CAPTCHA pass.
 */
export function blockReputationSignal(
  caller: E164Caller,
  history: CallerHistory,
  at: number,
  s: ScreeningSettings,
): Reason | undefined {
  const settings = s.signals.blockReputation;
  const block = history.block;
  if (!block || settings.blockDigits <= 0 || block.blockDigits !== settings.blockDigits) return undefined;
  const own = history.reputation;
  if (own.feedback || own.entries.some((e) => e.score > 0)) return undefined;
  if (captchaSignal(history.captcha, at, s)?.code === 'captcha.passed') return undefined;
  let best: { count: SourceBlockCount; mean: number; value: number } | undefined;
  for (const count of block.counts) {
    if (!(count.numbers > 0)) continue;
    const mean = clamp01(count.scoreSum / count.numbers / 100);
    const weight = sourceWeight(s.signals.reputation.sources, count.source);
    if (!(weight > 0)) continue; // a source of weight 0 is ignored, as for the caller's own entries
    const value = clamp01(weight * mean) * blockSaturation(count.numbers, settings.halfAtNumbers);
    if (!best || value > best.value) best = { count, mean, value };
  }
  if (!best) return undefined;
  const n = best.count.numbers;
  const others = block.counts
    .filter((c) => c !== best.count && c.numbers > 0)
    .map((c) => `${c.numbers} on the ${c.source} list`);
  return {
    code: 'reputation.block',
    text:
      `${n} number${n === 1 ? '' : 's'} of ${maskedBlock(caller.e164, block.blockDigits)} ${n === 1 ? 'is' : 'are'} ` +
      `on the ${best.count.source} list (mean score ${Math.round(best.mean * 100) / 100})` +
      (others.length > 0 ? `; ${others.join(', ')}` : ''),
    points: Math.round(settings.weight * best.value),
    value: n,
  };
}

/** n^3 / (n^3 + half^3): 0.5 at `half`, ~0.9 at twice `half`; one listed number gives ~0.75 at half 0.7 (the default), ~0.04 at 3 */
export function blockSaturation(numbers: number, half: number): number {
  if (!(numbers > 0)) return 0;
  if (!(half > 0)) return 1;
  const n3 = numbers ** 3;
  return n3 / (n3 + half ** 3);
}

/** a source's weight from signals.reputation.sources (default 1) */
function sourceWeight(sources: Readonly<Record<string, { readonly weight: number }>>, name: string): number {
  return Object.hasOwn(sources, name) ? (sources[name]?.weight ?? 1) : 1;
}

/** the number with its last `digits` digits as x; a NANP number grouped as people write it (+1 606 284 6xxx) */
export function maskedBlock(e164: string, digits: number): string {
  const masked = `${e164.slice(0, e164.length - digits)}${'x'.repeat(digits)}`;
  return /^\+1[0-9]{10}$/.test(e164) ? `+1 ${masked.slice(2, 5)} ${masked.slice(5, 8)} ${masked.slice(8)}` : masked;
}

/**
 * Neighbour spoofing: a caller ID that looks like the called number with its last digits changed, from
 * someone not known (no recent CAPTCHA pass, no recent call to this line that reached a person: a
 * robot's own earlier call does not make it known). Without history (Redis down) "known" cannot be
 * checked and the signal applies.
 */
export function neighbourSpoofingSignal(
  caller: E164Caller,
  did: PhoneNumber,
  history: CallerHistory | undefined,
  at: number,
  s: ScreeningSettings,
): Reason | undefined {
  if (did.kind !== 'e164' || caller.e164 === did.e164 || caller.e164.length !== did.e164.length) return undefined;
  const { differingDigits, points } = s.signals.neighbourSpoofing;
  const shared = caller.e164.length - differingDigits;
  if (shared < 4 || caller.e164.slice(0, shared) !== did.e164.slice(0, shared)) return undefined;
  if (history) {
    const trustMs = s.signals.captcha.trustDays * DAY_MS;
    if (history.captcha.lastPassedAt !== undefined && at - history.captcha.lastPassedAt <= trustMs) return undefined;
    if (history.reachedHumanAt !== undefined) return undefined;
  }
  return {
    code: 'neighbour-spoofing',
    text: `${caller.e164} differs from the called number ${did.e164} only in its last ${differingDigits} digits (neighbour spoofing)`,
    points,
  };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} h`;
  if (seconds % 60 === 0) return seconds === 60 ? 'minute' : `${seconds / 60} min`;
  return `${seconds} s`;
}

export function formatAge(days: number): string {
  const seconds = days * 86_400;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (days < 2) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(days)} days`;
}
