/**
 * The review console: the page (GET /, /assets/*) and its JSON API, all behind the server's
 * authentication and CSRF check (http-server.ts, http-security.ts).
 *
 *   GET  /api/v1/calls?since=2h&until=&verdict=allow,voicemail&did=&number=&limit=200
 *                                     { calls: CallView[], more, skipped }  newest first
 *   GET  /api/v1/calls/:id            one CallView (id: the log's stream id), 404 when unknown or unreadable
 *   POST /api/v1/allow                { number, note? } -> { number, added, file }: the managed allow list
 *   GET  /api/v1/rules                both rule files as loaded, with the last rejected edit
 *   GET  /api/v1/rules/source?name=   the text of one of the two rule files the daemon loads, nothing else
 *   GET  /api/v1/summary?hours=24     calls per hour and verdict, top spam numbers, CAPTCHA pass rate (from the
 *                                     per-hour counts the daemon keeps as it logs)
 *   GET  /api/v1/feeds                { feeds: FeedStatusView[] }: the feed subscriptions and their status
 *   GET  /api/v1/accuracy?since=30d&until=&by=week|did|signal
 *                                     the accuracy report, as `callscreen report accuracy --json` prints it
 *   GET  /api/v1/shadow?since=7d&until=   the shadow report, as `callscreen report shadow --json` prints it
 *   GET  /api/v1/replay/candidates, POST /api/v1/replay: the What if page's replay (replay-routes.ts)
 *   GET  /what-if, /accuracy          the console's two other pages
 *
 * Reading the log is bounded: the calls list reads at most MAX_CALLS_SCAN entries per request (then
 * `more: true`), the summary at most MAX_SCAN (then `capped: true`, the oldest left out) and is kept
 * for SUMMARY_TTL_MS, so consoles polling it cost one computation per window every 10 s. The accuracy
 * and shadow reports read their whole range (in batches, keeping counters only) and are kept for
 * REPORT_TTL_MS per query.
 *
 * An entry of the log that is not a call record (the reader's onUnreadable) is left out and counted:
 * `skipped` in the calls list and the summary. It is not a failure of the request, and never a 503.
 */
import { bad, jsonObjectBody } from './json-body';
import { HOUR_MS } from '../domain/call-counts';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  idMs,
  idRange,
  matchesFilter,
  parseLogQuery,
  parseTimeSpec,
  usageError,
  type LogOptions,
} from '../call-log/call-log-query';
import { GROUP_BY, type GroupBy } from '../accuracy/accuracy-report';
import {
  DEFAULT_ACCURACY_SINCE,
  DEFAULT_SHADOW_SINCE,
  readAccuracyReport,
  readShadowReport,
  shadowPolicies,
  type ReportRange,
} from '../accuracy/report-reading';
import { SkippedEntries } from '../call-log/skipped-entries';
import { contactsFolderPath } from '../config/contacts-folder';
import type { LoadedConfig } from '../config/load-config';
import {
  cleanText,
  MANAGED_LABEL_PREFIX,
  managedFilePath,
  numberForFeedback,
  type ManagedAllowList,
} from '../reputation/managed-allow-list';
import { RulesReloader } from '../config/rules-reloader';
import { EMPTY_RULE_SET, type RuleSet } from '../domain/rule-set';
import { ConfigError } from '../errors/config-error';
import type { Logger } from '../ports/logger';
import type { CallLogReader } from '../ports/call-log';
import type { FeedbackAuditReader } from '../ports/feedback-store';
import type { FeedStatusView } from '../reputation/subscriptions/feed-status-view';
import { loadConsoleAssets, type ConsoleAssets } from './console-assets';
import { registerReplayRoutes } from './replay-routes';
import { callView, ruleFileView, SummaryCounter, type CallView, type Summary } from './console-data';

export const DEFAULT_CALLS_SINCE = '24h';
export const DEFAULT_CALLS_LIMIT = 200;
export const MAX_CALLS_LIMIT = 1000;
/** the most log entries one summary reads (~1.3 s for 50,000 on one core) */
export const MAX_SCAN = 50_000;
/** the most log entries one calls list reads (a filter that matches few calls in a long log stops here, with `more`) */
export const MAX_CALLS_SCAN = 10_000;
/** how long a summary is served from memory */
export const SUMMARY_TTL_MS = 10_000;
export const MAX_SUMMARY_HOURS = 168;
/** how long an accuracy or shadow report is served from memory (each reads its whole range) */
export const REPORT_TTL_MS = 60_000;
const MAX_NOTE = 200;
const MAX_RULES_FILE_BYTES = 1024 * 1024;
const ALLOW_FIELDS = ['number', 'note'];
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** What the console needs of the rules in force (RulesReloader). */
export type RulesView = Pick<RulesReloader, 'current' | 'managedRules' | 'lastError' | 'managedError'> &
  Partial<Pick<RulesReloader, 'contactsRules' | 'contactsError'>>;

