import { backoffCeiling, backoffDelay } from '../../src/adapters/ari/backoff';

const options = { minDelayMs: 250, maxDelayMs: 5000 };

describe('reconnect backoff (full jitter, floored and capped)', () => {
  test('the jitter window doubles per attempt from the minimum up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffCeiling(a, options))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });

  test('a delay is drawn from [min, ceiling]: random 0 gives the minimum, random ~1 the ceiling', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(250);
    expect(backoffDelay(3, options, () => 0.999999)).toBe(2000);
    expect(backoffDelay(3, options, () => 0.5)).toBe(1125);
  });

  test('huge attempt numbers stay at the cap instead of overflowing', () => {
    expect(backoffCeiling(10_000, options)).toBe(5000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, options, () => 0.999999)).toBe(5000);
  });

  test('min equal to max gives a constant delay', () => {
    expect(backoffDelay(7, { minDelayMs: 300, maxDelayMs: 300 }, Math.random)).toBe(300);
  });
});
