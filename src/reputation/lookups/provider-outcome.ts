/**
 * What one request to a provider came to, before it is cached or scored: an answer (score 0..1 already
 * mapped), "number not known", or a failure of a named kind (for the metrics and the reason's text).
 */

export const LOOKUP_FAILURE_KINDS = [
  'timeout',
  'network',
  'http',
  'garbage',
  'too-large',
  'rate-limited',
  'breaker-open',
] as const;
export type LookupFailureKind = (typeof LOOKUP_FAILURE_KINDS)[number];

export type ProviderOutcome =
  | { status: 'answered'; score: number; reports?: number; category?: string; name?: string }
  | { status: 'unknown' }
  | { status: 'failed'; kind: LookupFailureKind; detail: string };

/** Anything a provider can be asked: the HTTP JSON provider, or a fake in the unit tests. */
export interface LookupProvider {
  readonly name: string;
  /** never rejects: every failure is an outcome */
  ask(e164: string, signal?: AbortSignal): Promise<ProviderOutcome>;
  /** let go of idle connections (the service is closing) */
  close?(): void;
}
