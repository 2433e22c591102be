/**
 * HoldOvershoot: the reserve online lookups leave at the end of their budget is the 99th percentile of
 * the last overshoots; until a few are known, a starting guess or the slowest so far; a single slow route
 * does not move it, a slower link does, and so do bursts of slow routes.
 */
import { HoldOvershoot } from '../../src/calls/hold-overshoot';

describe('HoldOvershoot', () => {
  test('until eight calls are known, 10 ms or the slowest so far; then the percentile of what is known', () => {
    const overshoot = new HoldOvershoot();
    expect(overshoot.reserveMs).toBe(10);
    for (let ms = 1; ms <= 5; ms++) overshoot.record(ms);
    expect(overshoot.reserveMs).toBe(10);
    overshoot.record(14); // a cold first route
    expect(overshoot.reserveMs).toBe(14);
    overshoot.record(2);
    overshoot.record(3);
    expect(overshoot.reserveMs).toBe(14); // the 99th percentile of eight is their slowest
    for (let i = 0; i < 512; i++) overshoot.record(3);
    expect(overshoot.reserveMs).toBe(3);
  });

  test('a single slow route does not set the reserve', () => {
    const overshoot = new HoldOvershoot();
    for (let i = 0; i < 400; i++) overshoot.record(i === 100 || i === 300 ? 40 : 2);
    expect(overshoot.reserveMs).toBe(2);
  });

  test('a burst of slow routes does, for the calls after it', () => {
    const overshoot = new HoldOvershoot();
    for (let i = 0; i < 400; i++) overshoot.record(i >= 200 && i < 210 ? 18 : 2);
    expect(overshoot.reserveMs).toBe(18);
  });

  test('routes that got slower move it within a window, and nonsense durations are ignored', () => {
    const overshoot = new HoldOvershoot();
    for (let i = 0; i < 512; i++) overshoot.record(2);
    for (let i = 0; i < 512; i++) overshoot.record(10);
    overshoot.record(Number.NaN);
    overshoot.record(-5);
    overshoot.record(Number.POSITIVE_INFINITY);
    expect(overshoot.reserveMs).toBe(10);
  });
});
