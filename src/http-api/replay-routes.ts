/**
 * The console's What if page's API: the replay of `callscreen replay` (src/replay/replay-log.ts) run in
 * the daemon, on its Redis client (the console's log reader), against the running configuration or a
 * candidate file beside it.
 *
 *   GET  /api/v1/replay/candidates    { candidates: ["running", "strict.yaml", ...], running: { config, rules }, maxRangeDays }
 *   POST /api/v1/replay               { config?, rules?, since?, until?, did?, show? } -> ReplayResult
 *
 * A candidate is named, never located: a bare *.yaml file name in the folder of the running callscreen.yaml
 * ("running", or no name, for the files in force). A name with a path separator or `..` is refused (400)
 * before anything is read, and only the names the candidates list holds are read at all, so the route
 * cannot be turned into a reader of other files. A candidate with a problem is a 400 naming the file, line
 * and reason, as `callscreen replay` would print it.
 *
 * Bounded: one replay at a time in the daemon (409 while one runs), a range of at most MAX_RANGE_DAYS,
 * and the log read in small batches so the calls screened meanwhile are not held up.
 */
import { bad, jsonObjectBody } from './json-body';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SkippedEntries } from '../call-log/skipped-entries';
import { loadConfigText, type LoadedConfig } from '../config/load-config';
import { ConfigError, formatProblem } from '../errors/config-error';
import type { CallLogReader } from '../ports/call-log';
import { managedFilePath } from '../reputation/managed-allow-list';
import { prepareReplay, runReplay, type PreparedReplay, type ReplayRequest } from '../replay/replay-log';

