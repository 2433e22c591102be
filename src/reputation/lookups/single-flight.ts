/**
 * One request in flight per key (a provider and a caller's number): a second call for the same number
 * while the first one's request is out joins it instead of asking the provider again.
 */
export class SingleFlight<V> {
  private readonly flights = new Map<string, Promise<V>>();

  /** The promise in flight for `key`, or a new one from `start`; `joined` says which. */
  run(key: string, start: () => Promise<V>): { promise: Promise<V>; joined: boolean } {
    const running = this.flights.get(key);
    if (running) return { promise: running, joined: true };
    const promise = start().finally(() => this.flights.delete(key));
    this.flights.set(key, promise);
    return { promise, joined: false };
  }

  get size(): number {
    return this.flights.size;
  }
}
