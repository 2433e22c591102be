/**
 * Keeps Asterisk's AstDB blacklist family (what FreePBX's Blacklist module and our dialplan fallback
 * read) in step with callscreen's deny rules and its reputation list, over AMI, so numbers callscreen
 * blocks stay blocked while the daemon is down. What is wanted, and in which order, is the pure planner's
 * (./blacklist-plan.ts); this class reads, writes and schedules.
 *
 * When it runs: when AMI (re)connects, on the FullyBooted and Reload events, when asked (after a rules
 * reload: request()), and every `intervalMs`. Requests that arrive while a run is under way are merged
 * into one run after it; event triggers are debounced by `debounceMs`.
 *
 * What it reads: the family itself, with DBGetTree (one list action: bounded by the family's size, which
 * maxEntries bounds for our part), whenever the picture it keeps in memory cannot be trusted: the first
 * run, after an AMI reconnect, after FullyBooted or Reload (Asterisk may have been restarted or its
 * database replaced), after a run in which a write failed, and once every `rereadIntervalMs` (an admin
 * may have edited the list in FreePBX). Between those runs only the difference to the last written state
 * is written; each such write is checked first with DBGet, so an entry an admin made meanwhile is never
 * overwritten or deleted.
 *
 * What it writes: DBPut / DBDel through AmiPort.action, at most `concurrency` at a time, only entries
 * whose value starts with "callscreen:" (the ownership mark, see the planner). A failed write is logged
 * and retried on the next run; AMI down or Redis unreadable means the run changes nothing (it never
 * deletes because a list could not be read). Nothing here is on a call's path: screening never waits.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import type { Rule } from '../domain/rule-set';
import { AmiActionError } from '../errors/ami-action-error';
import { AmiDisconnectedError } from '../errors/ami-disconnected-error';
import type { Logger } from '../ports/logger';
import type { AmiConnectionState, AmiMessage, AmiPort } from '../ports/ami';
import { isCallscreenValue, planBlacklist, type BlacklistSkipped } from './blacklist-plan';
import { type ReputationCandidate } from '../domain/reputation';
import type { ReputationCandidateSource } from '../ports/reputation-candidates';

export interface AstDbBlacklistSyncOptions {
  ami: AmiPort;
  reputation: ReputationCandidateSource;
  /** the rules in force (RulesReloader.current().rules) */
  rules: () => readonly Rule[];
  /** AstDB family; FreePBX's Blacklist module reads "blacklist" */
  family: string;
  maxEntries: number;
  minReputationScore: number;
  /** a run every this often */
  intervalMs: number;
  /** for the national form of the numbers */
  defaultRegion: CountryCode;
  /** screening.signals.reputation.halfLifeDays in force */
  halfLifeDays?: () => number | undefined;
  logger: Logger;
  /** AMI writes in flight at once; default 8 */
  concurrency?: number;
  /** read the family again at least this often; default one hour */
  rereadIntervalMs?: number;
  /** event triggers arriving within this are merged into one run; default 250 */
  debounceMs?: number;
  /** timeout of the DBGetTree list action; default 30000 */
  treeTimeoutMs?: number;
  now?: () => Date;
}

export interface BlacklistSyncResult {
  ok: boolean;
  /** what asked for the run(s) merged into this one */
  trigger: string;
  /** the family was read from AstDB in this run */
  reread: boolean;
  /** entries wanted / written / deleted / writes that failed */
  desired: number;
  put: number;
  deleted: number;
  failed: number;
  skipped?: BlacklistSkipped;
  numbers?: { deny: number; reputation: number };
  /** why the run did nothing, or why it is incomplete */
  error?: string;
  durationMs: number;
}

const DEFAULTS = { concurrency: 8, rereadIntervalMs: 3_600_000, debounceMs: 250, treeTimeoutMs: 30_000 };

