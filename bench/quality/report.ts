/**
 * bench/quality's tables: per kind of caller, the share of calls that reached the agents, were challenged,
 * ended in voicemail or were rejected; the headline figures with their targets (issue 13).
 */
import type { CallResult } from './runner';
import { KINDS, SPAM, type Kind } from './traffic';

export interface KindFigures {
  kind: Kind;
  spam: boolean;
  calls: number;
  /** shares 0..1 */
  agents: number;
  challenged: number;
  voicemailOrReject: number;
  /** legit calls sent to voicemail or rejected by the verdict itself, without a CAPTCHA (a count) */
  shutOut: number;
}

export interface Headline {
  spamToAgents: number;
  blockNeighboursToAgents: number;
  burstsToAgents: number;
  customersChallenged: number;
  /** legit calls sent to voicemail or rejected without a CAPTCHA chance (a count) */
  legitShutOut: number;
  degraded: number;
  calls: number;
}

/** how many calls scored with each list of reasons, most common first */
export type ReasonTally = Array<{ reasons: string; calls: number }>;

export interface RunFigures {
  kinds: KindFigures[];
  headline: Headline;
  /** what the spam that reached the agents scored with, most common first */
  spamThrough: ReasonTally;
  /** what the legit calls sent to voicemail or rejected without a CAPTCHA scored with, by kind */
  legitShutOut: ReasonTally;
  /** what the customers' calls that were challenged scored with, most common first */
  customersChallenged: ReasonTally;
  /** lookup reasons over the run, by their first words */
  lookups: Array<{ what: string; calls: number }>;
}

const share = (n: number, of: number): number => (of === 0 ? Number.NaN : n / of);
/** a legit call sent to voicemail or rejected by its verdict, without a CAPTCHA */
const shutOut = (r: CallResult): boolean => !r.call.spam && (r.verdict === 'voicemail' || r.verdict === 'reject');
const scoredWith = (r: CallResult): string => r.reasons.join(', ') || '(nothing)';

export function summarise(results: readonly CallResult[]): RunFigures {
  const kinds = KINDS.map((kind): KindFigures => {
    const of = results.filter((r) => r.call.kind === kind);
    return {
      kind,
      spam: SPAM[kind],
      calls: of.length,
      agents: share(of.filter((r) => r.route === 'agents').length, of.length),
      challenged: share(of.filter((r) => r.challenged).length, of.length),
      voicemailOrReject: share(of.filter((r) => r.route !== 'agents').length, of.length),
      shutOut: of.filter(shutOut).length,
    };
  });
  const spam = results.filter((r) => r.call.spam);
  const ofKind = (kind: Kind): CallResult[] => results.filter((r) => r.call.kind === kind);
  const toAgents = (rs: readonly CallResult[]): number =>
    share(rs.filter((r) => r.route === 'agents').length, rs.length);
  const customers = ofKind('customer');
  const challengedCustomers = customers.filter((r) => r.challenged);
  const headline: Headline = {
    spamToAgents: toAgents(spam),
    blockNeighboursToAgents: toAgents(ofKind('block-neighbour')),
    burstsToAgents: toAgents(ofKind('burst')),
    customersChallenged: share(challengedCustomers.length, customers.length),
    legitShutOut: kinds.reduce((sum, k) => sum + k.shutOut, 0),
    degraded: results.filter((r) => r.degraded).length,
    calls: results.length,
  };
  return {
    kinds,
    headline,
    spamThrough: byReasons(spam.filter((r) => r.route === 'agents').map(scoredWith)),
    legitShutOut: byReasons(results.filter(shutOut).map((r) => `${r.call.kind} to ${r.verdict}: ${scoredWith(r)}`)),
    customersChallenged: byReasons(challengedCustomers.map(scoredWith)),
    lookups: tally(results.flatMap((r) => r.lookups.map(lookupWhat))).map(([what, calls]) => ({ what, calls })),
  };
}

/** a lookup reason's kind: its text without the numbers and the provider's details */
function lookupWhat(text: string): string {
  return text
    .replace(/\d+(\.\d+)?/g, '#')
    .replace(/\(.*\)/, '')
    .trim()
    .slice(0, 70);
}