export interface ConsoleRouteDeps {
  loaded: LoadedConfig;
  /** the managed allow list (POST /api/v1/allow) */
  list: ManagedAllowList;
  /** the daemon's reloader; absent: one of the server's own (watching the files until it closes) */
  rules?: RulesView;
  logger: Logger;
  /** the screened-call log the console reads */
  log: CallLogReader;
  /** the agents' verdicts (GET /api/v1/accuracy, /api/v1/shadow); absent: those routes answer 503 */
  feedback?: FeedbackAuditReader;
  /** the feed subscriptions with their shared status (GET /api/v1/feeds); absent: none configured */
  feeds?: () => Promise<FeedStatusView[]>;
  /** the page's files; default: the package's console/ folder */
  assets?: ConsoleAssets;
  now?: () => number;
}

interface RuleFile {
  name: string;
  kind: 'admin' | 'managed';
  file: string;
}

export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): void {
  const { loaded, logger } = deps;
  const { config } = loaded;
  const region = config.numbers.defaultRegion;
  const now = deps.now ?? Date.now;
  const { log } = deps;
  const rules = deps.rules ?? rulesOfOwn(app, loaded, logger);
  const files = ruleFiles(loaded);

  // ---- the page ----
  let assets: ConsoleAssets | undefined = deps.assets;
  try {
    assets ??= loadConsoleAssets();
  } catch (e) {
    logger
      .child({ component: 'http' })
      .error({ err: (e as Error).message }, 'review console page not served (the API is)');
  }
  app.get('/', async (_request, reply) => {
    if (!assets)
      return reply
        .code(503)
        .send({ error: 'unavailable', message: 'the console files are missing from this installation' });
    return reply.type(assets.index.type).send(assets.index.body);
  });
  // the What if and Accuracy pages (their data: replay-routes.ts and the accuracy report's routes)
  for (const name of ['what-if', 'accuracy'])
    app.get(`/${name}`, async (_request, reply) => {
      const page = assets?.pages?.get(name);
      if (!page)
        return reply
          .code(503)
          .send({ error: 'unavailable', message: 'the console files are missing from this installation' });
      return reply.type(page.type).send(page.body);
    });
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = assets?.assets.get(request.params.name);
    if (!asset) return reply.code(404).send({ error: 'not-found', message: 'no such file' });
    return reply.type(asset.type).send(asset.body);
  });

  // ---- what if: the replay ----
  registerReplayRoutes(app, { loaded, log, now });

  // ---- calls ----
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/calls', async (request, reply) => {
    const q = request.query;
    const options: LogOptions = {
      since: given(q.since) ?? DEFAULT_CALLS_SINCE,
      limit: given(q.limit) ?? String(DEFAULT_CALLS_LIMIT),
    };
    for (const name of ['until', 'verdict', 'number', 'did'] as const) {
      const value = given(q[name]);
      if (value !== undefined) options[name] = value;
    }
    let query;
    try {
      query = parseLogQuery(options, region, now());
    } catch (e) {
      return badQuery(reply, e);
    }
    if (query.limit > MAX_CALLS_LIMIT) return bad(reply, `limit: at most ${MAX_CALLS_LIMIT}`);
    const filtered =
      query.filter.verdicts !== undefined || query.filter.caller !== undefined || query.filter.did !== undefined;
    const calls: CallView[] = [];
    let more = false;
    let scanned = 0;
    const skipped = new SkippedEntries();
    try {
      for await (const call of log.entriesNewestFirst(idRange(query), {
        batchSize: filtered ? 1000 : Math.min(1000, query.limit + 1),
        onUnreadable: (id, problem) => {
          scanned++; // read all the same: counts towards the scan's bound
          skipped.add(id, problem);
        },
      })) {
        if (++scanned > MAX_CALLS_SCAN) {
          more = true;
          break;
        }
        if (!matchesFilter(call.record, query.filter)) continue;
        if (calls.length === query.limit) {
          more = true;
          break;
        }
        calls.push(callView(call));
      }
    } catch (e) {
      return unavailable(request, reply, e);
    }
    reportSkipped(request, skipped);
    return { calls, more, skipped: skipped.count };
  });

  app.get<{ Params: { id: string } }>('/api/v1/calls/:id', async (request, reply) => {
    const { id } = request.params;
    if (!STREAM_ID.test(id)) return notFound(reply, 'no call with that id');
    const skipped = new SkippedEntries();
    try {
      for await (const call of log.entries({ start: id, end: id }, { batchSize: 1, onUnreadable: skipped.add }))
        return callView(call);
    } catch (e) {
      return unavailable(request, reply, e);
    }
    if (skipped.first) {
      reportSkipped(request, skipped);
      return notFound(reply, `the log entry with that id is not a readable call record (${skipped.first.problem})`);
    }
    return notFound(reply, 'no call with that id (it may have aged out of the log)');
  });

  // ---- always allow ----
  app.post('/api/v1/allow', async (request, reply) => {
    const body = jsonObjectBody(request, reply, ALLOW_FIELDS, '{ "number": "..." }');
    if ('sent' in body) return body.sent;
    const { fields } = body;
    if (typeof fields.number !== 'string') return bad(reply, 'number must be a string, e.g. "+1 212 555 0147"');
    if (fields.note !== undefined && (typeof fields.note !== 'string' || fields.note.length > MAX_NOTE))
      return bad(reply, `note must be text of at most ${MAX_NOTE} characters`);
    const number = numberForFeedback(fields.number, region);
    if ('reason' in number) return bad(reply, `number ${number.reason}`);
    const note = cleanText(fields.note as string | undefined, MAX_NOTE);
    const by = request.identity?.scheme === 'basic' ? ` by ${request.identity.name}` : '';
    const label = `${MANAGED_LABEL_PREFIX} always allow${note ? ` (${note})` : ''}, ${new Date(now()).toISOString().slice(0, 10)}${by}`;
    try {
      const change = await deps.list.promote(number.e164, label);
      request.log.info(
        { number: number.e164, change, identity: request.identity?.name },
        'number put on the managed allow list from the console',
      );
      return { number: number.e164, added: change === 'added', file: config.rules.managedFile };
    } catch (e) {
      if (e instanceof ConfigError)
        return reply.code(409).send({ error: 'conflict', message: `${e.message} (fix the file; it was not changed)` });
      request.log.warn({ err: (e as Error).message }, 'managed allow list not changed');
      return reply.code(503).send({ error: 'unavailable', message: (e as Error).message });
    }
  });

  // ---- rules ----
  app.get('/api/v1/rules', async () => {
    const managed = rules.managedRules();
    // the admin's rules are the rules in force less the managed list's and the contacts sources'
    const notAdmin = new Set([...managed.rules, ...(rules.contactsRules?.().rules ?? [])]);
    const admin: Pick<RuleSet, 'rules'> = { rules: rules.current().rules.filter((r) => !notAdmin.has(r)) };
    const lastError = rules.lastError;
    const managedError = rules.managedError;
    const adminError =
      lastError !== undefined && lastError !== managedError && lastError !== rules.contactsError
        ? lastError
        : undefined;
    const [adminFile, managedFile] = files;
    return {
      files: [
        ruleFileView(adminFile.name, 'admin', admin, adminError),
        ruleFileView(managedFile.name, 'managed', managed, managedError),
      ],
      lastReloadError: lastError?.message ?? null,
    };
  });

  app.get<{ Querystring: { name?: string } }>('/api/v1/rules/source', async (request, reply) => {
    const name = request.query.name;
    if (typeof name !== 'string' || name === '') return bad(reply, 'name: which rule file (as /api/v1/rules names it)');
    // only a bare file name; the file read is always the configured path, never one built from the request
    if (
      name.includes('/') ||
      name.includes('\\') ||
      name.includes('\0') ||
      name === '.' ||
      name === '..' ||
      path.isAbsolute(name)
    )
      return bad(reply, 'name: a rule file name as /api/v1/rules lists it, not a path');
    const wanted = files.find((f) => f.name === name);
    if (!wanted) return notFound(reply, `no rule file named ${name}`);
    try {
      const stat = await fs.stat(wanted.file);
      if (!stat.isFile()) return notFound(reply, `${name} is not a file`);
      if (stat.size > MAX_RULES_FILE_BYTES)
        return reply
          .code(413)
          .send({ error: 'too-large', message: `${name} is larger than ${MAX_RULES_FILE_BYTES} bytes` });
      const text = await fs.readFile(wanted.file, 'utf8');
      return reply.type('text/plain; charset=utf-8').send(text);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        return notFound(
          reply,
          wanted.kind === 'managed'
            ? `${name} does not exist yet (no number has been allowed from feedback)`
            : `${name} does not exist`,
        );
      throw e;
    }
  });

  // ---- feed subscriptions ----
  app.get('/api/v1/feeds', async (request, reply) => {
    try {
      return { feeds: deps.feeds ? await deps.feeds() : [] };
    } catch (e) {
      request.log.warn({ err: (e as Error).message }, 'feed statuses not readable');
      return reply
        .code(503)
        .send({ error: 'unavailable', message: 'the feed statuses (Redis) are not readable; try again' });
    }
  });

  // ---- accuracy and shadow reports ----
  // one computation per query and REPORT_TTL_MS, however many consoles ask; a failed one is not kept
  const reports = new Map<string, { at: number; value: Promise<unknown> }>();
  const reportOf = (key: string, compute: () => Promise<unknown>): Promise<unknown> => {
    const cached = reports.get(key);
    if (cached && now() - cached.at < REPORT_TTL_MS) return cached.value;
    for (const [k, v] of reports) if (now() - v.at >= REPORT_TTL_MS) reports.delete(k);
    const value = compute();
    reports.set(key, { at: now(), value });
    value.catch(() => reports.delete(key));
    return value;
  };
  const rangeOf = (q: Record<string, string | undefined>, defaultSince: string): ReportRange => {
    const nowMs = now();
    const sinceMs = parseTimeSpec(given(q.since) ?? defaultSince, nowMs, '--since');
    const until = given(q.until);
    const untilMs = until !== undefined ? parseTimeSpec(until, nowMs, '--until') : undefined;
    if (untilMs !== undefined && untilMs < sinceMs) throw usageError('--until', 'is before since');
    return { sinceMs, ...(untilMs !== undefined ? { untilMs } : {}), nowMs };
  };
  const policies = shadowPolicies(config.policies);

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/accuracy', async (request, reply) => {
    const q = request.query;
    const by = given(q.by);
    if (by !== undefined && !(GROUP_BY as readonly string[]).includes(by))
      return bad(reply, `by: one of ${GROUP_BY.join(', ')}`);
    let range: ReportRange;
    try {
      range = rangeOf(q, DEFAULT_ACCURACY_SINCE);
    } catch (e) {
      return badQuery(reply, e);
    }
    const { feedback } = deps;
    if (!feedback) return reply.code(503).send({ error: 'unavailable', message: 'no feedback store here' });
    try {
      return await reportOf(`accuracy ${q.since ?? ''} ${q.until ?? ''} ${by ?? ''}`, () =>
        readAccuracyReport(log, feedback, range, by as GroupBy | undefined),
      );
    } catch (e) {
      return unavailable(request, reply, e);
    }
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/v1/shadow', async (request, reply) => {
    let range: ReportRange;
    try {
      range = rangeOf(request.query, DEFAULT_SHADOW_SINCE);
    } catch (e) {
      return badQuery(reply, e);
    }
    const { feedback } = deps;
    if (!feedback) return reply.code(503).send({ error: 'unavailable', message: 'no feedback store here' });
    try {
      return await reportOf(`shadow ${request.query.since ?? ''} ${request.query.until ?? ''}`, () =>
        readShadowReport(log, feedback, range, policies),
      );
    } catch (e) {
      return unavailable(request, reply, e);
    }
  });

  // ---- summary ----
  // computed at most every SUMMARY_TTL_MS per window, whatever the number of consoles polling it
  const summaries = new Map<number, { at: number; value: Promise<SummaryAnswer> }>();
  const summaryOf = (hours: number): Promise<SummaryAnswer> => {
    const cached = summaries.get(hours);
    if (cached && now() - cached.at < SUMMARY_TTL_MS) return cached.value;
    const value = computeSummary(log, hours, now());
    summaries.set(hours, { at: now(), value });
    value.catch(() => summaries.delete(hours));
    return value;
  };
  app.get<{ Querystring: { hours?: string } }>('/api/v1/summary', async (request, reply) => {
    const hours = given(request.query.hours) === undefined ? 24 : Number(request.query.hours);
    if (!Number.isInteger(hours) || hours < 1 || hours > MAX_SUMMARY_HOURS)
      return bad(reply, `hours: a whole number from 1 to ${MAX_SUMMARY_HOURS}`);
    try {
      return await summaryOf(hours);
    } catch (e) {
      return unavailable(request, reply, e);
    }
  });
}

