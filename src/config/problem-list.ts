/**
 * The problems of one file, collected one by one and capped: a file with 200,000 bad entries lists the
 * first MAX_REPORTED_PROBLEMS and one line counting the rest. Nobody reads more, and an unbounded list
 * costs memory, log volume and (spread into a call's arguments) a stack overflow.
 */
import { ConfigError, type ConfigProblem } from '../errors/config-error';

/** How many problems of one file are listed; the rest are counted. */
export const MAX_REPORTED_PROBLEMS = 100;

export class ProblemList {
  private readonly listed: ConfigProblem[] = [];
  private unlisted = 0;

  /** the file the "and N more" line names */
  constructor(private readonly file: string) {}

  /** every problem added, listed or not */
  get count(): number {
    return this.listed.length + this.unlisted;
  }

  add(problem: ConfigProblem): void {
    if (this.listed.length < MAX_REPORTED_PROBLEMS) this.listed.push(problem);
    else this.unlisted++;
  }

  addAll(problems: Iterable<ConfigProblem>): void {
    for (const p of problems) this.add(p);
  }

  /** The listed problems (in file order with `sortByPosition`), then one line counting the rest. */
  toError(options: { sortByPosition?: boolean; cause?: unknown } = {}): ConfigError {
    const listed = options.sortByPosition
      ? [...this.listed].sort((a, b) => a.line - b.line || a.column - b.column)
      : [...this.listed];
    if (this.unlisted > 0)
      listed.push({
        file: this.file,
        line: 0,
        column: 0,
        reason: `and ${this.unlisted.toLocaleString('en')} more problems (only the first ${MAX_REPORTED_PROBLEMS} are listed)`,
      });
    return new ConfigError(listed, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
