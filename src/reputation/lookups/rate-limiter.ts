/**
 * A provider's rate limit: a token bucket holding up to `burst` requests, refilled at `perSecond`. A call
 * that finds it empty goes on without the provider (never waits for a token: the call has a budget).
 */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly settings: { perSecond: number; burst: number },
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = settings.burst;
    this.refilledAt = now();
  }

  /** Take one request's token if there is one. */
  tryTake(): boolean {
    const now = this.now();
    const elapsed = Math.max(0, now - this.refilledAt) / 1000;
    this.tokens = Math.min(this.settings.burst, this.tokens + elapsed * this.settings.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
