/**
 * A spam surge on a DID: at least `calls` calls to it kept from the agents as spam (sent to voicemail,
 * rejected, or a CAPTCHA failed) within `windowMinutes`. Told once per DID and window: after a surge is
 * reported, the DID is quiet for a window before it can be reported again. Bounded memory: the times of
 * the last `calls` spam calls per DID, for at most MAX_DIDS DIDs.
 */
const MAX_DIDS = 10_000;

export interface SpamSurgeSettings {
  calls: number;
  windowMinutes: number;
}

export interface SpamSurge {
  did: string;
  calls: number;
  windowMinutes: number;
}

export class SpamSurgeDetector {
  private readonly times = new Map<string, number[]>();
  private readonly quietUntil = new Map<string, number>();

  constructor(private readonly settings: SpamSurgeSettings) {}

  /** One spam call to `did` at `at` (epoch ms); the surge, when this call makes one. */
  spamCall(did: string, at: number): SpamSurge | undefined {
    const windowMs = this.settings.windowMinutes * 60_000;
    if ((this.quietUntil.get(did) ?? 0) > at) return undefined;
    let list = this.times.get(did);
    if (!list) {
      if (this.times.size >= MAX_DIDS) this.times.delete(this.times.keys().next().value as string);
      list = [];
      this.times.set(did, list);
    }
    list.push(at);
    while (list.length > 0 && (list[0] as number) <= at - windowMs) list.shift();
    if (list.length > this.settings.calls) list.shift();
    if (list.length < this.settings.calls) return undefined;
    this.times.delete(did);
    this.quietUntil.set(did, at + windowMs);
    return { did, calls: this.settings.calls, windowMinutes: this.settings.windowMinutes };
  }
}
