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
  'answer' | 'hangup' | 'setChannelVar' | 'play' | 'stopPlayback' | 'continueInDialplan' | 'listChannels'
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
    listChannels: (...args) => limiter.run(() => ari.listChannels(...args)),
  };
}

export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new RangeError(`Limiter: max must be at least 1, got ${max}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes on as it is
      else this.active -= 1;
    }
  }
}