export class AstDbBlacklistSync {
  private readonly options: AstDbBlacklistSyncOptions & typeof DEFAULTS;
  private readonly now: () => Date;
  /** the family as last read or written: key -> value (every entry, callscreen's and others') */
  private known: Map<string, string> | undefined;
  private needReread = true;
  private lastReadAt = 0;
  private started = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private interval: NodeJS.Timeout | undefined;
  private debounce: { timer: NodeJS.Timeout; triggers: Set<string> } | undefined;
  private inFlight: Promise<BlacklistSyncResult> | undefined;
  private queued: { promise: Promise<BlacklistSyncResult>; triggers: Set<string> } | undefined;
  /** the last summary logged at info, so an unchanged state is not repeated every interval */
  private lastSummary: string | undefined;
  private waitingLogged = false;

  constructor(options: AstDbBlacklistSyncOptions) {
    this.options = { ...DEFAULTS, ...stripUndefined(options) } as AstDbBlacklistSyncOptions & typeof DEFAULTS;
    this.now = options.now ?? (() => new Date());
  }

  /** Begins listening to AMI and the interval; runs at once if AMI is connected. Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.options.ami.on('state', this.onState);
    this.options.ami.on('event', this.onEvent);
    this.interval = setInterval(() => this.request('interval'), this.options.intervalMs);
    this.interval.unref();
    if (this.options.ami.state === 'connected') this.request('start', { reread: true });
  }

  /** Stops listening and the timers, and waits for a run under way (which stops writing). Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      this.options.ami.off('state', this.onState);
      this.options.ami.off('event', this.onEvent);
      if (this.interval) clearInterval(this.interval);
      if (this.debounce) clearTimeout(this.debounce.timer);
      this.interval = this.debounce = undefined;
      await this.queued?.promise;
      await this.inFlight;
    })();
    return this.closePromise;
  }

  /** Asks for a run soon (debounced); `reread` makes it read the family from AstDB first. */
  request(trigger: string, options: { reread?: boolean } = {}): void {
    if (this.closed) return;
    if (options.reread) this.needReread = true;
    if (this.debounce) {
      this.debounce.triggers.add(trigger);
      return;
    }
    const triggers = new Set([trigger]);
    const timer = setTimeout(() => {
      this.debounce = undefined;
      void this.syncNow([...triggers].join(','));
    }, this.options.debounceMs);
    timer.unref();
    this.debounce = { timer, triggers };
  }

  /**
   * Runs now, or right after the run under way (requests meanwhile share that next run). Never rejects:
   * problems are in the result and the log.
   */
  syncNow(trigger: string, options: { reread?: boolean } = {}): Promise<BlacklistSyncResult> {
    if (options.reread) this.needReread = true;
    if (this.closed) return Promise.resolve(this.emptyResult(trigger, 'closed', 0));
    if (this.queued) {
      this.queued.triggers.add(trigger);
      return this.queued.promise;
    }
    if (!this.inFlight) return this.launch(trigger);
    const triggers = new Set([trigger]);
    const promise = this.inFlight.then(() => {
      this.queued = undefined;
      return this.closed
        ? this.emptyResult([...triggers].join(','), 'closed', 0)
        : this.launch([...triggers].join(','));
    });
    this.queued = { promise, triggers };
    return promise;
  }

  private launch(trigger: string): Promise<BlacklistSyncResult> {
    const run = this.runOnce(trigger).catch((error: unknown) => {
      // runOnce handles its own failures; this is a bug guard, never a crash of the daemon
      this.options.logger.error({ err: (error as Error).message, trigger }, 'blacklist sync failed unexpectedly');
      this.needReread = true;
      return this.emptyResult(trigger, (error as Error).message, 0);
    });
    const tracked = run.finally(() => {
      if (this.inFlight === tracked) this.inFlight = undefined;
    });
    this.inFlight = tracked;
    return tracked;
  }

  private readonly onState = (change: { state: AmiConnectionState; previous: AmiConnectionState }): void => {
    if (change.state === 'connected') this.request('ami connected', { reread: true });
    else this.needReread = true;
  };

  private readonly onEvent = (event: AmiMessage): void => {
    if (event.event === 'FullyBooted' || event.event === 'Reload') this.request(event.event, { reread: true });
  };

  private emptyResult(trigger: string, error: string, startedAt: number): BlacklistSyncResult {
    return {
      ok: false,
      trigger,
      reread: false,
      desired: 0,
      put: 0,
      deleted: 0,
      failed: 0,
      error,
      durationMs: startedAt ? Date.now() - startedAt : 0,
    };
  }