/** The summary with the count of entries left out because they were not call records. */
type SummaryAnswer = Summary & { skipped: number };

/**
 * From the per-hour counts the daemon keeps as it logs (a fixed number of small reads, whatever the number of
 * calls) for the hours it counted; the hours before that (a log written by an older version) are read from the
 * entries, newest first: when they hold more than MAX_SCAN entries, the oldest are the ones left out; an
 * unreadable entry counts towards MAX_SCAN (it was read) and in `skipped`.
 */
export async function computeSummary(log: CallLogReader, hours: number, nowMs: number): Promise<SummaryAnswer> {
  const counter = new SummaryCounter(hours, nowMs);
  const firstHour = Math.floor(counter.fromMs / HOUR_MS);
  const lastHour = firstHour + hours - 1;
  // counts cannot be read (a log that keeps none, Redis not answering that): every hour from the entries
  const since = log.hourTallies && log.countedSince ? await log.countedSince().catch(() => undefined) : undefined;
  // the hour counting began in was partly counted: it and the hours before come from the entries
  const firstCounted = since === undefined ? lastHour + 1 : Math.max(firstHour, since + 1);
  if (log.hourTallies && firstCounted <= lastHour)
    for (const tally of await log.hourTallies(firstCounted, lastHour - firstCounted + 1)) counter.addTally(tally);
  if (firstCounted === firstHour) return { ...counter.result(false), skipped: 0 };
  let read = 0;
  let skipped = 0;
  const onUnreadable = (): void => {
    read++;
    skipped++;
  };
  const end = firstCounted > lastHour ? '+' : String(firstCounted * HOUR_MS - 1);
  for await (const call of log.entriesNewestFirst({ start: String(counter.fromMs), end }, { onUnreadable })) {
    if (++read > MAX_SCAN) return { ...counter.result(true), skipped };
    counter.add(call, idMs(call.id));
  }
  return { ...counter.result(false), skipped };
}

