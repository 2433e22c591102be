/**
 * `callscreen check NUMBER [--to DID] [--at TIME] [--attest A|B|C|none|failed] [--json]`: the decision a
 * call would get, through the same CallEvaluator a live call goes through, without Asterisk. Reads
 * Redis when it is reachable (and writes nothing to it); says plainly when it is not.
 */
import type { Command } from 'commander';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import { RedisCallerHistoryStore } from '../adapters/redis/redis-caller-history-store';
import { ReputationSourceTable } from '../adapters/redis/reputation-source-table';
import { connectForCommand, createRedisClient, describeRedis } from '../adapters/redis/redis-connection';
import { CallEvaluator, type Evaluation } from '../calls/call-evaluator';
import { loadConfig, type LoadedConfig } from '../config/load-config';
import { managedFilePath } from '../reputation/managed-allow-list';
import { contactsFolderPath, loadAllRuleFiles } from '../config/contacts-folder';
import { ATTESTATIONS } from '../config/schema';
import { formatPoints, type Decision } from '../domain/decision';
import { describePhoneNumber } from '../domain/phone-number';
import { normaliseAttestation } from '../domain/screen-call';
import type { Attestation } from '../domain/screening-settings';
import { readVerstat } from '../domain/verstat';
import { ConfigError } from '../errors/config-error';

export function registerCheckCommand(program: Command, defaultConfig: string): void {
  program
    .command('check <number>')
    .description(
      'show the verdict, score and reasons a call from NUMBER would get, the way a live call is decided (writes nothing)',
    )
    .option('-t, --to <did>', 'the number called (DID); policies and rule scopes depend on it')
    .option('--at <time>', 'the time of the call, ISO 8601 (default now); policies with time windows depend on it')
    .option('--attest <level>', 'STIR/SHAKEN attestation: A, B, C, none or failed')
    .option(
      '--verstat <value>',
      "the carrier's verstat on the caller's number: TN-Validation-Passed[-A|-B|-C], TN-Validation-Failed or No-TN-Validation (--attest wins)",
    )
    .option('--from <number>', 'the number in the From header, when the carrier asserts NUMBER in P-Asserted-Identity')
    .option(
      '--pai <number>',
      "the number the carrier asserts in P-Asserted-Identity: screened instead of NUMBER, which is then the From header's (e.g. anonymous)",
    )
    .option(
      '--privacy <value>',
      "the Privacy header (id, none): id hides the number from the agents' phones; it is screened all the same",
    )
    .option(
      '--name <text>',
      "the caller's name (From / P-Asserted-Identity display name, or CNAM): name rules match it",
    )
    .option('--diversion <number>', 'the number that forwarded the call (Diversion / History-Info)')
    .option(
      '--region <region>',
      'read numbers without a country code with this region (as a trunk in numbers.endpointRegions would)',
    )
    .option('--json', 'print the decision as one JSON object')
    .option('-c, --config <file>', 'configuration file', defaultConfig)
    .action(async (number: string, opts: Omit<CheckOptions, 'number'> & { config: string }) => {
      const result = await checkCall(loadConfig(opts.config), { number, ...opts });
      process.stdout.write(opts.json ? checkJson(result) : renderCheck(result));
    });
}

export interface CheckOptions {
  number: string;
  to?: string;
  at?: string;
  attest?: string;
  verstat?: string;
  /** the From header's number (--from) */
  from?: string;
  /** the number that forwarded the call (--diversion) */
  diversion?: string;
  /** the region numbers without a country code are read with (--region) */
  region?: string;
  /** the P-Asserted-Identity number (--pai): screened; `number` is then the From header's */
  pai?: string;
  /** the Privacy header (--privacy) */
  privacy?: string;
  /** the caller's name (--name) */
  name?: string;
  json?: boolean;
}

export interface CheckResult {
  evaluation: Evaluation;
  /** the Privacy header given with --privacy, normalised */
  privacy?: Privacy;
  /** the caller's name given with --name */
  name?: string;
  redis: { url: string; status: 'consulted' | 'not-needed' | 'unreachable'; detail?: string };
}

