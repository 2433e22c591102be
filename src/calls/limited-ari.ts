/**
 * The ARI requests the CallScreener makes, at most `max` in flight at once; the rest wait their turn.
 *
 * Asterisk's HTTP server serves at most `sessionlimit` connections (http.conf, default 100) for every
 * client together, and the fetch pool opens one connection per request in flight. A burst of calls, each
 * setting its tags in parallel and talking to its CAPTCHA, would otherwise open more than that, and
 * Asterisk drops the extra connections (the requests fail with UND_ERR_SOCKET). Queued requests start
 * their own timeout (ari.requestTimeoutMs) only when they are sent.
 */
import type { AriPort } from '../ports/ari';

export type ScreenerAri = Pick<
  AriPort,
  | 'answer'
  | 'hangup'
  | 'setChannelVar'
  | 'play'
  | 'stopPlayback'
  | 'continueInDialplan'
  | 'continueWithVariables'
  | 'listChannels'
>;

/** Default cap: well below Asterisk's default sessionlimit (100), leaving room for other HTTP clients. */
export const ARI_MAX_IN_FLIGHT = 32;

export function limitConcurrency(ari: ScreenerAri, max = ARI_MAX_IN_FLIGHT): ScreenerAri {
  const limiter = new Limiter(max);
  return {
    answer: (...args) => limiter.run(() => ari.answer(...args)),
    hangup: (...args) => limiter.run(() => ari.hangup(...args)),
    setChannelVar: (...args) => limiter.run(() => ari.setChannelVar(...args)),
    play: (...args) => limiter.run(() => ari.play(...args)),
    stopPlayback: (...args) => limiter.run(() => ari.stopPlayback(...args)),
    continueInDialplan: (...args) => limiter.run(() => ari.continueInDialplan(...args)),
    // over HTTP its variables are set in parallel: as many requests at once as variables
    continueWithVariables: (id, variables, target) =>
      limiter.run(() => ari.continueWithVariables(id, variables, target), Math.max(1, variables.length)),
    listChannels: (...args) => limiter.run(() => ari.listChannels(...args)),
  };
}

/** At most `max` requests at once; a task may count for several (`weight`), and waits its turn in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<{ weight: number; start: () => void }> = [];

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`Limiter: max must be at least 1, got ${max}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>, weight = 1): Promise<T> {
    const need = Math.min(Math.max(1, weight), this.max); // never more than all of it, or it would wait forever
    if (this.waiting.length > 0 || this.active + need > this.max)
      await new Promise<void>((start) => this.waiting.push({ weight: need, start }));
    else this.active += need;
    try {
      return await task();
    } finally {
      this.active -= need;
      this.startWaiting();
    }
  }

  private startWaiting(): void {
    for (
      let next = this.waiting[0];
      next !== undefined && this.active + next.weight <= this.max;
      next = this.waiting[0]
    ) {
      this.waiting.shift();
      this.active += next.weight;
      next.start();
    }
  }
}
