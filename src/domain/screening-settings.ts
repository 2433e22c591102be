/**
 * The settings the core decides with, in the shape the core reads them. The domain owns these types;
 * the configuration's zod schema is checked against them, so a schema that stops producing
 * what the core reads fails to compile there, and the core never imports the configuration.
 */
import type { CountryCode, PhoneNumberType } from 'libphonenumber-js';
import type { Verdict } from './decision';
import type { WeeklyWindow } from './time-window';

/** STIR/SHAKEN attestation as the dialplan hands it over. */
export type Attestation = 'A' | 'B' | 'C' | 'none' | 'failed';

/** Where a call continues in the dialplan. */
export interface DialplanTarget {
  readonly context: string;
  /** undefined: the DID the call came in on */
  readonly extension?: string;
  readonly priority: number;
}

/** A score at or above each threshold gives that verdict; below challenge: allow. */
export interface Thresholds {
  readonly challenge: number;
  readonly voicemail: number;
  readonly reject: number;
}

/** This many calls or more in the window (the call being screened included) add these points. */
export interface VelocityWindow {
  readonly windowSeconds: number;
  readonly calls: number;
  readonly points: number;
}

/** Points a signal adds to the score. */
export interface SignalPoints {
  readonly points: number;
}

export interface ReputationSignal {
  readonly weight: number;
  readonly halfLifeDays: number;
  readonly maxAgeDays: number;
  /** per source name: a weight (0..2) its score is multiplied by */
  readonly sources: Readonly<Record<string, { readonly weight: number }>>;
}

export interface FeedbackSignal {
  readonly okPoints: number;
  readonly spamPoints: number;
}

export interface VelocitySignal {
  readonly number: readonly VelocityWindow[];
  /** the number block: the caller's number without its last blockDigits digits (0: no block windows) */
  readonly blockDigits: number;
  readonly block: readonly VelocityWindow[];
}

export interface NeighbourSpoofingSignal {
  readonly differingDigits: number;
  readonly points: number;
}

export interface CaptchaSignal {
  readonly trustDays: number;
  readonly passedPoints: number;
  readonly failedDays: number;
  readonly failedPoints: number;
  readonly maxFailures: number;
}

export interface RepeatCallerSignal {
  readonly withinMinutes: number;
  readonly points: number;
}

/** A number calling several of the company's DIDs in a short window: a robot walking a number range. */
export interface DidSpreadSignal {
  /** distinct DIDs are counted over this window, seconds (the call being screened included); 0: off */
  readonly windowSeconds: number;
  /** this many distinct DIDs or more add the points */
  readonly dids: number;
  readonly points: number;
}

/**
 * The listed numbers of the caller's number block, for a caller that is not listed itself: points =
 * weight x their mean score x n^3 / (n^3 + halfAtNumbers^3) for n listed numbers (the source that gives
 * the most counts), so one listed number adds little and several add up to the weight.
 */
export interface BlockReputationSignal {
  /** the block: the number without its last blockDigits digits (3: the 1000-block); 0: off */
  readonly blockDigits: number;
  /** points for a block full of numbers of score 1 */
  readonly weight: number;
  /** listed numbers that give half the weight */
  readonly halfAtNumbers: number;
}

/** A number the business called: trusted for `days` after the last answered outbound call to it. */
export interface KnownCustomerSignal {
  readonly points: number;
  readonly days: number;
}

/** Every signal's settings: what each adds to the score and when. */
export interface SignalSettings {
  readonly reputation: ReputationSignal;
  readonly feedback: FeedbackSignal;
  readonly withheld: SignalPoints;
  readonly unparseable: SignalPoints;
  readonly invalidNumber: SignalPoints;
  readonly impossibleNumber: SignalPoints;
  /** points per kind of line (libphonenumber's number types); a type not named adds nothing */
  readonly numberType: Readonly<Partial<Record<PhoneNumberType, number>>>;
  readonly foreignCountry: SignalPoints;
  /** the From number is not the caller the carrier asserts */
  readonly identityMismatch: SignalPoints;
  readonly knownCustomer: KnownCustomerSignal;
  readonly attestation: Readonly<Record<Attestation, number>>;
  readonly velocity: VelocitySignal;
  readonly neighbourSpoofing: NeighbourSpoofingSignal;
  readonly captcha: CaptchaSignal;
  readonly repeatCaller: RepeatCallerSignal;
  readonly didSpread: DidSpreadSignal;
  readonly blockReputation: BlockReputationSignal;
}

/** how far how a call looks and the online lookups alone can take a caller: reject lets the score alone decide */
export type WithoutRecordVerdict = Exclude<Verdict, 'allow'>;

/** A policy's signal overrides: single values of each signal's settings. */
export type SignalOverrides = { readonly [Signal in keyof SignalSettings]?: Partial<SignalSettings[Signal]> };

/** What the base `screening` settings give the core before any policy applies. */
export interface ScreeningDefaults {
  /** the budget of one decision, ms: past it the call is decided on local facts (the caller of the core keeps it) */
  readonly deadlineMs: number;
  /** the time zone of policies' time windows that name none */
  readonly timeZone: string;
  readonly thresholds: Thresholds;
  /** what a deny-listed caller gets */
  readonly denyVerdict: Verdict;
  /** the harshest verdict of a caller with less than the challenge threshold on record (./record-cap.ts) */
  readonly withoutRecord: WithoutRecordVerdict;
  /** regions callers are expected from; undefined: the DID's own country */
  readonly expectedCountries?: readonly string[];
  readonly signals: SignalSettings;
}

export interface CaptchaPromptOverrides {
  readonly greeting?: readonly string[];
  readonly enterCode?: readonly string[];
  readonly wrong?: readonly string[];
  readonly passed?: readonly string[];
  readonly failed?: readonly string[];
}

/** A policy's CAPTCHA settings (the rest comes from the base CAPTCHA settings). */
export interface CaptchaOverrides {
  readonly codeLength?: number;
  readonly attempts?: number;
  readonly digitTimeoutMs?: number;
  readonly failVerdict?: 'voicemail' | 'reject';
  readonly language?: string;
  readonly prompts?: CaptchaPromptOverrides;
}

/** One policy: what it changes for the DIDs and time windows it names. */
export interface PolicySettings {
  readonly name: string;
  /** DIDs (numbers, or names of DID groups); undefined: every DID */
  readonly dids?: readonly string[];
  /** undefined: always */
  readonly when?: readonly WeeklyWindow[];
  /** the time zone of `when`; undefined: the defaults' */
  readonly timeZone?: string;
  readonly shadow?: boolean;
  /** the harshest verdict allowed */
  readonly maxVerdict?: Verdict;
  readonly verdicts?: Readonly<Partial<Record<Verdict, Verdict>>>;
  readonly denyVerdict?: Verdict;
  readonly withoutRecord?: WithoutRecordVerdict;
  readonly thresholds?: Partial<Thresholds>;
  readonly signals?: SignalOverrides;
  readonly expectedCountries?: readonly string[];
  readonly captcha?: CaptchaOverrides;
  readonly voicemail?: DialplanTarget;
}

/** What compileScreening reads: the region, the defaults, the DID groups and the policies. */
export interface ScreeningSource {
  readonly numbers: {
    readonly defaultRegion: CountryCode;
    /** region per DID group (didGroups): its DIDs' calls are read with it */
    readonly didGroupRegions?: Readonly<Record<string, CountryCode>>;
  };
  readonly screening: ScreeningDefaults;
  readonly didGroups: Readonly<Record<string, readonly string[]>>;
  readonly policies: readonly PolicySettings[];
}