  private async runOnce(trigger: string): Promise<BlacklistSyncResult> {
    const startedAt = Date.now();
    const { ami, family, logger } = this.options;
    if (ami.state !== 'connected') {
      this.needReread = true;
      if (!this.waitingLogged)
        logger.warn({ family, trigger, ami: ami.state }, 'blacklist sync waiting for AMI; AstDB left as it is');
      this.waitingLogged = true;
      return this.emptyResult(trigger, `AMI not connected (${ami.state})`, startedAt);
    }
    this.waitingLogged = false;

    const now = this.now();
    const halfLifeDays = this.options.halfLifeDays?.();
    let reputation: ReputationCandidate[];
    try {
      reputation = await this.options.reputation.candidates({
        minScore: this.options.minReputationScore,
        limit: this.options.maxEntries,
        now: now.getTime(),
        halfLifeDays,
      });
    } catch (error) {
      logger.warn(
        { family, trigger, err: (error as Error).message },
        'blacklist sync: reputation list not readable; AstDB left as it is until the next run',
      );
      return this.emptyResult(trigger, `reputation list not readable: ${(error as Error).message}`, startedAt);
    }
    if (this.closed) return this.emptyResult(trigger, 'closed', startedAt);

    let reread = false;
    if (this.needReread || !this.known || Date.now() - this.lastReadAt >= this.options.rereadIntervalMs) {
      this.needReread = false;
      try {
        this.known = await this.readFamily();
        this.lastReadAt = Date.now();
        reread = true;
      } catch (error) {
        this.needReread = true;
        logger.warn(
          { family, trigger, err: (error as Error).message },
          'blacklist sync: could not read the AstDB family; retrying on the next run',
        );
        return this.emptyResult(trigger, `DBGetTree failed: ${(error as Error).message}`, startedAt);
      }
    }
    const known = this.known;

    const plan = planBlacklist({
      rules: this.options.rules(),
      reputation,
      current: known,
      defaultRegion: this.options.defaultRegion,
      maxEntries: this.options.maxEntries,
      minReputationScore: this.options.minReputationScore,
      halfLifeDays,
      now,
    });

    const writes: Write[] = [
      ...plan.put.map((p) => ({ kind: 'put' as const, ...p })),
      ...plan.del.map((key) => ({ kind: 'del' as const, key })),
    ];
    const outcome = await this.write(writes, known, !reread);
    if (outcome.failed > 0 || outcome.disconnected) this.needReread = true;

    const result: BlacklistSyncResult = {
      ok: outcome.failed === 0 && !outcome.disconnected,
      trigger,
      reread,
      desired: plan.desired.length,
      put: outcome.put,
      deleted: outcome.deleted,
      failed: outcome.failed,
      skipped: { ...plan.skipped, heldByOthers: plan.skipped.heldByOthers + outcome.heldByOthers },
      numbers: plan.numbers,
      durationMs: Date.now() - startedAt,
    };
    if (outcome.firstError) result.error = outcome.firstError;
    this.report(result);
    return result;
  }

  /** The family as AstDB holds it: key -> value, for keys directly under the family. */
  private async readFamily(): Promise<Map<string, string>> {
    const { family, ami, treeTimeoutMs } = this.options;
    const { events } = await ami.listAction({ action: 'DBGetTree', family }, { timeoutMs: treeTimeoutMs });
    const prefix = `/${family}/`;
    const entries = new Map<string, string>();
    for (const event of events) {
      if (event.event !== 'DBGetTreeResponse' || event.key === undefined || !event.key.startsWith(prefix)) continue;
      const key = event.key.slice(prefix.length);
      // DBGetTree matches with LIKE: a family named with _ may bring in others; nested keys are not ours either
      if (key === '' || key.includes('/')) continue;
      entries.set(key, event.val ?? '');
    }
    return entries;
  }

  /** One entry's value, or undefined when it does not exist. */
  private async readEntry(key: string): Promise<string | undefined> {
    try {
      const { events } = await this.options.ami.listAction({ action: 'DBGet', family: this.options.family, key });
      return events.find((e) => e.event === 'DBGetResponse')?.val ?? '';
    } catch (error) {
      if (error instanceof AmiActionError && /not found|does not exist/i.test(error.responseMessage)) return undefined;
      throw error;
    }
  }

