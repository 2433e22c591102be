import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { isPossiblePhoneNumber, isValidPhoneNumber } from 'libphonenumber-js/max';
import {
  blockOf,
  generateTraffic,
  KINDS,
  SPAM,
  spamNothingKnows,
  type CompanyLines,
  type TrafficCall,
  type TrafficOptions,
} from '../../bench/quality/traffic';

const LIST = (
  parseCsv(readFileSync(path.join(__dirname, '..', 'fixtures', 'robocall-caller-ids-sample.csv'), 'utf8'), {
    columns: true,
  }) as Array<Record<string, string>>
)
  .filter((r) => r.likely_admin !== 'yes')
  .map((r) => r.phone_e164 as string);

const LINES: CompanyLines = {
  hotline: '+12125550100',
  dids: [
    { did: '+12125550100', share: 0.1 },
    { did: '+12125550200', share: 0.4 },
    { did: '+12125550300', share: 0.3 },
    { did: '+16465550123', share: 0.2 },
  ],
};
const DIDS = LINES.dids.map((d) => d.did);
const OPENS = Date.UTC(2026, 11, 7, 13);
const CLOSES = OPENS + 10 * 3_600_000;
const options = (seed: number): TrafficOptions => ({
  seed,
  opensAt: OPENS,
  closesAt: CLOSES,
  robocallList: LIST,
  lines: LINES,
});

const traffic = generateTraffic(options(13));
const ofKind = (kind: TrafficCall['kind']): TrafficCall[] => traffic.calls.filter((c) => c.kind === kind);
const byCaller = (calls: readonly TrafficCall[]): Map<string, TrafficCall[]> => {
  const callers = new Map<string, TrafficCall[]>();
  for (const c of calls) callers.set(c.caller, [...(callers.get(c.caller) ?? []), c]);
  return callers;
};

describe('bench/quality traffic', () => {
  it('is the same day for the same seed and another day for another seed', () => {
    expect(generateTraffic(options(13))).toEqual(traffic);
    expect(generateTraffic(options(14)).calls).not.toEqual(traffic.calls);
  });

  it('has every kind, labelled spam or legit by its kind, in time order within the business day', () => {
    for (const kind of KINDS) expect(ofKind(kind).length).toBeGreaterThan(0);
    for (const c of traffic.calls) {
      expect(c.spam).toBe(SPAM[c.kind]);
      expect(c.at).toBeGreaterThanOrEqual(OPENS);
      expect(c.at).toBeLessThan(CLOSES);
      expect(DIDS).toContain(c.did);
    }
    const times = traffic.calls.map((c) => c.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('imports half the list; listed robocallers come from that half, unlisted ones from the other', () => {
    expect(traffic.imported.size).toBe(Math.ceil(LIST.length / 2));
    for (const n of traffic.imported) expect(LIST).toContain(n);
    for (const c of ofKind('listed-robocaller')) expect(traffic.imported.has(c.e164!)).toBe(true);
    for (const c of ofKind('unlisted-robocaller')) {
      expect(LIST).toContain(c.e164);
      expect(traffic.imported.has(c.e164!)).toBe(false);
    }
  });

  it('gives block neighbours valid numbers off the list in the 1000-block of an imported number', () => {
    const importedBlocks = new Set([...traffic.imported].map(blockOf));
    const neighbours = ofKind('block-neighbour');
    for (const c of neighbours) {
      expect(LIST).not.toContain(c.e164);
      expect(isValidPhoneNumber(c.e164!)).toBe(true);
    }
    const inListedBlock = neighbours.filter((c) => importedBlocks.has(blockOf(c.e164!)));
    expect(inListedBlock.length / neighbours.length).toBeGreaterThan(0.9);
  });

  it('spoofs the called DID with some of its last four digits changed', () => {
    for (const c of ofKind('neighbour-spoofing')) {
      expect(c.e164).not.toBe(c.did);
      expect(c.e164!.slice(0, -4)).toBe(c.did.slice(0, -4));
    }
  });

  it('has each burst number call every DID three times within one minute', () => {
    for (const calls of byCaller(ofKind('burst')).values()) {
      expect(new Set(calls.map((c) => c.e164)).size).toBe(1);
      for (const did of DIDS) expect(calls.filter((c) => c.did === did)).toHaveLength(3);
      const times = calls.map((c) => c.at);
      expect(Math.max(...times) - Math.min(...times)).toBeLessThan(60_000);
    }
  });

  it('has each DID walker call every DID once, in order', () => {
    for (const calls of byCaller(ofKind('did-walker')).values())
      expect(calls.map((c) => c.did)).toEqual([...DIDS].sort());
  });

  it('sends hotline repeat callers to the hotline again within minutes', () => {
    const callers = byCaller(ofKind('hotline-repeat'));
    for (const calls of callers.values()) {
      for (const c of calls) expect(c.did).toBe(LINES.hotline);
      for (let i = 1; i < calls.length; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBeLessThanOrEqual(12 * 60_000);
    }
    expect([...callers.values()].some((calls) => calls.length >= 2)).toBe(true);
  });

  it('gives customers valid numbers, some of them calling twice, and impossible callers impossible ones', () => {
    const customers = byCaller(ofKind('customer'));
    for (const calls of customers.values()) for (const c of calls) expect(isValidPhoneNumber(c.e164!)).toBe(true);
    const twice = [...customers.values()].filter((calls) => calls.length === 2).length;
    expect(twice).toBeGreaterThan(0);
    expect(twice).toBeLessThan(customers.size / 2);
    for (const c of ofKind('impossible')) expect(isPossiblePhoneNumber(c.callerNumber)).toBe(false);
  });

  it('lets the provider know spam numbers as spam and legit ones mostly as clean', () => {
    const known = (kind: TrafficCall['kind']) => ofKind(kind).filter((c) => traffic.provider.has(c.e164!));
    expect(known('listed-robocaller').length).toBeGreaterThan(0);
    for (const c of known('unlisted-robocaller'))
      expect(traffic.provider.get(c.e164!)!.score).toBeGreaterThanOrEqual(60);
    const customers = known('customer').map((c) => traffic.provider.get(c.e164!)!.score);
    expect(customers.filter((s) => s <= 10).length / customers.length).toBeGreaterThan(0.9);
  });

  it('counts as known to nothing exactly the unlisted robocaller calls no report and no imported neighbour know', () => {
    const importedBlocks = new Set([...traffic.imported].map(blockOf));
    const unknown = ofKind('unlisted-robocaller').filter(
      (c) => !traffic.provider.has(c.e164!) && !importedBlocks.has(blockOf(c.e164!)),
    );
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.length).toBeLessThan(ofKind('unlisted-robocaller').length);
    const spam = traffic.calls.filter((c) => c.spam).length;
    expect(spamNothingKnows(traffic)).toEqual({ calls: unknown.length, spam });
    const known = {
      ...traffic,
      provider: new Map([...traffic.provider, ...unknown.map((c) => [c.e164!, { score: 90, reports: 5 }] as const)]),
    };
    expect(spamNothingKnows(known).calls).toBe(0);
  });
});
