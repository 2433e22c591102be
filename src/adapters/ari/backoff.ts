/**
 * Reconnect delays: exponential growth with "full jitter" (each delay drawn uniformly from the
 * current window), floored at the minimum so a dead Asterisk is never hammered, capped at the maximum.
 *
 *   window(attempt) = [min, min(max, min * 2^attempt)]      attempt = 1, 2, 3 ...
 *
 * With min 250 ms and max 5000 ms: attempt 1 waits 250–500 ms, attempt 2 250–1000 ms, from attempt 5
 * on 250–5000 ms. Spreading the delays keeps many daemons from reconnecting in lockstep after an
 * Asterisk restart. Early in an outage LinkSupervisor passes a lower max (quickReconnectMaxDelayMs,
 * 1000 ms by default): calls may be waiting in the app until the link is back.
 */
export interface BackoffOptions {
  minDelayMs: number;
  maxDelayMs: number;
}

/** Upper edge of the jitter window for a 1-based attempt number. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const { minDelayMs, maxDelayMs } = options;
  const exponent = Math.min(Math.max(attempt, 1), 30); // 2^30 * min overflows any sane cap already
  return Math.max(minDelayMs, Math.min(maxDelayMs, minDelayMs * 2 ** exponent));
}

/** Delay before a 1-based attempt; `random` returns [0, 1) and is injectable for tests. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, options);
  return Math.round(options.minDelayMs + random() * (ceiling - options.minDelayMs));
}
