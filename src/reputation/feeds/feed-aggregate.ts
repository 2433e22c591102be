/**
 * One import's numbers, merged in memory before anything is written: an open-addressing hash table
 * keyed by the number's E.164 digits as a number, its columns in typed arrays (~26 bytes a slot, at
 * most half the slots used: a million numbers take ~60 MB and no garbage collection; a Map of objects
 * took twice the time). A number that comes more than once is one
 * entry: reports summed, first/last seen the earliest/latest, score the highest, category the most
 * frequent among its rows (ties: the first seen). Pure: no I/O.
 *
 * Score rule for complaint lists (one row per complaint, no score column: the FTC Do-Not-Call data):
 * each complaint halves the doubt, score = defaultScore x (1 - 0.5^complaints): one complaint 0.5,
 * two 0.75, three 0.88, five 0.97. One consumer's complaint can be a mistaken or spoofed number;
 * several independent ones rarely are.
 */
import { encodeFeedEntry, MAX_CATEGORIES } from '../../domain/reputation-entry';
import { categoryText } from './feed-text';
import type { FeedSink } from './reputation-feed';
import type { PackedEntries } from '../../domain/reputation-entry';

export interface AggregateOptions {
  /** score of a number no row gave one (0..1) */
  defaultScore: number;
  /** the import day (days since 2000-01-01) */
  today: number;
  /** numbers last seen more than this many days before `today` are stale: not imported */
  maxAgeDays: number;
  /** one row per complaint and no score column: the complaint score rule above */
  complaints?: boolean;
  /** numbers expected (e.g. from the file size): sizes the table once instead of growing it */
  expected?: number;
}

export interface AggregateCounts {
  /** good rows */
  rows: number;
  /** rows that repeated a number already seen in this import */
  duplicates: number;
  /** rows with a problem */
  rejected: number;
  /** rows left out by --skip */
  skipped: number;
  /** numbers left out as stale (by finish()) */
  stale: number;
  /** distinct categories beyond MAX_CATEGORIES, stored as none */
  categoriesDropped: number;
}

const INITIAL_SLOTS = 1 << 12;
/** a size hint never makes the table start larger than this (2^23 slots: ~220 MB) */
const MAX_PRESIZED_SLOTS = 1 << 23;

export class FeedAggregate implements FeedSink, PackedEntries {
  readonly categories: string[] = [];
  readonly counts: AggregateCounts = {
    rows: 0,
    duplicates: 0,
    rejected: 0,
    skipped: 0,
    stale: 0,
    categoriesDropped: 0,
  };
  /** numbers held (after finish(): without the stale ones) */
  size = 0;
  private mask: number;
  // the columns below are set by allocate(), called from the constructor (hence the `!`)
  /** 0 = free slot (no E.164 number is 0) */
  private keys!: Float64Array;
  /** percent, -1: none given */
  private scores!: Int8Array;
  private reports!: Uint32Array;
  private category!: Uint8Array;
  /** rows with that category (while no other category came up) */
  private categoryRows!: Uint32Array;
  private firstDay!: Int32Array;
  private lastDay!: Int32Array;
  /** packed entries by slot, after finish() ('' for a stale number) */
  private values: string[] = [];
  private readonly categoryIndex = new Map<string, number>();
  /** per number with rows of different categories: category -> rows */
  private readonly categoryVotes = new Map<number, Map<number, number>>();
  private finished = false;

  constructor(
    private readonly options: AggregateOptions,
    /** called for every problem (the CLI prints them) */
    private readonly onProblem?: (line: number, reason: string) => void,
  ) {
    let slots = INITIAL_SLOTS;
    while (slots < MAX_PRESIZED_SLOTS && slots < (options.expected ?? 0) * 2) slots *= 2;
    this.mask = slots - 1;
    this.allocate(slots);
  }

  row(key: number, score: number, reports: number, category: string, firstDay: number, lastDay: number): void {
    this.counts.rows++;
    // stored as categoryText makes it: cut to 64 characters, control characters escaped (the source table
    // holds the names, every daemon re-reads it, and the CLI and the console print them)
    const cat = category === '' ? 0 : this.categoryOf(categoryText(category));
    const count = reports < 0 ? 1 : reports;
    const percent = Number.isNaN(score) ? -1 : Math.round(score * 100);
    let slot = this.slotOf(key);
    if (this.keys[slot] === 0) {
      if ((this.size + 1) * 2 > this.mask + 1) {
        this.grow();
        slot = this.slotOf(key);
      }
      this.size++;
      this.keys[slot] = key;
      this.scores[slot] = percent;
      this.reports[slot] = count;
      this.category[slot] = cat;
      this.categoryRows[slot] = cat === 0 ? 0 : 1;
      this.firstDay[slot] = firstDay;
      this.lastDay[slot] = lastDay;
      return;
    }
    this.counts.duplicates++;
    this.reports[slot] = Math.min(0xffffffff, (this.reports[slot] as number) + count);
    if (percent > (this.scores[slot] as number)) this.scores[slot] = percent;
    if (firstDay < (this.firstDay[slot] as number)) this.firstDay[slot] = firstDay;
    if (lastDay > (this.lastDay[slot] as number)) this.lastDay[slot] = lastDay;
    if (cat !== 0) this.vote(key, slot, cat);
  }