/** the longest range one replay covers */
export const MAX_RANGE_DAYS = 31;
export const DEFAULT_REPLAY_SINCE = '7d';
export const DEFAULT_REPLAY_SHOW = 50;
export const MAX_REPLAY_SHOW = 500;
/** the name that stands for the file in force */
export const RUNNING = 'running';
/** log entries per round trip: a few ms of replaying each, between which live calls get the event loop */
const DAEMON_BATCH = 250;
const MAX_CANDIDATE_BYTES = 1024 * 1024;
const FIELDS = ['config', 'rules', 'since', 'until', 'did', 'show'];
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ReplayRouteDeps {
  /** the running configuration (its folder holds the candidates) */
  loaded: LoadedConfig;
  /** the screened-call log, on the daemon's Redis client */
  log: CallLogReader;
  /** where a candidate configuration's ${VAR}s are looked up; default process.env */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export function registerReplayRoutes(app: FastifyInstance, deps: ReplayRouteDeps): void {
  const { loaded, log } = deps;
  const now = deps.now ?? Date.now;
  const folder = path.dirname(loaded.file);
  /** the files in force are not candidates: they are "running" */
  const inForce = new Set([loaded.file, loaded.rulesFile, managedFilePath(loaded)].map((f) => path.resolve(f)));
  let running = false;

  const candidates = async (): Promise<string[]> => {
    const entries = await fs.readdir(folder, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name) && !inForce.has(path.join(folder, e.name)))
      .map((e) => e.name)
      .sort();
  };

  app.get('/api/v1/replay/candidates', async (request, reply) => {
    try {
      return {
        candidates: [RUNNING, ...(await candidates())],
        running: { config: path.basename(loaded.file), rules: path.basename(loaded.rulesFile) },
        maxRangeDays: MAX_RANGE_DAYS,
      };
    } catch (e) {
      request.log.warn({ err: (e as Error).message }, 'configuration folder not readable');
      return reply.code(503).send({ error: 'unavailable', message: 'the configuration folder is not readable' });
    }
  });

  app.post('/api/v1/replay', async (request, reply) => {
    const body = jsonObjectBody(request, reply, FIELDS, '{ "config": "candidate.yaml", "since": "7d" }');
    if ('sent' in body) return body.sent;
    const { fields } = body;
    for (const name of ['config', 'rules', 'since', 'until', 'did'] as const)
      if (fields[name] !== undefined && typeof fields[name] !== 'string') return bad(reply, `${name} must be a string`);
    const text = (name: string): string | undefined => {
      const v = fields[name];
      return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
    };
    const show = fields.show ?? DEFAULT_REPLAY_SHOW;
    if (typeof show !== 'number' || !Number.isInteger(show) || show < 0 || show > MAX_REPLAY_SHOW)
      return bad(reply, `show: a whole number from 0 to ${MAX_REPLAY_SHOW}`);
    const configName = text('config') ?? RUNNING;
    const rulesName = text('rules') ?? RUNNING;
    for (const [field, name] of [
      ['config', configName],
      ['rules', rulesName],
    ] as const) {
      const problem = nameProblem(name);
      if (problem) return bad(reply, `${field}: ${problem}`);
    }

    if (running)
      return reply
        .code(409)
        .send({ error: 'conflict', message: 'a replay is already running in the daemon; try again when it is done' });
    running = true;
    try {
      const listed = new Set(configName === RUNNING && rulesName === RUNNING ? [] : await candidates().catch(() => []));
      for (const [field, name] of [
        ['config', configName],
        ['rules', rulesName],
      ] as const)
        if (name !== RUNNING && !listed.has(name))
          return bad(
            reply,
            `${field}: no candidate file ${name} in the configuration folder (see /api/v1/replay/candidates)`,
          );

      let candidate: LoadedConfig;
      const replayRequest: ReplayRequest = { since: text('since') ?? DEFAULT_REPLAY_SINCE, show };
      const until = text('until');
      const did = text('did');
      if (until !== undefined) replayRequest.until = until;
      if (did !== undefined) replayRequest.did = did;
      if (rulesName !== RUNNING) replayRequest.rulesFile = path.join(folder, rulesName);
      let prepared: PreparedReplay;
      try {
        candidate = configName === RUNNING ? loaded : await loadCandidate(folder, configName, deps.env);
        // the reasons name the files as the configuration writes them, never by their path on the server
        replayRequest.display = {
          rulesFile: rulesName === RUNNING ? candidate.config.rules.file : rulesName,
          managedFile: candidate.config.rules.managedFile,
          contactsFolder: candidate.config.rules.contactsFolder,
        };
        prepared = prepareReplay(candidate, replayRequest, now());
      } catch (e) {
        if (e instanceof ConfigError) return bad(reply, describe(e, folder));
        throw e;
      }
      const untilMs = prepared.query.untilMs ?? prepared.now;
      if (untilMs - prepared.query.sinceMs > MAX_RANGE_DAYS * DAY_MS)
        return bad(
          reply,
          `since: a replay covers at most ${MAX_RANGE_DAYS} days (ask for less, or use callscreen replay)`,
        );

      const unreadable = new SkippedEntries();
      const started = now();
      try {
        const result = await runReplay(log, prepared, { unreadable, batchSize: DAEMON_BATCH });
        request.log.info(
          { config: configName, rules: rulesName, calls: result.calls, changed: result.changed, ms: now() - started },
          'what-if replay run from the console',
        );
        return { ...result, config: configName, rules: rulesName, unreadable: unreadable.count };
      } catch (e) {
        request.log.warn({ err: (e as Error).message }, 'screened-call log not readable');
        return reply
          .code(503)
          .send({ error: 'unavailable', message: 'the screened-call log (Redis) is not reachable; try again' });
      }
    } finally {
      running = false;
    }
  });
}

/** Why `name` is not a bare candidate file name, or undefined when it is one. */
export function nameProblem(name: string): string | undefined {
  if (name === RUNNING) return undefined;
  if (name.includes('/') || name.includes('\\') || name.includes('\0') || name.includes('..') || path.isAbsolute(name))
    return `"${name}" is not a file name: a candidate is a file in the configuration folder, named without any path (no / or ..)`;
  if (!/\.ya?ml$/i.test(name)) return `"${name}" is not a .yaml file`;
  return undefined;
}

/** The candidate configuration, its problems named by its bare file name (no server path in the answer). */
async function loadCandidate(folder: string, name: string, env: NodeJS.ProcessEnv | undefined): Promise<LoadedConfig> {
  const file = path.join(folder, name);
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_CANDIDATE_BYTES)
      throw new ConfigError([{ file: name, line: 0, column: 0, reason: `larger than ${MAX_CANDIDATE_BYTES} bytes` }]);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([
      { file: name, line: 0, column: 0, reason: `not readable (${(e as NodeJS.ErrnoException).code ?? 'error'})` },
    ]);
  }
  return loadConfigText(text, name, env ?? process.env, { path: file });
}

/** The problems as file:line:col reason, with files in the folder named by their bare names. */
function describe(e: ConfigError, folder: string): string {
  return e.problems
    .map((p) => {
      const file = path.isAbsolute(p.file) && path.dirname(p.file) === folder ? path.basename(p.file) : p.file;
      return formatProblem({ ...p, file: file.replace(/^--/, '') });
    })
    .join('; ');
}
