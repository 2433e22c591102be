/**
 * A provider's circuit breaker: `failures` failures in a row open it; while open no request is sent
 * (the call goes on without the provider); after `openSeconds` one trial request is let through
 * (half-open): it closes the breaker on success, opens it again on failure. Each method returns the
 * change it made, if any, so the caller logs a change once (not every call).
 */

export type BreakerState = 'closed' | 'open' | 'half-open';
export interface BreakerChange {
  from: BreakerState;
  to: BreakerState;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failuresInRow = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(
    private readonly settings: { failures: number; openSeconds: number },
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** failures in a row so far */
  get failures(): number {
    return this.failuresInRow;
  }

  /** May a request go now? Open: no, until openSeconds passed; then one trial at a time. */
  tryAcquire(): { allowed: boolean; change?: BreakerChange } {
    if (this.current === 'closed') return { allowed: true };
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.settings.openSeconds * 1000) return { allowed: false };
      const change = this.moveTo('half-open');
      this.trialInFlight = true;
      return { allowed: true, ...(change ? { change } : {}) };
    }
    if (this.trialInFlight) return { allowed: false };
    this.trialInFlight = true;
    return { allowed: true };
  }

  /** The trial slot taken by tryAcquire goes back unused (the request was not sent after all). */
  cancelTrial(): void {
    this.trialInFlight = false;
  }

  success(): BreakerChange | undefined {
    this.failuresInRow = 0;
    this.trialInFlight = false;
    return this.moveTo('closed');
  }

  failure(): BreakerChange | undefined {
    this.failuresInRow += 1;
    this.trialInFlight = false;
    if (this.current === 'half-open' || this.failuresInRow >= this.settings.failures) {
      this.openedAt = this.now();
      return this.moveTo('open');
    }
    return undefined;
  }

  private moveTo(state: BreakerState): BreakerChange | undefined {
    if (state === this.current) return undefined;
    const change = { from: this.current, to: state };
    this.current = state;
    return change;
  }
}
