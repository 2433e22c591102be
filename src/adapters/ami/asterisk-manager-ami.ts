/**
 * AmiPort on the asterisk-manager package (0.2.0). The package parses the protocol and keeps one TCP
 * connection; everything the port promises beyond that is done here, because the package does not:
 *
 * - Promises, with an ActionID of ours on every action (`cs<pid>-<random>.<n>`; an `actionid` in the
 *   action given is ignored). Responses are matched by that ActionID from the package's 'response'
 *   events, not by its per-ID callbacks, which route "Response: Follows" replies to the last action sent.
 * - A timeout per action (AmiTimeoutError). The package never calls back when the socket drops: every
 *   pending action is rejected here with AmiDisconnectedError, and actions sent while not connected are
 *   rejected at once (the package would hold them until a login that may never come).
 * - List actions (EventList: start ... EventList: Complete) collected by ActionID.
 * - Reconnection by our own supervisor, not the package's keepConnected() (which waits 10-60 s and prints
 *   with console.log): after a drop, a fresh package instance per attempt (the package keeps half-read
 *   lines and login state across reconnects), exponential backoff with full jitter between
 *   `reconnectMinDelayMs` and `reconnectMaxDelayMs`, forever until close().
 * - Liveness: a Ping every `pingIntervalMs` while connected; no answer within actionTimeoutMs counts as a
 *   dead connection (a blackholed or frozen Asterisk never sends a FIN) and the link is rebuilt.
 * - Socket errors are re-emitted as 'error' only when someone listens (the package swallows them).
 * - No console output; TestEvent messages (Debian builds Asterisk with the test framework on) are dropped.
 *
 * Message shape: keys lower-cased as the package gives them. Values are strings: a key that repeats
 * (Command's `Output:` lines, or UserEvent's own `Channel:` next to the channel snapshot's) is joined
 * with '\n' after dropping repeated identical values (`output` keeps every line);
 * `variable`/`chanvariable` come back as "NAME=value" lines (just "NAME" when the value is empty).
 *
 * Not covered: events emitted while the connection is down are lost (AMI has no replay); the package
 * gives no handle on its socket, so a link is ended with a FIN, never destroyed outright.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import AsteriskManager from 'asterisk-manager';
import { AmiActionError } from '../../errors/ami-action-error';
import { AmiDisconnectedError } from '../../errors/ami-disconnected-error';
import { AmiTimeoutError } from '../../errors/ami-timeout-error';
import type { AmiAction, AmiConnectionState, AmiMessage, AmiPort, AmiPortOptions } from '../../ports/ami';

type Manager = AsteriskManager.Manager;
type RawMessage = AsteriskManager.RawMessage;
/** EventEmitter's own listener type; the overloads above it are the typed surface */
type Listener = Parameters<EventEmitter['on']>[1];
type StateChange = { state: AmiConnectionState; previous: AmiConnectionState; reason?: string };

export interface AsteriskManagerAmiOptions extends AmiPortOptions {
  /** Ping this often while connected; 0 turns liveness checks off. Default 15000. */
  pingIntervalMs?: number;
  /** Reconnect backoff window after a drop. Defaults 250 / 5000. */
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
}

interface Pending {
  readonly action: string;
  readonly list: boolean;
  readonly manager: Manager;
  readonly timer: NodeJS.Timeout;
  response?: AmiMessage;
  readonly events: AmiMessage[];
  complete: boolean;
  resolve(result: { response: AmiMessage; events: AmiMessage[] }): void;
  reject(error: Error): void;
}

/** An attempt to open and log in one connection; `abort` ends it early (close() during connect). */
interface Attempt {
  readonly done: Promise<Manager>;
  abort(error: Error): void;
}

const DEFAULTS = {
  actionTimeoutMs: 5000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 15_000,
  reconnectMinDelayMs: 250,
  reconnectMaxDelayMs: 5000,
};
/** How long close() waits for Asterisk to close a socket we ended. */
const END_WAIT_MS = 1000;

export class AsteriskManagerAmi implements AmiPort {
  private readonly options: Required<AsteriskManagerAmiOptions>;
  private readonly emitter = new EventEmitter();
  private readonly pending = new Map<string, Pending>();
  private readonly idPrefix = `cs${process.pid}-${randomBytes(3).toString('hex')}`;
  private seq = 0;
  private current: AmiConnectionState = 'idle';
  private manager: Manager | undefined;
  private attempt: Attempt | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private retry: { timer: NodeJS.Timeout; wake(): void } | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastSocketError: Error | undefined;
  /** sockets being ended; close() waits for them */
  private readonly ending = new Set<Promise<void>>();

