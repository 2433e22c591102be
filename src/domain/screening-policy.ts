/**
 * Policies per DID (or DID group) and time window, applied on top of the screening defaults. Pure.
 *
 * Every policy whose DIDs and time windows match a call applies, in file order: a later policy's
 * values override an earlier one's, so a broad policy can come first and a narrow one after it. The
 * result is the ScreeningSettings one call is decided with; the decision names the policies applied.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Verdict } from './decision';
import { normalisePhoneNumber, type PhoneNumber } from './phone-number';
import type {
  CaptchaOverrides,
  DialplanTarget,
  PolicySettings,
  ScreeningDefaults,
  ScreeningSource,
  SignalOverrides,
  SignalSettings,
  Thresholds,
  WithoutRecordVerdict,
} from './screening-settings';
import { inAnyWindow, type WeeklyWindow } from './time-window';

/** What one call is decided with, after the policies that match it. */
export interface ScreeningSettings {
  defaultRegion: CountryCode;
  thresholds: Thresholds;
  denyVerdict: Verdict;
  /** the harshest verdict of a caller with less than the challenge threshold on record */
  withoutRecord: WithoutRecordVerdict;
  signals: SignalSettings;
  /** callers from elsewhere add the foreignCountry points; undefined: the DID's own country */
  expectedCountries?: readonly string[];
  /** the harshest verdict allowed */
  maxVerdict?: Verdict;
  /** verdict remapping, e.g. challenge -> voicemail */
  verdicts: Partial<Record<Verdict, Verdict>>;
  shadow: boolean;
  /** names of the policies applied, in order */
  policies: string[];
  /** the CAPTCHA overrides of the matching policies, merged (a later policy's values win; prompts per prompt); undefined: none */
  captcha?: CaptchaOverrides;
  /** the voicemail target of the last matching policy that names one; undefined: routing.voicemail */
  voicemail?: DialplanTarget;
}

export interface CompiledPolicy {
  config: PolicySettings;
  /** E.164 numbers (or DIDs as dialled, for DIDs that are not numbers); undefined: every DID */
  dids?: ReadonlySet<string>;
  when?: readonly WeeklyWindow[];
  timeZone: string;
}

export interface ScreeningModel {
  defaultRegion: CountryCode;
  /** DID (didKey) -> the region its calls are read with (numbers.didGroupRegions); empty: none */
  didRegions: ReadonlyMap<string, CountryCode>;
  base: ScreeningDefaults;
  policies: readonly CompiledPolicy[];
}

/** A policy problem with the config path it is at (the loader turns it into file:line:column). */
export interface PolicyProblem {
  path: (string | number)[];
  reason: string;
}

/** The key a DID is compared by: its E.164 form, or the text dialled when it is not a number ("s", "100"). */
export function didKey(did: PhoneNumber): string {
  return did.kind === 'e164' && did.possible ? did.e164 : did.raw.trim();
}

export function compileScreening(config: ScreeningSource): { model: ScreeningModel; problems: PolicyProblem[] } {
  const defaultRegion = config.numbers.defaultRegion;
  const problems: PolicyProblem[] = [];
  const groups = new Map<string, string[]>();
  for (const [name, list] of Object.entries(config.didGroups)) {
    // a group with a region of its own (numbers.didGroupRegions) may write its DIDs nationally in it
    const region = config.numbers.didGroupRegions?.[name] ?? defaultRegion;
    groups.set(
      name,
      list.map((written, i) => {
        const key = didFromText(written, region);
        if (key === undefined)
          problems.push({
            path: ['didGroups', name, i],
            reason: `"${written}" is not a DID (a phone number or the digits dialled)`,
          });
        return key ?? written;
      }),
    );
  }
  const policies = config.policies.map((policy, index): CompiledPolicy => {
    const compiled: CompiledPolicy = { config: policy, timeZone: policy.timeZone ?? config.screening.timeZone };
    if (policy.when) compiled.when = policy.when;
    if (policy.dids) {
      const dids = new Set<string>();
      policy.dids.forEach((written, i) => {
        const group = groups.get(written);
        if (group) return group.forEach((d) => dids.add(d));
        const key = didFromText(written, defaultRegion);
        if (key === undefined)
          problems.push({
            path: ['policies', index, 'dids', i],
            reason: `"${written}" is neither a DID group (didGroups: ${[...groups.keys()].join(', ') || 'none defined'}) nor a number`,
          });
        else dids.add(key);
      });
      compiled.dids = dids;
    }
    return compiled;
  });
  const names = new Set<string>();
  config.policies.forEach((p, i) => {
    if (names.has(p.name))
      problems.push({ path: ['policies', i, 'name'], reason: `policy name "${p.name}" is used twice` });
    names.add(p.name);
  });
  const didRegions = new Map<string, CountryCode>();
  for (const [name, region] of Object.entries(config.numbers.didGroupRegions ?? {})) {
    const group = groups.get(name);
    if (!group)
      problems.push({
        path: ['numbers', 'didGroupRegions', name],
        reason: `"${name}" is not a DID group (didGroups: ${[...groups.keys()].join(', ') || 'none defined'})`,
      });
    else for (const did of group) didRegions.set(did, region);
  }
  return { model: { defaultRegion, didRegions, base: config.screening, policies }, problems };
}

