/**
 * Load config/callscreen.yaml: parse, validate against the schema, apply the environment's connection
 * overrides, freeze. One ConfigError naming file, line, column and reason when anything is wrong.
 */
import path from 'node:path';
import { compileScreening, type ScreeningModel } from '../domain/screening-policy';
import { ConfigError } from '../errors/config-error';
import { configSchema, type CallscreenConfig } from './schema';
import { deepFreeze, validateYaml } from './validate';
import { readYamlFile } from './yaml-document';

export interface LoadedConfig {
  config: CallscreenConfig;
  /** absolute path of the config file */
  file: string;
  /** absolute path of the rules file it names */
  rulesFile: string;
  /** screening defaults with the policies compiled (DID groups resolved, DIDs normalised) */
  screening: ScreeningModel;
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
  CALLSCREEN_REDIS_URL: ['redis', 'url'],
  CALLSCREEN_LOG_LEVEL: ['log', 'level'],
} as const;

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const absolute = path.resolve(file);
  const doc = readYamlFile(absolute, file);
  const raw = structuredClone(doc.value ?? {}) as Record<string, Record<string, unknown> | undefined>;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ file, line: 1, column: 1, reason: 'the file must hold a mapping of sections (ari:, redis:, ...)' }]);
  }
  for (const [name, [section, key]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const target = (raw[section] ??= {});
    if (typeof target !== 'object' || target === null) continue;
    target[key] = key === 'port' ? Number(value) : value;
  }
  const config = validateYaml({ ...doc, value: raw }, configSchema);
  const { model, problems } = compileScreening(config);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => ({ file, ...doc.locate(p.path), reason: `${p.path.map(String).join('.')}: ${p.reason}` })));
  return deepFreeze({ config, file: absolute, rulesFile: path.resolve(path.dirname(absolute), config.rules.file), screening: model });
}
