/**
 * HoldOvershoot: how long calls whose online lookups ran out of time are held after the planned end of
 * that wait (the wait's timer firing late on a busy event loop, scoring, the route answered), over the
 * last such calls. The lookups end their wait this much before lookups.budgetMs is up, so a call's
 * whole hold stays inside the budget the admin set, not the budget and a route (docs/lookups.md, "What
 * happens to a call", step 4).
 *
 * The reserve is the 99th percentile of the last WINDOW calls, so the budget holds for all but about one
 * call in a hundred: a single slow route does not shorten every call's wait, a link or a machine that got
 * slower (or slows in bursts) does within a few calls. Until MIN_SAMPLES calls are known (a daemon just
 * started, its code not yet optimised by the JIT: its first routes are its slowest) the reserve is
 * STARTING_RESERVE_MS or the slowest overshoot so far, whichever is more.
 */

const WINDOW = 512;
const PERCENTILE = 0.99;
/** the percentile is worked out again after this many new calls, not on every call */
const REFRESH_EVERY = 16;
/** fewer calls than this: no percentile yet (one slow first route would say little) */
const MIN_SAMPLES = 8;
/** the reserve before MIN_SAMPLES calls are known, ms (bench/pdd: the first calls after a start overshot by up to 8 ms) */
const STARTING_RESERVE_MS = 10;

export class HoldOvershoot {
  private readonly samples = new Float64Array(WINDOW);
  private count = 0;
  private next = 0;
  private sinceRefresh = 0;
  private reserve = STARTING_RESERVE_MS;

  /** One call's overshoot, ms: from the planned end of its lookup wait to its route answered. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
    if (this.count < WINDOW) this.count++;
    if (this.count < MIN_SAMPLES) this.reserve = Math.max(this.reserve, ms);
    else if (this.count === MIN_SAMPLES || ++this.sinceRefresh >= REFRESH_EVERY) this.refresh();
  }

  /** What a lookup wait leaves at the end of the budget, ms. */
  get reserveMs(): number {
    return this.reserve;
  }

  private refresh(): void {
    this.sinceRefresh = 0;
    const sorted = this.samples.slice(0, this.count).sort();
    this.reserve = sorted[Math.min(this.count - 1, Math.ceil(this.count * PERCENTILE) - 1)] ?? 0;
  }
}