  problem(line: number, reason: string): void {
    this.counts.rejected++;
    this.onProblem?.(line, reason);
  }

  skipped(): void {
    this.counts.skipped++;
  }

  /**
   * Settle categories and scores (`complaints`: the file is a complaint list, see the score rule
   * above), drop stale numbers, pack every entry. Idempotent; get() and forEach() need it.
   */
  finish(complaints = this.options.complaints ?? false): void {
    if (this.finished) return;
    this.finished = true;
    const { defaultScore, today, maxAgeDays } = this.options;
    const oldest = today - maxAgeDays;
    for (const [key, votes] of this.categoryVotes) {
      const slot = this.slotOf(key);
      let best = this.category[slot] as number;
      let bestVotes = votes.get(best) ?? 0;
      for (const [cat, n] of votes) if (n > bestVotes) [best, bestVotes] = [cat, n];
      this.category[slot] = best;
    }
    this.categoryVotes.clear();
    const values = new Array<string>(this.mask + 1).fill('');
    for (let slot = 0; slot <= this.mask; slot++) {
      if (this.keys[slot] === 0) continue;
      const lastDay = this.lastDay[slot] as number;
      if (lastDay < oldest) {
        this.counts.stale++;
        this.size--;
        continue;
      }
      const reports = this.reports[slot] as number;
      const percent = this.scores[slot] as number;
      const score =
        percent >= 0 ? percent : Math.round(100 * (complaints ? defaultScore * (1 - 0.5 ** reports) : defaultScore));
      values[slot] = encodeFeedEntry({
        score,
        reports,
        category: this.category[slot] as number,
        firstDay: this.firstDay[slot] as number,
        lastDay,
      });
    }
    this.values = values;
  }

  /** the packed entry of a number (E.164 digits as a number) after finish(); undefined when not imported */
  get(key: number): string | undefined {
    const value = this.values[this.slotOf(key)];
    return value === '' ? undefined : value;
  }

  /** every number imported and its packed entry, after finish() */
  forEach(fn: (key: number, value: string) => void): void {
    const { keys, values } = this;
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot] as string;
      if (value !== '') fn(keys[slot] as number, value);
    }
  }

  /** the slot holding `key`, or the free slot where it would go */
  private slotOf(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = lo ^ Math.imul(hi, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    let slot = (h ^ (h >>> 16)) & this.mask;
    const keys = this.keys;
    for (;;) {
      const k = keys[slot] as number;
      if (k === key || k === 0) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** fresh, empty columns of `slots` slots (the constructor's and grow()'s) */
  private allocate(slots: number): void {
    this.keys = new Float64Array(slots);
    this.scores = new Int8Array(slots);
    this.reports = new Uint32Array(slots);
    this.category = new Uint8Array(slots);
    this.categoryRows = new Uint32Array(slots);
    this.firstDay = new Int32Array(slots);
    this.lastDay = new Int32Array(slots);
  }

  private grow(): void {
    const old = {
      keys: this.keys,
      scores: this.scores,
      reports: this.reports,
      category: this.category,
      categoryRows: this.categoryRows,
      firstDay: this.firstDay,
      lastDay: this.lastDay,
    };
    const slots = (this.mask + 1) * 2;
    this.mask = slots - 1;
    this.allocate(slots);
    for (let i = 0; i < old.keys.length; i++) {
      const key = old.keys[i] as number;
      if (key === 0) continue;
      const slot = this.slotOf(key);
      this.keys[slot] = key;
      this.scores[slot] = old.scores[i] as number;
      this.reports[slot] = old.reports[i] as number;
      this.category[slot] = old.category[i] as number;
      this.categoryRows[slot] = old.categoryRows[i] as number;
      this.firstDay[slot] = old.firstDay[i] as number;
      this.lastDay[slot] = old.lastDay[i] as number;
    }
  }

  private categoryOf(name: string): number {
    let index = this.categoryIndex.get(name);
    if (index === undefined) {
      if (this.categories.length >= MAX_CATEGORIES) {
        index = 0;
        this.counts.categoriesDropped++;
      } else {
        this.categories.push(name);
        index = this.categories.length;
      }
      this.categoryIndex.set(name, index);
    }
    return index;
  }

  private vote(key: number, slot: number, cat: number): void {
    const votes = this.categoryVotes.get(key);
    const current = this.category[slot] as number;
    if (votes) votes.set(cat, (votes.get(cat) ?? 0) + 1);
    else if (current === 0) {
      this.category[slot] = cat;
      this.categoryRows[slot] = 1;
    } else if (current === cat) this.categoryRows[slot] = (this.categoryRows[slot] as number) + 1;
    // a second category: count from here on (insertion order keeps the first seen first for ties)
    else
      this.categoryVotes.set(
        key,
        new Map([
          [current, this.categoryRows[slot] as number],
          [cat, 1],
        ]),
      );
  }
}
