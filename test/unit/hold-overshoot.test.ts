/**
 * HoldOvershoot: the reserve online lookups leave for the route is the 95th percentile of the last routes;
 * nothing until a few routes are known, an odd slow route does not move it, a slower link does.
 */
import { HoldOvershoot } from '../../src/calls/hold-overshoot';

describe('HoldOvershoot', () => {
  test('no reserve until eight calls are known, then the slowest of eight', () => {
    const overshoot = new HoldOvershoot();
    for (let ms = 1; ms <= 7; ms++) overshoot.record(ms);
    expect(overshoot.reserveMs).toBe(0);
    overshoot.record(8);
    expect(overshoot.reserveMs).toBe(8);
  });

  test('an odd slow route does not set the reserve', () => {
    const overshoot = new HoldOvershoot();
    for (let i = 0; i < 100; i++) overshoot.record(i % 25 === 0 ? 40 : 2);
    expect(overshoot.reserveMs).toBe(2);
  });

  test('routes that got slower move it within a window, and nonsense durations are ignored', () => {
    const overshoot = new HoldOvershoot();
    for (let i = 0; i < 128; i++) overshoot.record(2);
    for (let i = 0; i < 128; i++) overshoot.record(10);
    overshoot.record(Number.NaN);
    overshoot.record(-5);
    overshoot.record(Number.POSITIVE_INFINITY);
    expect(overshoot.reserveMs).toBe(10);
  });
});
