/**
 * A vanished reputation list: telling a source an admin removed from one Redis lost (restarted without
 * persistence, flushed, evicted). Pure: the caller reads the source table (and probes buckets), keeps the
 * expectation (in memory and in a state file that does not vanish with Redis) and is told what changed.
 *
 * The source table's birth is its `feedback` record's importedAt: that record is created once, with
 * HSETNX, by whoever first needs it (the daemon re-creates it within a second of finding it gone) and is
 * never rewritten, so a table with another birth than the one last seen is a new table: Redis lost the
 * old one. Then every source that had numbers and is not back with numbers has vanished. In the same
 * table, a source that is missing was removed on purpose (`callscreen reputation remove-source`) and is
 * forgotten, and a source whose record is there but whose buckets are gone (eviction, a partial restore)
 * has vanished. A vanished source stays vanished (whatever table comes next) until it is live again with
 * numbers: re-imported, or its buckets back.
 */

/** what the source table says of one source (the fields the watch needs) */
export interface SourceSeen {
  name: string;
  kind: string;
  gen: number;
  /** numbers in the live generation; 0 = nothing to lose */
  entries: number;
  importedAt: number;
}

export type VanishReason = 'table-gone' | 'buckets-gone';

/** a source expected in Redis: live when last seen, or vanished since `vanishedAt` */
export interface ExpectedSource extends SourceSeen {
  vanishedAt?: number;
  reason?: VanishReason;
}

/** a source that vanished (an open incident) */
export type VanishedSource = ExpectedSource & { vanishedAt: number; reason: VanishReason };

export interface ExpectedSources {
  /** the birth of the source table last seen (its feedback record's importedAt) */
  tableBornAt?: number;
  /** sources with numbers when last seen, and the vanished ones */
  sources: ExpectedSource[];
}

/** one read of the source table */
export interface SourceTableView {
  /** the feedback record's importedAt; undefined when the table is gone (nobody re-created it yet) */
  tableBornAt: number | undefined;
  sources: readonly SourceSeen[];
  /** sources whose live generation's buckets were probed and found gone */
  bucketsMissing: ReadonlySet<string>;
}

export interface SourceWatchStep {
  /** the expectation to keep for the next read */
  expected: ExpectedSources;
  /** every source vanished now */
  open: VanishedSource[];
  /** sources found vanished by this read */
  opened: VanishedSource[];
  /** vanished sources live again with numbers */
  resolved: VanishedSource[];
}

export const NO_EXPECTED_SOURCES: ExpectedSources = Object.freeze({ sources: [] });

export function isVanished(source: ExpectedSource): source is VanishedSource {
  return source.vanishedAt !== undefined && source.reason !== undefined;
}

/** Compare what was expected with one read of the table: the next expectation and the incidents. */
export function watchSources(previous: ExpectedSources, view: SourceTableView, now: number): SourceWatchStep {
  const newTable =
    view.tableBornAt === undefined || (previous.tableBornAt !== undefined && view.tableBornAt !== previous.tableBornAt);
  const current = new Map(view.sources.map((s) => [s.name, s]));
  const next = new Map<string, ExpectedSource>();
  const opened: VanishedSource[] = [];
  const resolved: VanishedSource[] = [];
  for (const s of view.sources) if (s.entries > 0 && !view.bucketsMissing.has(s.name)) next.set(s.name, seen(s));
  for (const e of previous.sources) {
    if (next.has(e.name)) {
      if (isVanished(e)) resolved.push(e);
      continue;
    }
    if (isVanished(e)) {
      next.set(e.name, e); // still gone
      continue;
    }
    if (view.bucketsMissing.has(e.name) && current.has(e.name)) continue; // opened below, with the record's counts
    if (newTable && e.entries > 0) {
      const gone: VanishedSource = { ...seen(e), vanishedAt: now, reason: 'table-gone' };
      next.set(e.name, gone);
      opened.push(gone);
    }
    // else: removed (or emptied) on purpose in the same table: forgotten
  }
  for (const name of view.bucketsMissing) {
    const s = current.get(name);
    if (!s || next.has(name)) continue;
    const gone: VanishedSource = { ...seen(s), vanishedAt: now, reason: 'buckets-gone' };
    next.set(name, gone);
    opened.push(gone);
  }
  const sources = [...next.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const expected: ExpectedSources = { sources };
  const tableBornAt = view.tableBornAt ?? previous.tableBornAt;
  if (tableBornAt !== undefined) expected.tableBornAt = tableBornAt;
  return { expected, open: sources.filter(isVanished), opened, resolved };
}

/** one line for a person: "robocall (feed, had 1375 numbers): the source table is gone" */
export function describeVanished(source: VanishedSource): string {
  const what =
    source.reason === 'table-gone'
      ? 'the source table is gone (Redis lost its data)'
      : 'its numbers are gone from Redis (the record is there, its buckets are not)';
  return `${source.name} (${source.kind}, had ${source.entries} numbers): ${what}`;
}

/** the same expectation, in a stable text form (to write it only when it changed) */
export function expectedSourcesText(expected: ExpectedSources): string {
  return JSON.stringify(expected, null, 2) + '\n';
}

/** Parse a stored expectation; undefined when it is not one (a hand-edited or truncated file). */
export function parseExpectedSources(text: string): ExpectedSources | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || !Array.isArray((v as ExpectedSources).sources)) return undefined;
  const raw = v as { tableBornAt?: unknown; sources: unknown[] };
  const sources: ExpectedSource[] = [];
  for (const s of raw.sources) {
    if (s === null || typeof s !== 'object') return undefined;
    const r = s as Record<string, unknown>;
    if (typeof r.name !== 'string' || typeof r.kind !== 'string') return undefined;
    if (!isWhole(r.gen) || !isWhole(r.entries) || typeof r.importedAt !== 'number') return undefined;
    const e: ExpectedSource = { name: r.name, kind: r.kind, gen: r.gen, entries: r.entries, importedAt: r.importedAt };
    if (typeof r.vanishedAt === 'number' && (r.reason === 'table-gone' || r.reason === 'buckets-gone')) {
      e.vanishedAt = r.vanishedAt;
      e.reason = r.reason;
    }
    sources.push(e);
  }
  const expected: ExpectedSources = { sources };
  if (typeof raw.tableBornAt === 'number') expected.tableBornAt = raw.tableBornAt;
  return expected;
}

function isWhole(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function seen(s: SourceSeen): SourceSeen {
  return { name: s.name, kind: s.kind, gen: s.gen, entries: s.entries, importedAt: s.importedAt };
}
