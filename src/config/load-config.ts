/**
 * Load config/callscreen.yaml: parse, validate against the schema, apply the environment's connection
 * overrides, freeze. One ConfigError naming file, line, column and reason when anything is wrong.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileScreening, type ScreeningModel } from '../domain/screening-policy';
import { ConfigError } from '../errors/config-error';
import { contentHash, unreadable } from './file-reloader';
import { configSchema, type CallscreenConfig } from './schema';
import { deepFreeze, validateYaml, type EnvironmentValue } from './validate';
import { parseYamlText } from './yaml-document';

export interface LoadedConfig {
  config: CallscreenConfig;
  /** absolute path of the config file */
  file: string;
  /** absolute path of the rules file it names */
  rulesFile: string;
  /** screening defaults with the policies compiled (DID groups resolved, DIDs normalised) */
  screening: ScreeningModel;
  /** hash of the text it was loaded from (lets a reloader tell an edit from the file it started with) */
  textHash?: string;
}

/** A top-level section of callscreen.yaml (ari, redis, screening, ...). */
export type ConfigSection = keyof CallscreenConfig;

export interface LoadConfigTextOptions {
  /** absolute path of the file the text is from (rules.file is relative to it); default: file resolved */
  path?: string;
  /**
   * Take these sections from a running configuration instead of the text, which is validated whole all
   * the same (a running daemon keeps what needs a restart, and compiles the policies with its region).
   */
  keep?: { config: CallscreenConfig; sections: readonly ConfigSection[] };
}

/** Environment variables that override connection settings (secrets belong there, not in the file). */
export const ENV_OVERRIDES = {
  CALLSCREEN_ARI_URL: ['ari', 'url'],
  CALLSCREEN_ARI_USER: ['ari', 'username'],
  CALLSCREEN_ARI_PASSWORD: ['ari', 'password'],
  CALLSCREEN_AMI_HOST: ['ami', 'host'],
  CALLSCREEN_AMI_PORT: ['ami', 'port'],
  CALLSCREEN_AMI_USER: ['ami', 'username'],
  CALLSCREEN_AMI_PASSWORD: ['ami', 'password'],
  /** selects the url form (a sentinel or cluster block in the file is then ignored); CALLSCREEN_REDIS_PASSWORD: see redis-connection.ts */
  CALLSCREEN_REDIS_URL: ['redis', 'url'],
  CALLSCREEN_LOG_LEVEL: ['log', 'level'],
} as const;

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (e) {
    throw unreadable(e, file);
  }
  return loadConfigText(text, file, env, { path: absolute });
}

/** The text of callscreen.yaml -> the frozen configuration; `file` names it in problems. */
export function loadConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigTextOptions = {},
): LoadedConfig {
  const absolute = options.path ?? path.resolve(file);
  const doc = parseYamlText(text, file);
  const raw = structuredClone(doc.value ?? {}) as Record<string, Record<string, unknown> | undefined>;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([
      { file, line: 1, column: 1, reason: 'the file must hold a mapping of sections (ari:, redis:, ...)' },
    ]);
  }
  const fromEnvironment: EnvironmentValue[] = [];
  for (const [name, [section, key]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const target = (raw[section] ??= {});
    if (typeof target !== 'object' || target === null) continue;
    target[key] = key === 'port' ? Number(value) : value;
    fromEnvironment.push({ path: [section, key], variable: name });
  }
  // CALLSCREEN_REDIS_URL selects the url form: a sentinel or cluster block in the file gives way to it
  if (env.CALLSCREEN_REDIS_URL && typeof raw.redis === 'object' && raw.redis !== null) {
    delete raw.redis.sentinel;
    delete raw.redis.cluster;
  }
  // a problem with an overridden value names the variable: the line in the file is not what was used
  const validated = validateYaml({ ...doc, value: raw }, configSchema, fromEnvironment);
  const config = options.keep ? withSections(validated, options.keep.config, options.keep.sections) : validated;
  const { model, problems } = compileScreening(config);
  if (problems.length > 0)
    throw new ConfigError(
      problems.map((p) => ({ file, ...doc.locate(p.path), reason: `${p.path.map(String).join('.')}: ${p.reason}` })),
    );
  return deepFreeze({
    config,
    file: absolute,
    rulesFile: path.resolve(path.dirname(absolute), config.rules.file),
    screening: model,
    textHash: contentHash(text),
  });
}

function withSections(
  config: CallscreenConfig,
  from: CallscreenConfig,
  sections: readonly ConfigSection[],
): CallscreenConfig {
  const merged: Record<string, unknown> = { ...config };
  for (const section of sections) merged[section] = from[section];
  return merged as CallscreenConfig;
}
