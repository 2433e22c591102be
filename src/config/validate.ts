/** Validate a located YAML value against a zod schema; every issue becomes a located ConfigProblem. */
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors/config-error';
import type { LocatedYaml } from './yaml-document';

/** A value set from the environment instead of the file: its problems are that variable's, not a line's. */
export interface EnvironmentValue {
  /** where it lands in the validated value, e.g. ['redis', 'url'] */
  path: readonly string[];
  /** the environment variable it came from, e.g. CALLSCREEN_REDIS_URL */
  variable: string;
}

/** The file name of a problem with a value from the environment (it has no line). */
const ENVIRONMENT_FILE = '(environment)';

export function validateYaml<S extends z.ZodType>(
  doc: LocatedYaml,
  schema: S,
  fromEnvironment: readonly EnvironmentValue[] = [],
): z.infer<S> {
  const result = schema.safeParse(doc.value ?? {});
  if (result.success) return result.data;
  const problems: ConfigProblem[] = result.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = keys.length > 0 ? [...issue.path, keys[0] as string] : issue.path;
    const where = path.length > 0 ? path.map(String).join('.') : '(top level)';
    const env = fromEnvironment.find((v) => v.path.every((key, i) => path[i] === key));
    if (env)
      return { file: ENVIRONMENT_FILE, line: 0, column: 0, reason: `${where} from ${env.variable}: ${issue.message}` };
    const reason =
      issue.code === 'unrecognized_keys'
        ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')} in ${issue.path.map(String).join('.') || 'the top level'}`
        : `${where}: ${issue.message}`;
    return { file: doc.file, ...doc.locate(path, { key: keys.length > 0 }), reason };
  });
  throw new ConfigError(problems);
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