function byReasons(items: readonly string[]): ReasonTally {
  return tally(items).map(([reasons, calls]) => ({ reasons, calls }));
}

function tally(items: readonly string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

const pct = (x: number): string => (Number.isNaN(x) ? '    -' : `${(x * 100).toFixed(1)} %`.padStart(7));

/** the per-kind table: one column group per run (e.g. without and with the provider) */
export function kindTable(runs: ReadonlyArray<{ title: string; figures: RunFigures }>): string {
  const head1 = `${''.padEnd(22)}${''.padEnd(7)}${'calls'.padStart(6)}  ${runs.map((r) => r.title.padEnd(29)).join('  ')}`;
  const head2 = `${'kind'.padEnd(22)}${''.padEnd(7)}${''.padStart(6)}  ${runs.map(() => '  agents  challgd  vm/rej').join('     ')}`;
  const rows = KINDS.map((kind, i) => {
    const first = runs[0]?.figures.kinds[i];
    const cells = runs.map(({ figures }) => {
      const k = figures.kinds[i] as KindFigures;
      return `${pct(k.agents)}  ${pct(k.challenged)}  ${pct(k.voicemailOrReject)}`;
    });
    return `${kind.padEnd(22)}${(SPAM[kind] ? 'spam' : 'legit').padEnd(7)}${String(first?.calls ?? 0).padStart(6)}  ${cells.join('     ')}`;
  });
  return [head1, head2, ...rows].join('\n');
}

export interface Target {
  label: string;
  value: (h: Headline) => number;
  format: (x: number) => string;
  /** met when the value is at most this */
  max: number;
  target: string;
}

export const TARGETS: readonly Target[] = [
  { label: 'spam reaching the agents', value: (h) => h.spamToAgents, format: pct, max: 0.1, target: '<= 10 % with the provider' },
  { label: 'block neighbours reaching the agents', value: (h) => h.blockNeighboursToAgents, format: pct, max: 0.1, target: '<= 10 %' },
  { label: 'bursts reaching the agents', value: (h) => h.burstsToAgents, format: pct, max: 0.25, target: '<= 25 %' },
  { label: 'customers with caller ID challenged', value: (h) => h.customersChallenged, format: pct, max: 0.01, target: '<= 1 %' },
  {
    label: 'legit calls to voicemail/reject without a CAPTCHA',
    value: (h) => h.legitShutOut,
    format: (x) => String(x).padStart(7),
    max: 0,
    target: '0',
  },
]; // prettier-ignore

/** the headline figures of each run, the targets beside them (judged on the last run) */
export function headlineTable(runs: ReadonlyArray<{ title: string; figures: RunFigures }>): string {
  const width = Math.max(...TARGETS.map((t) => t.label.length)) + 2;
  const head = `${''.padEnd(width)}${runs.map((r) => r.title.padStart(18)).join('')}   target`;
  const rows = TARGETS.map((t) => {
    const values = runs.map((r) => t.value(r.figures.headline));
    const last = values[values.length - 1] as number;
    const verdict = Number.isNaN(last) ? '' : last <= t.max ? 'met' : 'MISSED';
    return `${t.label.padEnd(width)}${values.map((v) => t.format(v).padStart(18)).join('')}   ${t.target}: ${verdict}`;
  });
  return [head, ...rows].join('\n');
}

/** "12x [attestation +10]; 3x [(nothing)]": reason tallies as the report prints them */
export function scoredList(tally: ReasonTally): string {
  return tally.map((s) => `${s.calls}x [${s.reasons}]`).join('; ');
}

/** the day's floor: spam no source knows, which only a call's looks can give away */
export function unknownSpamLine({ calls, spam }: { calls: number; spam: number }): string {
  const share = spam === 0 ? 0 : (calls / spam) * 100;
  return `spam nothing on record knows: ${calls} calls, ${share.toFixed(1)} % of the spam (unlisted robocallers the provider has no report of, no imported number in their 1000-block)`;
}
