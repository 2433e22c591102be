/**
 * The guards around a provider: the circuit breaker (opens after failures in a row, one trial after the
 * open time, closes on success), the rate limit (a token bucket; an empty bucket refuses, never waits)
 * and single flight (a second ask for the same key joins the one in flight). A clock the test moves.
 */
import { CircuitBreaker } from '../../src/reputation/lookups/circuit-breaker';
import { RateLimiter } from '../../src/reputation/lookups/rate-limiter';
import { SingleFlight } from '../../src/reputation/lookups/single-flight';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('circuit breaker', () => {
  test('opens after the configured failures in a row, and says so once', () => {
    const c = clock();
    const breaker = new CircuitBreaker({ failures: 3, openSeconds: 10 }, c.now);
    expect(breaker.failure()).toBeUndefined();
    expect(breaker.failure()).toBeUndefined();
    expect(breaker.failure()).toEqual({ from: 'closed', to: 'open' });
    expect(breaker.tryAcquire()).toEqual({ allowed: false });
    expect(breaker.state).toBe('open');
  });

  test('a success in between starts the count again', () => {
    const breaker = new CircuitBreaker({ failures: 2, openSeconds: 10 });
    breaker.failure();
    breaker.success();
    expect(breaker.failure()).toBeUndefined();
    expect(breaker.state).toBe('closed');
  });

  test('after the open time one trial goes; its success closes the breaker', () => {
    const c = clock();
    const breaker = new CircuitBreaker({ failures: 1, openSeconds: 10 }, c.now);
    breaker.failure();
    c.advance(9_999);
    expect(breaker.tryAcquire().allowed).toBe(false);
    c.advance(1);
    expect(breaker.tryAcquire()).toEqual({ allowed: true, change: { from: 'open', to: 'half-open' } });
    expect(breaker.tryAcquire().allowed).toBe(false); // the trial is out: nobody else
    expect(breaker.success()).toEqual({ from: 'half-open', to: 'closed' });
    expect(breaker.tryAcquire().allowed).toBe(true);
  });

  test('a failed trial opens it again for the whole open time', () => {
    const c = clock();
    const breaker = new CircuitBreaker({ failures: 5, openSeconds: 10 }, c.now);
    for (let i = 0; i < 5; i++) breaker.failure();
    c.advance(10_000);
    breaker.tryAcquire();
    expect(breaker.failure()).toEqual({ from: 'half-open', to: 'open' });
    c.advance(5_000);
    expect(breaker.tryAcquire().allowed).toBe(false);
  });
});

test('a trial given back unused lets the next request be the trial', () => {
  const c = clock();
  const breaker = new CircuitBreaker({ failures: 1, openSeconds: 1 }, c.now);
  breaker.failure();
  c.advance(1000);
  expect(breaker.tryAcquire().allowed).toBe(true);
  breaker.cancelTrial();
  expect(breaker.state).toBe('half-open');
  expect(breaker.tryAcquire().allowed).toBe(true);
});

describe('rate limiter', () => {
  test('lets a burst through, then refuses until tokens come back at the rate', () => {
    const c = clock();
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, c.now);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    c.advance(499);
    expect(limiter.tryTake()).toBe(false);
    c.advance(1);
    expect(limiter.tryTake()).toBe(true);
    c.advance(60_000); // a quiet spell refills to the burst, no more
    expect([1, 2, 3, 4].map(() => limiter.tryTake())).toEqual([true, true, true, false]);
  });
});

describe('single flight', () => {
  test('a second run for the same key joins the first; another key runs its own; a settled key runs again', async () => {
    const flights = new SingleFlight<string>();
    let release: (v: string) => void = () => undefined;
    let started = 0;
    const start = () => {
      started += 1;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const first = flights.run('a', start);
    const second = flights.run('a', start);
    expect([first.joined, second.joined, started]).toEqual([false, true, 1]);
    flights.run('b', () => Promise.resolve('b'));
    expect(started).toBe(1);
    release('answer');
    await expect(second.promise).resolves.toBe('answer');
    await first.promise;
    await Promise.resolve();
    expect(flights.run('a', start).joined).toBe(false);
    expect(started).toBe(2);
  });
});
