/**
 * The one base error of callscreen. Every error the project throws on purpose carries a stable
 * `code` (CS_ERR_*) that logs, tests and callers match on, and the lower-level `cause` it wraps.
 */
export class CallscreenError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