/** Bad command-line input: reported like a config problem (exit 2), naming the option. */
function usageError(option: string, reason: string): ConfigError {
  return new ConfigError([{ file: option, line: 0, column: 0, reason }]);
}

export function parseCheckTime(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const parsed = new Date(at);
  if (Number.isNaN(parsed.getTime()))
    throw usageError('--at', `"${at}" is not an ISO time (e.g. 2026-11-23T18:30:00+01:00)`);
  return parsed;
}

/** --verstat: a verstat the carrier could send (any case), or a usage error naming the option. */
export function parseCheckVerstat(verstat: string | undefined): string | undefined {
  if (verstat === undefined) return undefined;
  const read = readVerstat(verstat);
  if (!read)
    throw usageError(
      '--verstat',
      `"${verstat}" is not one of TN-Validation-Passed (optionally -A, -B or -C), TN-Validation-Failed, No-TN-Validation`,
    );
  return read.text;
}

/** --region: an ISO 3166 region libphonenumber knows (any case), or a usage error naming the option. */
export function parseCheckRegion(region: string | undefined): CountryCode | undefined {
  if (region === undefined) return undefined;
  const upper = region.trim().toUpperCase();
  if (!isSupportedCountry(upper))
    throw usageError('--region', `"${region}" is not a region libphonenumber knows (ISO 3166 alpha-2, e.g. CH)`);
  return upper;
}

/** What a Privacy header (RFC 3323) asks for, as far as callscreen cares. */
export type Privacy = 'id' | 'none';

/**
 * --privacy: "id" (RFC 3325: hide the asserted identity; "header" and "user" hide as much), or "none". It does not
 * change the number screened: Asterisk keeps the asserted number and only marks it restricted.
 */
export function parseCheckPrivacy(privacy: string | undefined): Privacy | undefined {
  if (privacy === undefined) return undefined;
  const values = privacy
    .toLowerCase()
    .split(/[;,\s]+/)
    .filter((v) => v !== '');
  if (values.length > 0 && values.every((v) => v === 'none')) return 'none';
  if (values.length > 0 && values.every((v) => ['id', 'header', 'user', 'session', 'critical'].includes(v)))
    return 'id';
  throw usageError('--privacy', `"${privacy}" is not a Privacy header value (id, header, user, none)`);
}

/** --attest: one of the attestations (any case), or a usage error naming the option. */
export function parseCheckAttestation(attest: string | undefined): Attestation | undefined {
  if (attest === undefined) return undefined;
  const attestation = normaliseAttestation(attest);
  if (!attestation) throw usageError('--attest', `"${attest}" is not one of ${ATTESTATIONS.join(', ')}`);
  return attestation;
}