/** The two rule files the daemon loads, with the names the API uses for them (their file names). */
function ruleFiles(loaded: LoadedConfig): [RuleFile, RuleFile] {
  const adminFile = loaded.rulesFile;
  const managedFile = managedFilePath(loaded);
  let adminName = path.basename(adminFile);
  let managedName = path.basename(managedFile);
  if (adminName === managedName) {
    adminName = `admin-${adminName}`;
    managedName = `managed-${managedName}`;
  }
  return [
    { name: adminName, kind: 'admin', file: adminFile },
    { name: managedName, kind: 'managed', file: managedFile },
  ];
}

/** Without the daemon's reloader (tests, tools): a reloader of its own, watching until the server closes. */
function rulesOfOwn(app: FastifyInstance, loaded: LoadedConfig, logger: Logger): RulesView {
  const reloader = new RulesReloader({
    file: loaded.rulesFile,
    managedFile: managedFilePath(loaded),
    managedDisplayName: loaded.config.rules.managedFile,
    contactsFolder: contactsFolderPath(loaded),
    contactsDisplayFolder: loaded.config.rules.contactsFolder,
    defaultRegion: loaded.config.numbers.defaultRegion,
    limits: loaded.config.rules, // rules.maxFileBytes, rules.maxRules
    logger,
  });
  try {
    reloader.load();
    reloader.start();
    app.addHook('onClose', async () => reloader.close());
    return reloader;
  } catch (e) {
    const error =
      e instanceof ConfigError
        ? e
        : new ConfigError([{ file: loaded.rulesFile, line: 0, column: 0, reason: (e as Error).message }]);
    return {
      current: () => EMPTY_RULE_SET,
      managedRules: () => EMPTY_RULE_SET,
      lastError: error,
      managedError: undefined,
    };
  }
}

const given = (v: string | undefined): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).send({ error: 'not-found', message });
}

/** A query parameter the CLI's parser refused: its reason, named after the parameter (not the CLI option). */
function badQuery(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof ConfigError)
    return bad(
      reply,
      e.problems
        .map(
          (p) =>
            `${p.file.replace(/^--/, '')}: ${p.reason.replace(/--(since|until|limit|verdict|number|did)\b/g, '$1')}`,
        )
        .join('; '),
    );
  throw e;
}

/** at debug level: a console polls every few seconds, and the answer says it (`skipped`) */
function reportSkipped(request: FastifyRequest, skipped: SkippedEntries): void {
  if (skipped.first)
    request.log.debug(
      { skipped: skipped.count, first: skipped.first },
      'screened-call log: unreadable entries skipped',
    );
}

function unavailable(request: FastifyRequest, reply: FastifyReply, e: unknown): FastifyReply {
  request.log.warn({ err: (e as Error).message }, 'screened-call log not readable');
  return reply
    .code(503)
    .send({ error: 'unavailable', message: 'the screened-call log (Redis) is not reachable; try again' });
}