  /**
   * Applies the writes, `concurrency` at a time, updating `known` as they succeed. With `check`, each
   * write first reads the entry (the picture in memory may be stale): an entry someone else made is left
   * alone. A lost connection stops the rest.
   */
  private async write(writes: readonly Write[], known: Map<string, string>, check: boolean): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { put: 0, deleted: 0, failed: 0, heldByOthers: 0, disconnected: false };
    const { ami, family, logger } = this.options;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < writes.length && !outcome.disconnected && !this.closed) {
        const w = writes[next++] as Write;
        try {
          if (check) {
            const existing = await this.readEntry(w.key);
            if (existing === undefined) known.delete(w.key);
            else known.set(w.key, existing);
            if (existing !== undefined && !isCallscreenValue(existing)) {
              outcome.heldByOthers += 1;
              continue;
            }
            if (w.kind === 'del' && existing === undefined) continue;
            if (w.kind === 'put' && existing === w.value) continue;
          }
          if (w.kind === 'put') {
            await ami.action({ action: 'DBPut', family, key: w.key, val: w.value });
            known.set(w.key, w.value);
            outcome.put += 1;
          } else {
            try {
              await ami.action({ action: 'DBDel', family, key: w.key });
              outcome.deleted += 1;
            } catch (error) {
              if (!(error instanceof AmiActionError && /not found|does not exist/i.test(error.responseMessage)))
                throw error;
            }
            known.delete(w.key);
          }
        } catch (error) {
          outcome.failed += 1;
          outcome.firstError ??= `${w.kind === 'put' ? 'DBPut' : 'DBDel'} ${w.key}: ${(error as Error).message}`;
          if (error instanceof AmiDisconnectedError) outcome.disconnected = true;
          logger.debug({ family, key: w.key, err: (error as Error).message }, 'blacklist sync: AstDB write failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency, writes.length)) }, worker));
    return outcome;
  }

  private report(result: BlacklistSyncResult): void {
    const { logger, family, maxEntries } = this.options;
    const s = result.skipped;
    const fields = {
      family,
      trigger: result.trigger,
      entries: result.desired,
      maxEntries,
      denyNumbers: result.numbers?.deny,
      reputationNumbers: result.numbers?.reputation,
      written: result.put,
      deleted: result.deleted,
      failed: result.failed,
      reread: result.reread,
      skippedDenyRules: s
        ? { range: s.range, wildcard: s.wildcard, regex: s.regex, didScoped: s.didScoped, expired: s.expired }
        : undefined,
      allowListed: s?.allowListed,
      leftOut: s ? { numbers: s.overLimitNumbers, entries: s.overLimitEntries } : undefined,
      heldByOthers: s?.heldByOthers,
      durationMs: result.durationMs,
    };
    if (result.failed > 0) {
      logger.warn({ ...fields, err: result.error }, 'blacklist sync incomplete; retrying on the next run');
      this.lastSummary = undefined;
      return;
    }
    // the same state again (nothing written, same counts): debug, not a line every interval
    const summary = JSON.stringify({
      ...fields,
      trigger: undefined,
      reread: undefined,
      durationMs: undefined,
      written: undefined,
      deleted: undefined,
    });
    const changed = result.put > 0 || result.deleted > 0 || summary !== this.lastSummary;
    this.lastSummary = summary;
    if (changed) {
      logger.info(fields, 'blacklist synced to AstDB');
      if (s && s.overLimitNumbers > 0)
        logger.warn(
          { family, maxEntries, leftOutNumbers: s.overLimitNumbers, leftOutEntries: s.overLimitEntries },
          'blacklist sync: maxEntries reached; lower-priority numbers left out',
        );
    } else {
      logger.debug(fields, 'blacklist in AstDB up to date');
    }
  }
}

type Write = { kind: 'put'; key: string; value: string } | { kind: 'del'; key: string };

interface WriteOutcome {
  put: number;
  deleted: number;
  failed: number;
  heldByOthers: number;
  disconnected: boolean;
  firstError?: string;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