export async function checkCall(loaded: LoadedConfig, options: CheckOptions): Promise<CheckResult> {
  const { config } = loaded;
  const at = parseCheckTime(options.at);
  const attestation = parseCheckAttestation(options.attest);
  const verstat = parseCheckVerstat(options.verstat);
  const region = parseCheckRegion(options.region);
  const privacy = parseCheckPrivacy(options.privacy);
  if (options.pai !== undefined && options.from !== undefined)
    throw usageError(
      '--pai',
      'give --pai (NUMBER is then the From header) or --from (NUMBER is then the asserted caller), not both',
    );
  // with --pai the carrier asserts the caller: that number is screened, NUMBER is what From said
  const caller = options.pai ?? options.number;
  const fromNumber = options.pai !== undefined ? options.number : options.from;
  // rules.yaml, the managed allow list and the contacts sources, merged as the daemon merges them
  const places = {
    rulesFile: loaded.rulesFile,
    managedFile: managedFilePath(loaded),
    contactsFolder: contactsFolderPath(loaded),
  };
  const rules = loadAllRuleFiles(places, config.numbers.defaultRegion, config.rules);

  const redis = createRedisClient(config.redis, { connectionName: 'callscreen-check', reconnect: false });
  redis.on('error', () => undefined);
  const reachable = await connectForCommand(redis);
  try {
    const evaluator = new CallEvaluator({
      history: new RedisCallerHistoryStore(
        redis,
        config.redis.keyPrefix,
        new ReputationSourceTable(redis, config.redis.keyPrefix, undefined, { readOnly: true }),
      ),
    });
    const facts = {
      callerNumber: caller,
      did: options.to ?? '',
      at,
      ...(attestation !== undefined ? { attestation } : {}),
      ...(verstat !== undefined ? { verstat } : {}),
      ...(fromNumber !== undefined ? { fromNumber } : {}),
      ...(options.name !== undefined ? { callerName: options.name } : {}),
      ...(options.diversion !== undefined ? { forwardedBy: options.diversion } : {}),
      ...(region !== undefined ? { region } : {}),
    };
    const evaluation = await evaluator.evaluate(
      facts,
      { config, screening: loaded.screening, rules },
      {
        callId: `check-${process.pid}-${Date.now()}`,
        record: false,
        ...(reachable === true
          ? {}
          : { skipHistory: `Redis at ${describeRedis(config.redis)} is not reachable (${reachable})` }),
      },
    );
    const url = describeRedis(config.redis);
    const redisStatus: CheckResult['redis'] =
      evaluation.historyMs !== undefined
        ? { url, status: 'consulted', detail: `${evaluation.historyMs} ms` }
        : reachable === true
          ? { url, status: 'not-needed' }
          : { url, status: 'unreachable', detail: reachable };
    return {
      evaluation,
      redis: redisStatus,
      ...(privacy ? { privacy } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
    };
  } finally {
    if (reachable === true) await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }
}

/** The decision as a person reads it: one headline, one line per reason with its points. */
export function renderCheck(result: CheckResult): string {
  const d: Decision = result.evaluation.decision;
  const lines: string[] = [];
  const attestation = d.attestation
    ? `, attestation ${d.attestation}${d.verstat ? ` (verstat ${d.verstat})` : ''}`
    : '';
  lines.push(
    `${describePhoneNumber(d.caller)}${result.name !== undefined ? ` ${JSON.stringify(result.name)}` : ''} -> ${describePhoneNumber(d.did) || '(no DID)'} at ${d.at}${attestation}`,
  );
  if (result.privacy === 'id')
    lines.push("privacy: id (the agents' phones do not show the number; it is screened all the same)");
  const shadow = d.shadowVerdict ? ` (shadow mode: would have been ${d.shadowVerdict})` : '';
  lines.push(
    `verdict: ${d.verdict}${shadow}   score: ${d.score}${d.degraded ? '   DEGRADED' : ''}${d.policies.length ? `   policies: ${d.policies.join(', ')}` : ''}`,
  );
  const width = Math.max(...d.reasons.map((r) => r.code.length));
  for (const r of d.reasons) {
    const pts = r.points === undefined ? '' : formatPoints(r.points);
    lines.push(`  ${pts.padStart(5)}  ${r.code.padEnd(width)}  ${r.text}`);
  }
  const { redis } = result;
  if (redis.status === 'consulted')
    lines.push(`redis: ${redis.url} consulted in ${redis.detail ?? '?'} (nothing written)`);
  else if (redis.status === 'not-needed') lines.push(`redis: ${redis.url} not needed for this decision`);
  else
    lines.push(
      `redis: NOT REACHABLE at ${redis.url} (${redis.detail ?? 'unknown'}): decided on rules and the number alone`,
    );
  return `${lines.join('\n')}\n`;
}

export function checkJson(result: CheckResult): string {
  const privacy = {
    ...(result.name !== undefined ? { callerName: result.name } : {}),
    ...(result.privacy ? { privacy: result.privacy } : {}),
  };
  return `${JSON.stringify({ ...result.evaluation.decision, ...privacy, redis: result.redis })}\n`;
}
