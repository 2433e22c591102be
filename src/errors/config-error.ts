import { CallscreenError } from './callscreen-error';
import { ErrorCode } from './codes';

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem is the file as a whole (missing, unreadable) */
  line: number;
  column: number;
  reason: string;
}

/**
 * A configuration or rules file that cannot be used. Carries every problem found, each with file,
 * line, column and reason; the message lists them as "file:line:column reason".
 */
export class ConfigError extends CallscreenError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem[], options?: { cause?: unknown }) {
    super(ErrorCode.Config, problems.map(formatProblem).join('\n'), options);
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.column} ${p.reason}` : `${p.file}: ${p.reason}`;
}
