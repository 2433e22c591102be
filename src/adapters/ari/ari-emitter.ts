import type {
  AriConnectionState,
  AriErrorListener,
  AriEvent,
  AriEventListener,
  AriStateChange,
  AriStateListener,
} from '../../ports/ari';
import { isErrorLike } from '../../errors/error-text';

type Channel = 'event' | 'state' | 'error';
type AnyListener = AriEventListener | AriStateListener | AriErrorListener;

/**
 * The 'event' / 'state' / 'error' side of an AriPort, shared by both adapters.
 *
 * Not a Node EventEmitter on purpose: an 'error' with no listener is dropped instead of thrown (an
 * adapter must never take the process down for a bad frame), and a listener that throws cannot stop
 * the others or unwind into the websocket's read loop: its exception is reported through 'error'
 * (and dropped if an 'error' listener throws in turn).
 */
export class AriEmitter {
  private readonly listeners: Record<Channel, Set<AnyListener>> = {
    event: new Set(),
    state: new Set(),
    error: new Set(),
  };
  private currentState: AriConnectionState = 'idle';

  get state(): AriConnectionState {
    return this.currentState;
  }

  on(event: 'event', listener: AriEventListener): this;
  on(event: 'state', listener: AriStateListener): this;
  on(event: 'error', listener: AriErrorListener): this;
  on(event: Channel, listener: AnyListener): this {
    this.channel(event).add(listener);
    return this;
  }

  off(event: 'event', listener: AriEventListener): this;
  off(event: 'state', listener: AriStateListener): this;
  off(event: 'error', listener: AriErrorListener): this;
  off(event: Channel, listener: AnyListener): this {
    this.channel(event).delete(listener);
    return this;
  }

  protected emitEvent(event: AriEvent): void {
    this.dispatch('event', event);
  }

  /** Moves to `state` and reports it, with attempt/delay/reason when given. */
  protected setState(state: AriConnectionState, details: Omit<AriStateChange, 'state' | 'previous'> = {}): void {
    const change: AriStateChange = { state, previous: this.currentState, ...details };
    this.currentState = state;
    this.dispatch('state', change);
  }

  protected emitError(error: Error): void {
    for (const listener of [...this.listeners.error]) {
      try {
        (listener as AriErrorListener)(error);
      } catch {
        // an 'error' listener that throws has nowhere left to report to
      }
    }
  }

  private dispatch(channel: 'event' | 'state', value: AriEvent | AriStateChange): void {
    for (const listener of [...this.listeners[channel]]) {
      try {
        (listener as (v: AriEvent | AriStateChange) => void)(value);
      } catch (e) {
        this.emitError(asError(e, `an ARI '${channel}' listener threw`));
      }
    }
  }

  private channel(event: Channel): Set<AnyListener> {
    const set = this.listeners[event];
    if (!set) throw new TypeError(`AriPort has no '${String(event)}' event`);
    return set;
  }
}

export function asError(value: unknown, fallbackMessage: string): Error {
  if (isErrorLike(value)) return value;
  return new Error(typeof value === 'string' ? value : fallbackMessage, { cause: value });
}
