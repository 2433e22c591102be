/**
 * bench/quality's traffic: one business day of inbound calls to a call centre, seeded and deterministic,
 * every call labelled with its kind and whether it is legit or spam. The kinds are drawn, not listed:
 * random numbers, random blocks of the robocall list, random times and DIDs, random counts around a
 * day's expected volume. Nothing here knows how callscreen scores a call; it is the measuring stick.
 *
 * The robocall list (a public list of numbers seen in robocalls) is split in two halves at random: one is
 * imported as a feed, the other supplies robocallers the list does not know. Block neighbours are fresh
 * numbers in the 1000-blocks of imported numbers (a campaign dialling from numbers beside its known ones).
 *
 * The online provider's knowledge is drawn here too: which callers it knows, as spam or as clean.
 */
import { isPossiblePhoneNumber, isValidPhoneNumber } from 'libphonenumber-js/max';

export const KINDS = [
  'customer',
  'withheld',
  'hotline-repeat',
  'listed-robocaller',
  'unlisted-robocaller',
  'block-neighbour',
  'neighbour-spoofing',
  'burst',
  'did-walker',
  'impossible',
] as const;
export type Kind = (typeof KINDS)[number];

/** what a kind of caller is: spam or not */
export const SPAM: Readonly<Record<Kind, boolean>> = {
  customer: false,
  withheld: false,
  'hotline-repeat': false,
  'listed-robocaller': true,
  'unlisted-robocaller': true,
  'block-neighbour': true,
  'neighbour-spoofing': true,
  burst: true,
  'did-walker': true,
  impossible: true,
};

export interface TrafficCall {
  /** epoch ms */
  at: number;
  /** the caller ID as the trunk sends it (national, E.164 or with a leading 1; 'anonymous' when withheld) */
  callerNumber: string;
  /** the caller's number in E.164 when it has one (the generator's own knowledge, never read by callscreen) */
  e164?: string;
  did: string;
  /** STIR/SHAKEN attestation handed over by the dialplan */
  attestation: Attestation;
  kind: Kind;
  spam: boolean;
  /** one caller (person or robot) across its calls */
  caller: string;
}

export type Attestation = 'A' | 'B' | 'C' | 'none' | 'failed';

/** What the online provider knows about a number: a spam score 0..100 and its reports (0 = known clean). */
export interface ProviderRecord {
  score: number;
  reports: number;
  category?: string;
}

export interface CompanyLines {
  /** the crisis hotline (a policy: never voicemail, repeat callers welcome) */
  hotline: string;
  /** every DID the company publishes, the hotline among them; legit callers' share of each */
  dids: ReadonlyArray<{ did: string; share: number }>;
}

export interface TrafficOptions {
  seed: number;
  /** the business day: epoch ms of its opening and closing times */
  opensAt: number;
  closesAt: number;
  /** every number on the robocall list (E.164), the ones to leave out already removed */
  robocallList: readonly string[];
  lines: CompanyLines;
  /** how many callers of each kind to expect in the day (drawn around these) */
  volume?: Partial<Volume>;
}

export interface Volume {
  customers: number;
  withheld: number;
  hotlineCallers: number;
  listedRobocallers: number;
  unlistedRobocallers: number;
  campaigns: number;
  spoofers: number;
  bursts: number;
  walkers: number;
  impossible: number;
}

/** a call centre's day: ~850 calls, about a third of them spam (the replayed day had ~800) */
export const DEFAULT_VOLUME: Volume = {
  customers: 430,
  withheld: 35,
  hotlineCallers: 12,
  listedRobocallers: 40,
  unlistedRobocallers: 45,
  campaigns: 12,
  spoofers: 30,
  bursts: 3,
  walkers: 4,
  impossible: 15,
};

export interface Traffic {
  /** in time order */
  calls: TrafficCall[];
  /** the half of the robocall list that is imported as a feed */
  imported: Set<string>;
  /** what the online provider knows, by E.164 */
  provider: Map<string, ProviderRecord>;
}

