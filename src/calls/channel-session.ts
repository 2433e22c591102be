/**
 * ChannelSession: one channel in the Stasis app while callscreen talks to the caller (the CAPTCHA IVR,
 * the reject announcement). It turns the channel's ARI events into something an async flow can wait
 * on, and makes the end of the call - a hang-up, the channel leaving the app, or the daemon giving up
 * on it (watchdog, shutdown) - interrupt whatever the flow is waiting for, at any moment:
 *
 * - `step(p)`: an ARI request raced against the end. A 404 (the channel is gone) counts as a hang-up.
 *   A request still in flight when the call ends is left to settle on its own; its rejection is handled.
 * - `next(deadline)`: the next key or playback end, or 'timeout' at the deadline.
 * - `play(media)`: starts a playback under an id chosen here, so its PlaybackFinished cannot arrive
 *   before the flow knows which playback it belongs to.
 *
 * Every wait rejects with CallEnded once the call ended; the flow catches it once, at its top.
 */
import { randomUUID } from 'node:crypto';
import type { AriEvent, AriPlayback } from '../ports/ari';
import type { ScreenerAri } from './limited-ari';

export type EndReason = 'hangup' | 'timeout' | 'abandoned';

export class CallEnded extends Error {
  constructor(
    readonly reason: EndReason,
    readonly detail: string,
  ) {
    super(`call ended (${reason}): ${detail}`);
    this.name = 'CallEnded';
  }
}

export type SessionInput =
  { kind: 'key'; key: string } | { kind: 'playback-finished'; playbackId: string; state: string };

export class ChannelSession {
  private readonly inputs: SessionInput[] = [];
  private wake: (() => void) | undefined;
  private endedWith: CallEnded | undefined;
  private rejectEnded: (e: CallEnded) => void = () => undefined;
  private readonly endedPromise: Promise<never>;
  /** playbacks started here and not finished yet */
  private readonly playing = new Set<string>();

  constructor(
    readonly ari: ScreenerAri,
    readonly channelId: string,
  ) {
    this.endedPromise = new Promise<never>((_, reject) => {
      this.rejectEnded = reject;
    });
    this.endedPromise.catch(() => undefined); // nobody may be waiting when the call ends
  }

  /** Why the session ended, once it did. */
  get ended(): CallEnded | undefined {
    return this.endedWith;
  }

  /** Ends the session (idempotent: the first reason stays). Stops what it still plays, best effort. */
  end(reason: EndReason, detail: string): void {
    if (this.endedWith) return;
    this.endedWith = new CallEnded(reason, detail);
    this.rejectEnded(this.endedWith);
    this.wake?.();
    if (reason !== 'hangup') for (const id of this.playing) this.stopPlayback(id);
    this.playing.clear();
  }

  /** Feed every ARI event about this channel (or a playback on it). */
  handle(event: AriEvent): void {
    switch (event.type) {
      case 'ChannelDtmfReceived':
        return this.push({ kind: 'key', key: (event as Extract<AriEvent, { type: 'ChannelDtmfReceived' }>).digit });
      case 'PlaybackFinished': {
        const { playback } = event as Extract<AriEvent, { playback: AriPlayback }>;
        this.playing.delete(playback.id);
        return this.push({ kind: 'playback-finished', playbackId: playback.id, state: playback.state });
      }
      case 'ChannelHangupRequest':
        return this.end('hangup', 'hang-up requested');
      case 'ChannelDestroyed':
        return this.end(
          'hangup',
          `channel destroyed (${(event as Extract<AriEvent, { type: 'ChannelDestroyed' }>).cause_txt})`,
        );
      case 'StasisEnd':
        return this.end('hangup', 'the channel left the Stasis app');
      default:
        return undefined;
    }
  }

  /** An ARI request, raced against the end of the call; 404 (channel gone) ends the session as a hang-up. */
  async step<T>(request: Promise<T>): Promise<T> {
    if (this.endedWith) {
      request.catch(() => undefined);
      throw this.endedWith;
    }
    try {
      return await Promise.race([request, this.endedPromise]);
    } catch (e) {
      if (e instanceof CallEnded) {
        request.catch(() => undefined);
        throw e;
      }
      if (statusOf(e) === 404) {
        this.end('hangup', 'channel not found (404)');
        throw this.endedWith ?? e;
      }
      throw e;
    }
  }

  /** Starts playing `media` (in order, one playback); resolves with its id once Asterisk accepted it. */
  async play(media: readonly string[], lang?: string): Promise<string> {
    const playbackId = `cs-${randomUUID()}`;
    this.playing.add(playbackId);
    await this.step(this.ari.play(this.channelId, { media: [...media], ...(lang ? { lang } : {}), playbackId }));
    return playbackId;
  }

  /** Fire and forget: a playback that already ended (or a gone channel) answers 404, which is fine. */
  stopPlayback(playbackId: string): void {
    this.playing.delete(playbackId);
    this.ari.stopPlayback(playbackId).catch(() => undefined);
  }

  /** Plays `media` to its end (keys pressed meanwhile are dropped); stops it after maxMs. */
  async playToEnd(media: readonly string[], lang: string | undefined, maxMs: number): Promise<'finished' | 'cut'> {
    const id = await this.play(media, lang);
    const deadline = Date.now() + maxMs;
    for (;;) {
      const input = await this.next(deadline);
      if (input === 'timeout') {
        this.stopPlayback(id);
        return 'cut';
      }
      if (input.kind === 'playback-finished' && input.playbackId === id) return 'finished';
    }
  }

  /** Drops keys and playback ends received so far (e.g. keys pressed during a greeting). */
  discardInputs(): void {
    this.inputs.length = 0;
  }

  /** The next key or playback end; 'timeout' once `deadline` (epoch ms) passed; rejects with CallEnded. */
  async next(deadline?: number): Promise<SessionInput | 'timeout'> {
    for (;;) {
      if (this.endedWith) throw this.endedWith;
      const input = this.inputs.shift();
      if (input) return input;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = left === undefined ? undefined : setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  private push(input: SessionInput): void {
    if (this.endedWith) return;
    this.inputs.push(input);
    this.wake?.();
  }
}

function statusOf(e: unknown): number | undefined {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}
