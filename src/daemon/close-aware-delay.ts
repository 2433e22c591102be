/**
 * A wait that close() cuts short: the AMI connect retries and the health watcher's checks sleep with
 * it, so shutting down never waits for a retry interval. The timer is unref'd (it never keeps the
 * process alive); after close() every wait resolves at once.
 */
export class CloseAwareDelay {
  private current: { timer: NodeJS.Timeout; wake(): void } | undefined;
  private closed = false;

  /** resolves after `ms`, or at once when closed (or ms <= 0) */
  wait(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.current = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.current = { timer, wake: resolve };
    });
  }

  /** idempotent: ends the wait under way and every later one */
  close(): void {
    this.closed = true;
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.wake();
      this.current = undefined;
    }
  }
}