/** a small, fast, seeded generator (mulberry32): the same seed gives the same day */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** an integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** an item by weight */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  /** a count around `mean` (Poisson, by Knuth's method; means here are small enough) */
  count(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** standard normal (Box-Muller) */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

/** area codes of the callers: the city's own first, then the rest of the US and Canada */
const LOCAL_AREA_CODES = ['212', '646', '718', '917', '347', '332', '929', '516', '631', '914', '201', '973', '732'];
const NANP_AREA_CODES = [
  '203', '215', '267', '412', '617', '857', '312', '773', '305', '786', '404', '470', '214', '469', '713', '832',
  '602', '480', '702', '415', '510', '408', '213', '310', '818', '206', '503', '303', '612', '313', '216', '614',
  '704', '919', '615', '504', '801', '317', '414', '816', '202', '410', '757', '804', '843', '904', '407', '813',
]; // prettier-ignore
const CANADIAN_AREA_CODES = ['416', '647', '514', '438', '604', '613', '403', '905'];
/** foreign callers: country code and national significant number length */
const FOREIGN = [
  ['44', 10],
  ['49', 11],
  ['52', 10],
  ['91', 10],
  ['33', 9],
] as const;

/** a valid NANP number in one of `areaCodes` (exchange 2xx-9xx, never 555 or N11) */
export function nanpNumber(rng: Random, areaCodes: readonly string[]): string {
  for (;;) {
    const exchange = `${rng.int(2, 9)}${rng.digits(2)}`;
    if (exchange === '555' || exchange.endsWith('11')) continue;
    const e164 = `+1${rng.pick(areaCodes)}${exchange}${rng.digits(4)}`;
    if (isValidPhoneNumber(e164)) return e164;
  }
}

function foreignNumber(rng: Random): string {
  for (;;) {
    const [cc, length] = rng.pick(FOREIGN);
    const e164 = `+${cc}${rng.int(1, 9)}${rng.digits(length - 1)}`;
    if (isValidPhoneNumber(e164)) return e164;
  }
}

/** the caller ID a trunk sends for a number: NANP numbers mostly national, others international */
function callerIdOf(rng: Random, e164: string): string {
  if (!e164.startsWith('+1')) return rng.chance(0.5) ? e164 : `011${e164.slice(1)}`;
  return rng.weighted<string>([
    [e164.slice(2), 0.6],
    [e164.slice(1), 0.2],
    [e164, 0.2],
  ]);
}

/** the 1000-block of a number: all but its last three digits */
export const blockOf = (e164: string): string => e164.slice(0, -3);

/** legit callers' attestation: most carriers sign their customers' calls, many calls still arrive unsigned */
function legitAttestation(rng: Random): Attestation {
  return rng.weighted<Attestation>([
    ['A', 0.6],
    ['B', 0.1],
    ['C', 0.08],
    ['none', 0.217],
    ['failed', 0.003],
  ]);
}

/** robocallers come through gateways, unsigned, or with numbers they may not use */
function robotAttestation(rng: Random, spoofed: boolean): Attestation {
  return spoofed
    ? rng.weighted<Attestation>([
        ['A', 0.05],
        ['B', 0.15],
        ['C', 0.4],
        ['none', 0.35],
        ['failed', 0.05],
      ])
    : rng.weighted<Attestation>([
        ['A', 0.15],
        ['B', 0.2],
        ['C', 0.4],
        ['none', 0.24],
        ['failed', 0.01],
      ]);
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** people ring most mid-morning and mid-afternoon; a share of the day's hours by weight */
function peopleTime(rng: Random, opensAt: number, closesAt: number): number {
  const hours = Math.max(1, Math.round((closesAt - opensAt) / HOUR_MS));
  const weights = Array.from({ length: hours }, (_, h) => {
    const x = (h + 0.5) / hours; // 0..1 across the day
    return 0.6 + 0.5 * Math.exp(-(((x - 0.25) / 0.15) ** 2)) + 0.4 * Math.exp(-(((x - 0.65) / 0.15) ** 2));
  });
  const hour = rng.weighted(weights.map((w, h) => [h, w] as const));
  return Math.min(closesAt - 1, opensAt + hour * HOUR_MS + Math.floor(rng.next() * HOUR_MS));
}

/** robots dial evenly through the day */
function robotTime(rng: Random, opensAt: number, closesAt: number): number {
  return opensAt + Math.floor(rng.next() * (closesAt - opensAt));
}

/** Generate one business day of calls. */
export function generateTraffic(options: TrafficOptions): Traffic {
  const rng = new Random(options.seed);
  const volume = { ...DEFAULT_VOLUME, ...options.volume };
  const { opensAt, closesAt, lines } = options;
  const dids = lines.dids.map((d) => d.did);
  const calls: TrafficCall[] = [];
  const provider = new Map<string, ProviderRecord>();
  const onList = new Set(options.robocallList);
  const taken = new Set<string>([...onList, ...lines.dids.map((d) => d.did)]);

  const shuffled = rng.shuffle(options.robocallList);
  const half = Math.ceil(shuffled.length / 2);
  const imported = new Set(shuffled.slice(0, half));
  const importedList = shuffled.slice(0, half);
  const unlistedList = shuffled.slice(half);

  const fresh = (make: () => string): string => {
    for (;;) {
      const e164 = make();
      if (!taken.has(e164)) {
        taken.add(e164);
        return e164;
      }
    }
  };
  const legitDid = (): string => rng.weighted(lines.dids.map((d) => [d.did, d.share] as const));
  const add = (call: Omit<TrafficCall, 'spam' | 'callerNumber'> & { callerNumber?: string }): void => {
    const e164 = call.e164;
    calls.push({
      ...call,
      callerNumber: call.callerNumber ?? (e164 ? callerIdOf(rng, e164) : ''),
      spam: SPAM[call.kind],
    });
  };
  /** the provider knows a spam number with probability p */
  const knowSpam = (e164: string, p: number, category: string): void => {
    if (rng.chance(p)) provider.set(e164, { score: rng.int(60, 100), reports: rng.int(3, 400), category });
  };
  /** the provider knows a legit number: mostly as clean, rarely as spam (people report the wrong number) */
  const knowLegit = (e164: string): void => {
    if (rng.chance(0.005)) provider.set(e164, { score: rng.int(45, 85), reports: rng.int(1, 6), category: 'spam' });
    else if (rng.chance(0.25)) provider.set(e164, { score: rng.int(0, 10), reports: 0 });
  };

  // customers with a caller ID: many distinct numbers, some ring twice (a follow-up soon, or later on)
  const customers = rng.count(volume.customers);
  for (let i = 0; i < customers; i++) {
    const e164 = fresh(() =>
      rng.weighted<() => string>([
        [() => nanpNumber(rng, LOCAL_AREA_CODES), 0.6],
        [() => nanpNumber(rng, NANP_AREA_CODES), 0.32],
        [() => nanpNumber(rng, CANADIAN_AREA_CODES), 0.04],
        [() => foreignNumber(rng), 0.04],
      ])(),
    );
    knowLegit(e164);
    const attestation = legitAttestation(rng);
    const first = peopleTime(rng, opensAt, closesAt);
    const did = legitDid();
    const caller = `customer-${i}`;
    add({ at: first, e164, did, attestation, kind: 'customer', caller });
    if (rng.chance(0.15)) {
      const soon = rng.chance(0.4);
      const at = first + (soon ? rng.int(2, 15) * MINUTE_MS : rng.int(30, 300) * MINUTE_MS);
      if (at < closesAt)
        add({ at, e164, did: rng.chance(0.7) ? did : legitDid(), attestation, kind: 'customer', caller });
    }
  }

  // callers who withhold their number
  const withheld = rng.count(volume.withheld);
  for (let i = 0; i < withheld; i++) {
    add({
      at: peopleTime(rng, opensAt, closesAt),
      callerNumber: rng.weighted([
        ['anonymous', 0.6],
        ['', 0.2],
        ['Restricted', 0.2],
      ]),
      did: legitDid(),
      attestation: rng.chance(0.7) ? 'none' : 'A',
      kind: 'withheld',
      caller: `withheld-${i}`,
    });
  }

  // a distressed person ringing the hotline again within minutes, once or a few times
  const hotlineCallers = rng.count(volume.hotlineCallers);
  for (let i = 0; i < hotlineCallers; i++) {
    const hidden = rng.chance(0.15);
    const e164 = hidden
      ? undefined
      : fresh(() => nanpNumber(rng, rng.chance(0.7) ? LOCAL_AREA_CODES : NANP_AREA_CODES));
    if (e164) knowLegit(e164);
    const attestation = hidden ? 'none' : legitAttestation(rng);
    const caller = `hotline-${i}`;
    let at = peopleTime(rng, opensAt, closesAt);
    const rings = 1 + rng.int(1, 3);
    for (let r = 0; r < rings && at < closesAt; r++) {
      add({
        at,
        ...(e164 ? { e164 } : { callerNumber: 'anonymous' }),
        did: lines.hotline,
        attestation,
        kind: 'hotline-repeat',
        caller,
      });
      at += rng.int(60, 12 * 60) * 1000;
    }
  }

  /** a robot's calls through the day: once mostly, sometimes more, to any of the published DIDs */
  const robotCalls = (e164: string, kind: Kind, caller: string, attestation: Attestation, times: number): void => {
    for (let c = 0; c < times; c++)
      add({ at: robotTime(rng, opensAt, closesAt), e164, did: rng.pick(dids), attestation, kind, caller });
  };
  const robotTimes = (): number =>
    rng.weighted([
      [1, 0.65],
      [2, 0.25],
      [3, 0.1],
    ]);

  // robocallers on the imported half of the list, and on the half that is not imported
  for (const [kind, list, mean, known] of [
    ['listed-robocaller', importedList, volume.listedRobocallers, 0.75],
    ['unlisted-robocaller', unlistedList, volume.unlistedRobocallers, 0.55],
  ] as const) {
    const chosen = rng.shuffle(list).slice(0, Math.min(list.length, rng.count(mean)));
    chosen.forEach((e164, i) => {
      knowSpam(e164, known, 'robocall');
      robotCalls(e164, kind, `${kind}-${i}`, robotAttestation(rng, false), robotTimes());
    });
  }

  // campaigns dialling from fresh numbers in the 1000-blocks of listed numbers
  const campaigns = rng.count(volume.campaigns);
  for (let i = 0; i < campaigns; i++) {
    const block = blockOf(rng.pick(importedList));
    const numbers = rng.int(2, 7);
    const attestation = robotAttestation(rng, false);
    for (let n = 0; n < numbers; n++) {
      let tries = 0;
      const e164 = fresh(() => (tries++ < 50 ? `${block}${rng.digits(3)}` : nanpNumber(rng, NANP_AREA_CODES)));
      if (!isValidPhoneNumber(e164)) continue;
      knowSpam(e164, 0.35, 'robocall');
      robotCalls(e164, 'block-neighbour', `campaign-${i}-${n}`, attestation, robotTimes());
    }
  }

  // neighbour spoofing: the caller ID is the DID with its last digits changed
  const spoofers = rng.count(volume.spoofers);
  for (let i = 0; i < spoofers; i++) {
    const did = rng.pick(dids);
    const changed = rng.int(2, 4);
    const e164 = fresh(() => `${did.slice(0, -changed)}${rng.digits(changed)}`);
    if (rng.chance(0.1)) provider.set(e164, { score: rng.int(0, 10), reports: 0 }); // a neighbour's real line
    add({
      at: robotTime(rng, opensAt, closesAt),
      e164,
      did,
      attestation: robotAttestation(rng, true),
      kind: 'neighbour-spoofing',
      caller: `spoofer-${i}`,
    });
  }

  // one number calling every DID three times within a minute
  const bursts = Math.max(1, rng.count(volume.bursts));
  for (let i = 0; i < bursts; i++) {
    const e164 = fresh(() => nanpNumber(rng, NANP_AREA_CODES));
    knowSpam(e164, 0.5, 'robocall');
    const attestation = robotAttestation(rng, false);
    const start = robotTime(rng, opensAt, closesAt - MINUTE_MS);
    for (const did of dids)
      for (let c = 0; c < 3; c++)
        add({ at: start + rng.int(0, 59_000), e164, did, attestation, kind: 'burst', caller: `burst-${i}` });
  }

  // a robot walking the company's number range: each DID once, seconds apart
  const walkers = Math.max(1, rng.count(volume.walkers));
  const sortedDids = [...dids].sort();
  for (let i = 0; i < walkers; i++) {
    const e164 = fresh(() => nanpNumber(rng, NANP_AREA_CODES));
    knowSpam(e164, 0.5, 'telemarketer');
    const attestation = robotAttestation(rng, false);
    let at = robotTime(rng, opensAt, closesAt - 10 * MINUTE_MS);
    for (const did of sortedDids) {
      add({ at, e164, did, attestation, kind: 'did-walker', caller: `walker-${i}` });
      at += rng.int(3, 30) * 1000;
    }
  }

  // caller IDs of a length no number has (digits dropped or added by a robot's dialler)
  const impossible = rng.count(volume.impossible);
  for (let i = 0; i < impossible; i++) {
    let raw: string;
    do {
      const national = nanpNumber(rng, NANP_AREA_CODES).slice(2);
      raw = rng.chance(0.5) ? `+1${national.slice(0, rng.int(6, 8))}` : `+1${national}${rng.digits(rng.int(1, 2))}`;
    } while (isPossiblePhoneNumber(raw));
    add({
      at: robotTime(rng, opensAt, closesAt),
      callerNumber: raw,
      did: rng.pick(dids),
      attestation: rng.chance(0.5) ? 'C' : 'none',
      kind: 'impossible',
      caller: `impossible-${i}`,
    });
  }

  calls.sort((a, b) => a.at - b.at || a.caller.localeCompare(b.caller));
  return { calls, imported, provider };
}

/**
 * The spam calls nothing on record knows: robocallers off the imported half of the list whose number the
 * online provider has no spam record of and whose 1000-block holds no imported number. Only how such a
 * call looks (its attestation, its number) tells it from a customer's, so this share of the spam is a
 * floor for screening that does not challenge customers on looks alone; bursts and DID walkers are left out (their
 * behaviour gives them away), as are block neighbours and spoofers (their block or the DID does).
 */
export function spamNothingKnows(traffic: Traffic): { calls: number; spam: number } {
  const importedBlocks = new Set([...traffic.imported].map(blockOf));
  let calls = 0;
  let spam = 0;
  for (const call of traffic.calls) {
    if (!call.spam) continue;
    spam++;
    if (call.kind !== 'unlisted-robocaller' || call.e164 === undefined) continue;
    const known = traffic.provider.get(call.e164);
    if ((known === undefined || known.reports === 0) && !importedBlocks.has(blockOf(call.e164))) calls++;
  }
  return { calls, spam };
}
