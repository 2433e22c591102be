/**
 * The what-if computation over the screened-call log, shared by `callscreen replay` and the console's
 * POST /api/v1/replay: prepareReplay() checks the request against an already loaded candidate
 * configuration (range, DID, --show, the candidate rules) and throws a ConfigError naming the file and
 * line of a problem; runReplay() reads the log through the CallLogReader port in batches and sums the
 * replayed calls up. Neither opens a connection: the CLI brings one of its own, the daemon its client.
 */
import { idRange, parseLogQuery, type LogQuery } from '../call-log/call-log-query';
import { SkippedEntries } from '../call-log/skipped-entries';
import { contactsFolderPath, loadAllRuleFiles, type RuleFilePlaces } from '../config/contacts-folder';
import type { LoadedConfig } from '../config/load-config';
import { describePhoneNumber, normalisePhoneNumber } from '../domain/phone-number';
import { ConfigError } from '../errors/config-error';
import type { CallLogReader } from '../ports/call-log';
import { managedFilePath } from '../reputation/managed-allow-list';
import { replayCall, type ReplayCandidate } from './replay-call';
import { ReplayReport, type ReplaySummary } from './replay-report';

/** the log is read in batches of this many entries */
const BATCH = 2000;

export interface ReplayRequest {
  /** a duration back from now (15m, 2h, 7d) or an ISO time */
  since: string;
  until?: string;
  did?: string;
  /** a candidate rules file instead of the configuration's rules.file */
  rulesFile?: string;
  /** how many changed calls to list in full, as given (the CLI's --show text or a number) */
  show: string | number;
  /** how the rules name their files in the reasons (default: the paths, as the CLI was given them) */
  display?: RuleFilePlaces['display'];
}

export interface PreparedReplay {
  query: LogQuery;
  /** the DID as the log describes it, when only one DID's calls are replayed */
  didKey?: string;
  candidate: ReplayCandidate;
  show: number;
  now: number;
}

export type ReplayResult = ReplaySummary & { range: { since: string; until: string } };

/** Checks the request and loads the candidate rules; throws a ConfigError (file, line, reason) on a problem. */
export function prepareReplay(loaded: LoadedConfig, request: ReplayRequest, now: number): PreparedReplay {
  const { config } = loaded;
  const query = parseLogQuery(
    { since: request.since, ...(request.until !== undefined ? { until: request.until } : {}) },
    config.numbers.defaultRegion,
    now,
  );
  const show = Number(request.show);
  if (!Number.isInteger(show) || show < 0 || show > 10_000)
    throw new ConfigError([
      { file: '--show', line: 0, column: 0, reason: `"${request.show}" is not a count from 0 to 10000` },
    ]);
  let didKey: string | undefined;
  if (request.did !== undefined) {
    const did = normalisePhoneNumber(request.did, config.numbers.defaultRegion);
    didKey = did.kind === 'e164' ? did.e164 : request.did.trim();
  }
  const rules = loadAllRuleFiles(
    {
      rulesFile: request.rulesFile ?? loaded.rulesFile,
      managedFile: managedFilePath(loaded),
      contactsFolder: contactsFolderPath(loaded),
      ...(request.display !== undefined && { display: request.display }),
    },
    config.numbers.defaultRegion,
    config.rules,
  );
  return {
    query,
    ...(didKey !== undefined && { didKey }),
    candidate: { model: loaded.screening, rules },
    show,
    now,
  };
}

/**
 * Replays the prepared range of `log`; entries that are not call records are counted in `unreadable`.
 * `batchSize`: log entries read per round trip; the daemon asks for small batches, so the calls it
 * screens meanwhile wait at most one batch's worth of replaying for the event loop.
 */
export async function runReplay(
  log: CallLogReader,
  prepared: PreparedReplay,
  { unreadable = new SkippedEntries(), batchSize = BATCH }: { unreadable?: SkippedEntries; batchSize?: number } = {},
): Promise<ReplayResult> {
  const { query, didKey, candidate, show, now } = prepared;
  const report = new ReplayReport(show);
  for await (const logged of log.entries(idRange(query), { batchSize, onUnreadable: unreadable.add })) {
    if (didKey !== undefined && describePhoneNumber(logged.record.decision.did) !== didKey) continue;
    report.add(logged, replayCall(logged.record, candidate));
  }
  const until = query.untilMs ?? now;
  return {
    ...report.summary(),
    range: { since: new Date(query.sinceMs).toISOString(), until: new Date(until).toISOString() },
  };
}
