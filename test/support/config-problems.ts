/** The located problems a configuration or rules loader reports: fn must throw a ConfigError. */
import { ConfigError, type ConfigProblem } from '../../src/errors/config-error';

export function problemsOf(fn: () => unknown): readonly ConfigProblem[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