/** A DID as an admin writes it: a number in any notation, or the digits a trunk passes (e.g. "100"). */
function didFromText(written: string, region: CountryCode): string | undefined {
  const n = normalisePhoneNumber(written, region);
  if (n.kind === 'e164' && n.possible) return n.e164;
  const compact = written.trim();
  return /^[0-9+*#]+$/.test(compact) ? compact : undefined;
}

export function policyApplies(policy: CompiledPolicy, did: PhoneNumber, at: Date): boolean {
  if (policy.dids && !policy.dids.has(didKey(did))) return false;
  if (policy.when && !inAnyWindow(policy.when, at, policy.timeZone)) return false;
  return true;
}

/**
 * Settings per model and combination of matching policies: a call usually matches the same few
 * combinations, and merging them anew for every call would cost more than the rest of the decision.
 */
const resolved = new WeakMap<ScreeningModel, Map<string, ScreeningSettings>>();

/**
 * The last minute's settings per model and DID. Which policies match changes only at whole minutes (their
 * windows are HH:MM of a zone whose offset is whole minutes), so one resolution per DID and minute serves
 * every call to that DID in it; this runs before the call's Redis round trip is sent, so it is on the
 * decision's critical path (docs/benchmarks.md). Bounded: a trunk passing endless DIDs empties it.
 */
const thisMinute = new WeakMap<ScreeningModel, Map<string, { epochMinute: number; settings: ScreeningSettings }>>();
const MINUTE_CACHE_DIDS = 1024;

/** The settings one call is decided with: the defaults, then every matching policy in order. Frozen. */
export function resolveSettings(model: ScreeningModel, did: PhoneNumber, at: Date): ScreeningSettings {
  const epochMinute = Math.floor(at.getTime() / 60_000);
  let recent = thisMinute.get(model);
  if (!recent) thisMinute.set(model, (recent = new Map()));
  const key = didKey(did);
  const hit = recent.get(key);
  if (hit && hit.epochMinute === epochMinute) return hit.settings;
  const settings = matchPolicies(model, did, at);
  if (recent.size >= MINUTE_CACHE_DIDS) recent.clear();
  recent.set(key, { epochMinute, settings });
  return settings;
}

function matchPolicies(model: ScreeningModel, did: PhoneNumber, at: Date): ScreeningSettings {
  let byPolicies = resolved.get(model);
  if (!byPolicies) resolved.set(model, (byPolicies = new Map()));
  const matching = model.policies.filter((p) => policyApplies(p, did, at));
  const key = matching.map((p) => p.config.name).join('\n');
  let settings = byPolicies.get(key);
  if (!settings) {
    settings = Object.freeze(mergePolicies(model, matching));
    byPolicies.set(key, settings);
  }
  return settings;
}

function mergePolicies(model: ScreeningModel, matching: readonly CompiledPolicy[]): ScreeningSettings {
  const { base } = model;
  const settings: ScreeningSettings = {
    defaultRegion: model.defaultRegion,
    thresholds: base.thresholds,
    denyVerdict: base.denyVerdict,
    withoutRecord: base.withoutRecord,
    signals: base.signals,
    verdicts: {},
    shadow: false,
    policies: [],
  };
  if (base.expectedCountries) settings.expectedCountries = base.expectedCountries;
  for (const policy of matching) {
    const p = policy.config;
    settings.policies.push(p.name);
    if (p.thresholds) settings.thresholds = { ...settings.thresholds, ...p.thresholds };
    if (p.denyVerdict) settings.denyVerdict = p.denyVerdict;
    if (p.withoutRecord) settings.withoutRecord = p.withoutRecord;
    if (p.expectedCountries) settings.expectedCountries = p.expectedCountries;
    if (p.maxVerdict) settings.maxVerdict = p.maxVerdict;
    if (p.verdicts) settings.verdicts = { ...settings.verdicts, ...p.verdicts };
    if (p.shadow !== undefined) settings.shadow = p.shadow;
    if (p.signals) settings.signals = mergeSignals(settings.signals, p.signals);
    if (p.captcha)
      settings.captcha = {
        ...settings.captcha,
        ...p.captcha,
        prompts: { ...settings.captcha?.prompts, ...p.captcha.prompts },
      };
    if (p.voicemail) settings.voicemail = p.voicemail;
  }
  return settings;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** One level deep: a policy's `signals.captcha.passedPoints` replaces that one value; arrays replace whole. */
function mergeSignals(base: SignalSettings, overrides: SignalOverrides): SignalSettings {
  const merged: Writable<SignalSettings> = { ...base };
  for (const signal of Object.keys(overrides) as Array<keyof SignalSettings>)
    overrideSignal(merged, signal, overrides[signal]);
  return merged;
}

function overrideSignal<Signal extends keyof SignalSettings>(
  merged: Writable<SignalSettings>,
  signal: Signal,
  values: Partial<SignalSettings[Signal]> | undefined,
): void {
  if (values !== undefined) merged[signal] = { ...merged[signal], ...values };
}