  constructor(options: AsteriskManagerAmiOptions) {
    this.options = { ...DEFAULTS, ...stripUndefined(options) } as Required<AsteriskManagerAmiOptions>;
  }

  get state(): AmiConnectionState {
    return this.current;
  }

  /** A method, not a field read, so TypeScript does not narrow the state across awaits. */
  private isClosed(): boolean {
    return this.current === 'closed';
  }

  // ------------------------------------------------------------------ events

  on(event: 'event', listener: (event: AmiMessage) => void): this;
  on(event: 'state', listener: (change: StateChange) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'event' | 'state' | 'error', listener: Listener): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: 'event', listener: (event: AmiMessage) => void): this;
  off(event: 'state', listener: (change: StateChange) => void): this;
  off(event: 'error', listener: (error: Error) => void): this;
  off(event: 'event' | 'state' | 'error', listener: Listener): this {
    this.emitter.off(event, listener);
    return this;
  }

  private emitError(error: Error): void {
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
  }

  private setState(state: AmiConnectionState, reason?: string): void {
    const previous = this.current;
    if (previous === state) return;
    this.current = state;
    const change: StateChange = reason === undefined ? { state, previous } : { state, previous, reason };
    this.emitter.emit('state', change);
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Connects and logs in. Connection failures (refused, reset, no answer to Login) are retried with
   * backoff until connectTimeoutMs, then start() rejects with AmiTimeoutError (cause: the last error);
   * a refused login rejects at once with AmiActionError. After a rejection the state is 'idle' again and
   * start() may be called again. Calling start() while it runs returns the same promise.
   */
  start(): Promise<void> {
    if (this.current === 'closed') return Promise.reject(new AmiDisconnectedError({ reason: 'adapter closed' }));
    if (this.startPromise) return this.startPromise;
    const started = this.runStart();
    this.startPromise = started;
    started.catch(() => {
      if (this.startPromise === started) this.startPromise = undefined;
    });
    return started;
  }

  private async runStart(): Promise<void> {
    const { connectTimeoutMs } = this.options;
    const deadline = Date.now() + connectTimeoutMs;
    this.setState('connecting');
    let tries = 0;
    let lastError: unknown;
    for (;;) {
      if (this.isClosed()) throw new AmiDisconnectedError({ action: 'Login', reason: 'adapter closed during start()' });
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        this.setState('idle', 'no login inside connectTimeoutMs');
        throw new AmiTimeoutError({ action: 'Login', timeoutMs: connectTimeoutMs }, { cause: lastError });
      }
      try {
        const manager = await this.openLink(remaining);
        if (this.isClosed()) {
          this.endLink(manager);
          throw new AmiDisconnectedError({ action: 'Login', reason: 'adapter closed during start()' });
        }
        this.adopt(manager);
        return;
      } catch (error) {
        if (error instanceof AmiDisconnectedError && this.isClosed()) throw error;
        if (this.isClosed())
          throw new AmiDisconnectedError(
            { action: 'Login', reason: 'adapter closed during start()' },
            { cause: error },
          );
        if (error instanceof AmiActionError) {
          this.setState('idle', `login refused: ${error.responseMessage}`);
          throw error;
        }
        lastError =
          error instanceof AmiTimeoutError || error instanceof AmiDisconnectedError ? (error.cause ?? error) : error;
      }
      tries += 1;
      await this.waitBeforeRetry(Math.min(this.backoff(tries), Math.max(0, deadline - Date.now())));
    }
  }

  /** Idempotent: the same promise every time. Rejects every pending action, stops reconnecting, ends the socket. */
  close(): Promise<void> {
    this.closePromise ??= this.runClose();
    return this.closePromise;
  }

  private async runClose(): Promise<void> {
    this.setState('closed', 'close()');
    this.stopPing();
    if (this.retry) {
      clearTimeout(this.retry.timer);
      this.retry.wake();
      this.retry = undefined;
    }
    this.attempt?.abort(new AmiDisconnectedError({ action: 'Login', reason: 'adapter closed' }));
    this.rejectAllPending('adapter closed');
    const manager = this.manager;
    this.manager = undefined;
    if (manager) this.endLink(manager);
    await Promise.all([...this.ending]);
  }

  // ------------------------------------------------------------------ one connection

  /** Opens a connection on a fresh package instance and logs in, inside timeoutMs. */
  private openLink(timeoutMs: number): Promise<Manager> {
    const { host, port, username, password } = this.options;
    const manager = AsteriskManager(undefined, host, username, password, true);
    let settled = false;
    let connected = false;
    let failure: Error | undefined;
    let finish: { resolve(m: Manager): void; reject(e: Error): void } | undefined;
    const done = new Promise<Manager>((resolve, reject) => {
      finish = { resolve, reject };
    });
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      failure = error;
      clearTimeout(timer);
      // a socket still connecting is ended once it connects (see the connect callback below)
      if (connected) this.endLink(manager);
      finish?.reject(error);
    };
    const timer = setTimeout(
      () => fail(new AmiTimeoutError({ action: 'Login', timeoutMs }, { cause: this.lastSocketError })),
      timeoutMs,
    );

    manager.on('error', (error: Error) => {
      this.lastSocketError = error;
      this.emitError(error);
    });
    manager.on('close', () => {
      const cause = this.lastSocketError;
      fail(
        new AmiDisconnectedError(
          {
            action: 'Login',
            reason: cause ? `connection failed (${cause.message})` : 'connection closed before login',
          },
          { cause },
        ),
      );
      if (manager === this.manager) this.linkDown(manager, 'connection lost');
    });
    manager.on('response', (message: RawMessage) => this.onResponse(manager, message));
    manager.on('managerevent', (message: RawMessage) => this.onEvent(manager, message));

    this.lastSocketError = undefined;
    manager.connect(port, host, () => {
      connected = true;
      if (settled) {
        // aborted or timed out while the TCP connect was under way
        if (failure) this.endLink(manager);
        return;
      }
      manager.login((error?: RawMessage) => {
        if (settled) return;
        if (error) {
          const response = toAmiMessage(error);
          fail(new AmiActionError({ action: 'Login', responseMessage: response.message ?? '', response }));
          return;
        }
        settled = true;
        clearTimeout(timer);
        finish?.resolve(manager);
      });
    });

    this.attempt = { done, abort: fail };
    const clear = (): void => {
      if (this.attempt?.done === done) this.attempt = undefined;
    };
    done.then(clear, clear);
    return done;
  }

  /** A logged-in connection becomes the current one. */
  private adopt(manager: Manager): void {
    if (this.current === 'closed') {
      this.endLink(manager);
      return;
    }
    this.manager = manager;
    this.setState('connected');
    this.startPing();
  }

  /** The current connection is gone: reject what was pending on it and start reconnecting. */
  private linkDown(manager: Manager, reason: string): void {
    if (manager !== this.manager) return;
    this.manager = undefined;
    this.stopPing();
    this.rejectAllPending(reason, this.lastSocketError);
    if (this.current === 'closed') return;
    this.setState('reconnecting', reason);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    let tries = 0;
    while (this.current === 'reconnecting') {
      tries += 1;
      await this.waitBeforeRetry(this.backoff(tries));
      if (this.current !== 'reconnecting') return;
      try {
        const manager = await this.openLink(this.options.connectTimeoutMs);
        this.adopt(manager);
        return;
      } catch (error) {
        // socket errors were emitted already; a refused login or a silent server is worth reporting too
        if (this.current === 'reconnecting' && !(error instanceof AmiDisconnectedError)) this.emitError(error as Error);
      }
    }
  }

  /** Ends a socket with a FIN and remembers to wait (bounded) for it to close. */
  private endLink(manager: Manager): void {
    const wasOpen = manager.isConnected();
    let release: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      release = resolve;
    });
    if (wasOpen) {
      const timer = setTimeout(release, END_WAIT_MS);
      manager.on('close', () => {
        clearTimeout(timer);
        release();
      });
    } else {
      release();
    }
    manager.disconnect();
    this.ending.add(ended);
    void ended.then(() => this.ending.delete(ended));
  }

  private waitBeforeRetry(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retry = undefined;
        resolve();
      }, ms);
      this.retry = { timer, wake: resolve };
    });
  }

  /** Exponential backoff with full jitter: attempt n waits in [min, min(max, min * 2^n)]. */
  private backoff(attempt: number): number {
    const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = this.options;
    const ceiling = Math.max(min, Math.min(max, min * 2 ** Math.min(attempt, 20)));
    return Math.round(min + Math.random() * (ceiling - min));
  }

  private startPing(): void {
    const { pingIntervalMs } = this.options;
    if (pingIntervalMs <= 0) return;
    this.stopPing();
    const manager = this.manager;
    this.pingTimer = setInterval(() => {
      this.send({ action: 'Ping' }, false, undefined).catch((error: unknown) => {
        if (error instanceof AmiTimeoutError && manager && manager === this.manager) {
          this.linkDown(manager, 'no answer to Ping');
          this.endLink(manager);
        }
      });
    }, pingIntervalMs);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  // ------------------------------------------------------------------ actions

  action(action: AmiAction, options?: { timeoutMs?: number }): Promise<AmiMessage> {
    return this.send(action, false, options?.timeoutMs).then((result) => result.response);
  }

  listAction(
    action: AmiAction,
    options?: { timeoutMs?: number },
  ): Promise<{ response: AmiMessage; events: AmiMessage[] }> {
    return this.send(action, true, options?.timeoutMs);
  }

  private send(
    action: AmiAction,
    list: boolean,
    timeoutMs: number | undefined,
  ): Promise<{ response: AmiMessage; events: AmiMessage[] }> {
    const name = typeof action.action === 'string' ? action.action : '';
    const invalid = checkAction(action);
    if (invalid)
      return Promise.reject(new AmiActionError({ action: name || '(none)', responseMessage: `${invalid}; not sent` }));
    const manager = this.manager;
    if (this.current !== 'connected' || !manager) {
      return Promise.reject(new AmiDisconnectedError({ action: name, reason: `not connected (${this.current})` }));
    }
    const limit = timeoutMs ?? this.options.actionTimeoutMs;
    const id = `${this.idPrefix}.${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.settle(id)) return;
        reject(new AmiTimeoutError({ action: name, timeoutMs: limit }));
      }, limit);
      this.pending.set(id, { action: name, list, manager, timer, events: [], complete: false, resolve, reject });
      const raw: Record<string, string | number | boolean | undefined> = {};
      for (const [key, value] of Object.entries(action)) if (key.toLowerCase() !== 'actionid') raw[key] = value;
      raw.actionid = id;
      manager.action(raw);
    });
  }

  /** Forgets a pending action; false if it was settled already. */
  private settle(id: string): boolean {
    const pending = this.pending.get(id);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    // the package registered a once-listener under the ActionID; a timed-out action would leak it
    pending.manager.removeAllListeners(id);
    return true;
  }

  private rejectAllPending(reason: string, cause?: Error): void {
    for (const [id, pending] of [...this.pending]) {
      this.settle(id);
      pending.reject(new AmiDisconnectedError({ action: pending.action, reason }, { cause }));
    }
  }

  private onResponse(manager: Manager, raw: RawMessage): void {
    if (raw.event !== undefined) return; // e.g. OriginateResponse: an event that also carries Response/ActionID
    const message = toAmiMessage(raw);
    const id = message.actionid;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending || pending.manager !== manager || pending.response || id === undefined) return;
    if ((message.response ?? '').toLowerCase() === 'error') {
      this.settle(id);
      pending.reject(
        new AmiActionError({ action: pending.action, responseMessage: message.message ?? '', response: message }),
      );
      return;
    }
    pending.response = message;
    const listFollows = pending.list && (message.eventlist ?? '').toLowerCase() === 'start';
    if (!listFollows || pending.complete) {
      this.settle(id);
      pending.resolve({ response: message, events: pending.events });
    }
  }

  private onEvent(manager: Manager, raw: RawMessage): void {
    const message = toAmiMessage(raw);
    if (message.event === 'TestEvent') return;
    const id = message.actionid;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (pending?.list && pending.manager === manager && id !== undefined) {
      const isComplete = (message.eventlist ?? '').toLowerCase() === 'complete';
      if (!isComplete) {
        pending.events.push(message);
      } else {
        pending.complete = true;
        if (pending.response) {
          this.settle(id);
          pending.resolve({ response: pending.response, events: pending.events });
        }
      }
    }
    this.emitter.emit('event', message);
  }
}

/** The package's parsed message as a flat AmiMessage (see the file comment for the rules). */
export function toAmiMessage(raw: RawMessage): AmiMessage {
  const message: AmiMessage = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (typeof value === 'string') {
      message[key] = value;
    } else if (Array.isArray(value)) {
      message[key] = (key === 'output' ? value : [...new Set(value)]).join('\n');
    } else {
      message[key] = Object.entries(value)
        .map(([name, v]) => (v === '' ? name : `${name}=${v}`))
        .join('\n');
    }
  }
  return message;
}

/** Why an action cannot be sent as it is (it would break the line-based protocol), or undefined. */
function checkAction(action: AmiAction): string | undefined {
  if (typeof action.action !== 'string' || action.action.trim() === '') return 'the action has no name';
  for (const [key, value] of Object.entries(action)) {
    if (!/^[A-Za-z0-9_-]+$/.test(key)) return `header name "${key}" is not a plain word`;
    if (value !== undefined && /[\r\n]/.test(String(value))) return `header ${key} contains a line break`;
  }
  return undefined;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
