/**
 * The floor a Redis-backed decision cannot beat: one bare GET round trip on the same connection, and a
 * throughput driver that keeps a fixed number of calls in flight. Used by bench/decision.ts.
 * No dependencies beyond the ioredis type.
 */
import type Redis from 'ioredis';

const FLOOR_KEY = 'callscreen:bench:floor';

/**
 * The p-th percentile (0..100) of `values` by nearest rank; NaN for an empty list. Does not modify
 * `values`.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const clamped = Math.min(100, Math.max(0, p));
  const rank = Math.ceil((clamped / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/**
 * Sequential GETs of one existing key (written here first), after a warm-up of min(samples, 200)
 * GETs; each timed with process.hrtime.bigint. Microseconds.
 */
export async function measureGetRoundTrip(redis: Redis, samples: number): Promise<{ p50Us: number; p99Us: number }> {
  const count = Math.max(1, Math.trunc(samples));
  await redis.set(FLOOR_KEY, 'x', 'PX', 600_000);
  for (let i = 0; i < Math.min(count, 200); i++) await redis.get(FLOOR_KEY);
  const us: number[] = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await redis.get(FLOOR_KEY);
    us[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return { p50Us: percentile(us, 50), p99Us: percentile(us, 99) };
}

/**
 * Keeps `concurrency` calls of `run` in flight for `durationMs` (each worker starts its next call as
 * soon as its last one settles; none starts after the deadline) and counts the calls that resolved.
 * A rejected call stops the measurement and rejects.
 */
export async function measureThroughput(
  run: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<{ opsPerSecond: number; completed: number }> {
  const workers = Math.max(1, Math.trunc(concurrency));
  let completed = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.max(0, Math.round(durationMs * 1e6)));
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      await run();
      completed++;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsedSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSecond: elapsedSeconds > 0 ? completed / elapsedSeconds : 0, completed };
}
