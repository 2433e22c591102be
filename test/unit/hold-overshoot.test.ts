/**
 * HoldOvershoot: the reserve online lookups leave at the end of their budget is the 99th percentile of
 * the last overshoots; nothing until a few are known, a single slow route does not move it, a slower link
 * does, and so do bursts of slow routes.
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
