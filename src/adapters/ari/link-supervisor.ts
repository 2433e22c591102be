import type { AriConnectionState, AriStateChange } from '../../ports/ari';
import { AriUnavailableError } from '../../errors/ari-unavailable-error';
import { errorText } from '../../errors/error-text';
import { backoffDelay } from './backoff';

/**
 * One live event websocket, as the supervisor sees it. Each adapter opens links its own way
 * (ws@8 for NativeAri, a fresh ari-client Client for AriClientAri); the supervisor owns everything
 * around them: first connect with a deadline, reconnect forever with jittered backoff, ping/pong
 * liveness, state reporting and close.
 */
export interface EventLink {
  /** Send a liveness probe; the link calls `LinkHandlers.onPong` when the answer arrives. May throw. */
  ping(): void;
  /** Drop the connection at once, without a close handshake (a blackholed peer never answers one). */
  terminate(): void;
  /** Close gracefully; resolves when the socket is closed (the link bounds the wait itself). */
  close(): Promise<void>;
}

export interface LinkHandlers {
  onPong(): void;
  /** The link went down by itself (closed, reset, errored); `reason` is for the 'state' report. */
  onDown(reason: string): void;
}

/**
 * Opens one link. Resolves once the websocket is open (the apps are registered then). Must reject,
 * and release whatever it opened, when `signal` aborts.
 */
export type OpenLink = (handlers: LinkHandlers, signal: AbortSignal) => Promise<EventLink>;

export interface SupervisorOptions {
  /** the first connect, in start(): every attempt within this deadline (Asterisk may be slow to start) */
  connectTimeoutMs: number;
  /** each attempt after a lost link: short, so an attempt made into a dead network is given up quickly */
  reconnectTimeoutMs: number;
  reconnectMinDelayMs: number;
  reconnectMaxDelayMs: number;
  /**
   * For this long after the link was lost, reconnect delays stay within quickReconnectMaxDelayMs: calls
   * that entered the app meanwhile wait in silence until the link is back (the orphan sweep then routes
   * them). After that the delays grow to reconnectMaxDelayMs (a long outage is not hammered).
   */
  quickReconnectForMs: number;
  quickReconnectMaxDelayMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  /** [0, 1); injectable for tests */
  random?: () => number;
}

export type StateSink = (state: AriConnectionState, details?: Omit<AriStateChange, 'state' | 'previous'>) => void;

type Phase = 'idle' | 'starting' | 'connected' | 'reconnecting' | 'closed';

export class LinkSupervisor {
  private phase: Phase = 'idle';
  private link: EventLink | undefined;
  private attempt = 0;
  private startDeadline = 0;
  /** when the link was lost (the reconnect backoff stays quick for a while after) */
  private downSince = 0;
  private startPromise: Promise<void> | undefined;
  private settleStart: { resolve(): void; reject(e: Error): void } | undefined;
  private attemptAbort: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(
    private readonly open: OpenLink,
    private readonly options: SupervisorOptions,
    private readonly report: StateSink,
  ) {}

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Resolves when the first link is open; rejects if none could be opened inside connectTimeoutMs. */
  start(): Promise<void> {
    if (this.phase === 'closed') return Promise.reject(new AriUnavailableError({ reason: 'adapter closed' }));
    if (this.startPromise) return this.startPromise;
    this.startPromise = new Promise<void>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    this.phase = 'starting';
    this.attempt = 0;
    this.startDeadline = Date.now() + this.options.connectTimeoutMs;
    this.report('connecting');
    void this.tryOpen();
    return this.startPromise;
  }

  /** Idempotent: every call returns the same promise. Stops retrying, heartbeats and the link. */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    const wasStarting = this.phase === 'starting';
    this.phase = 'closed';
    this.clearTimers();
    this.attemptAbort?.abort(new Error('adapter closed'));
    if (wasStarting)
      this.failStart(new AriUnavailableError({ reason: 'adapter closed before the first connection was made' }));
    const link = this.link;
    this.link = undefined;
    if (link) {
      try {
        await link.close();
      } catch {
        link.terminate();
      }
    }
    this.report('closed');
  }

  private async tryOpen(): Promise<void> {
    const abort = new AbortController();
    this.attemptAbort = abort;
    const timeoutMs =
      this.phase === 'starting' ? Math.max(1, this.startDeadline - Date.now()) : this.options.reconnectTimeoutMs;
    const timer = setTimeout(() => abort.abort(new Error(`websocket not open after ${timeoutMs} ms`)), timeoutMs);
    let link: EventLink | undefined;
    const handlers: LinkHandlers = {
      onPong: () => this.onPong(link),
      onDown: (reason) => this.onDown(link, reason),
    };
    try {
      link = await this.open(handlers, abort.signal);
    } catch (e) {
      if (this.attemptAbort === abort) this.attemptFailed(errorText(e), e);
      return;
    } finally {
      clearTimeout(timer);
      if (this.attemptAbort === abort) this.attemptAbort = undefined;
    }
    if (this.phase === 'closed') {
      link.terminate();
      return;
    }
    this.connected(link);
  }

  private connected(link: EventLink): void {
    this.link = link;
    this.attempt = 0;
    this.phase = 'connected';
    this.report('connected');
    this.startHeartbeat(link);
    if (this.settleStart) {
      this.settleStart.resolve();
      this.settleStart = undefined;
    }
  }

  private attemptFailed(reason: string, cause: unknown): void {
    if (this.phase === 'closed') return;
    this.attempt += 1;
    if (this.phase === 'starting') {
      const left = this.startDeadline - Date.now();
      if (left <= 0) {
        this.phase = 'idle';
        this.startPromise = undefined;
        this.report('idle', { reason });
        const error = new AriUnavailableError(
          { reason: `could not connect the event websocket within ${this.options.connectTimeoutMs} ms (${reason})` },
          { cause },
        );
        this.failStart(error);
        return;
      }
      this.scheduleRetry('connecting', reason, left);
      return;
    }
    this.scheduleRetry('reconnecting', reason);
  }

  private onDown(link: EventLink | undefined, reason: string): void {
    if (!link || link !== this.link || this.phase === 'closed') return; // a link we already let go of
    this.link = undefined;
    this.stopHeartbeat();
    this.phase = 'reconnecting';
    this.downSince = Date.now();
    this.attempt = 1;
    this.scheduleRetry('reconnecting', reason);
  }

  private scheduleRetry(state: 'connecting' | 'reconnecting', reason: string, capMs = Infinity): void {
    const { reconnectMinDelayMs, reconnectMaxDelayMs, quickReconnectForMs, quickReconnectMaxDelayMs } = this.options;
    const quick = state === 'reconnecting' && Date.now() - this.downSince < quickReconnectForMs;
    const maxDelayMs = quick ? Math.min(quickReconnectMaxDelayMs, reconnectMaxDelayMs) : reconnectMaxDelayMs;
    const delayMs = Math.min(
      capMs,
      backoffDelay(this.attempt, { minDelayMs: reconnectMinDelayMs, maxDelayMs }, this.options.random),
    );
    this.report(state, { attempt: this.attempt, delayMs, reason });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.tryOpen();
    }, delayMs);
  }

  private startHeartbeat(link: EventLink): void {
    this.pingTimer = setInterval(() => this.sendPing(link), this.options.pingIntervalMs);
  }

  private sendPing(link: EventLink): void {
    if (this.pongTimer) return; // still waiting for the previous answer
    try {
      link.ping();
    } catch (e) {
      this.drop(link, `ping failed: ${errorText(e)}`);
      return;
    }
    const timer = setTimeout(() => {
      // A stalled event loop (a long synchronous task) fires this late, with the pong already received
      // but not read yet: the I/O waiting is handled before setImmediate runs, so only a link that
      // really stayed silent is dropped.
      setImmediate(() => {
        if (this.pongTimer !== timer) return; // answered, or the link is gone already
        this.pongTimer = undefined;
        this.drop(link, `no pong within ${this.options.pongTimeoutMs} ms`);
      });
    }, this.options.pongTimeoutMs);
    this.pongTimer = timer;
  }

  private onPong(link: EventLink | undefined): void {
    if (link !== this.link || !this.pongTimer) return;
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  /** The supervisor decided the link is dead: report it down first, then kill the socket. */
  private drop(link: EventLink, reason: string): void {
    this.onDown(link, reason);
    link.terminate();
  }

  private stopHeartbeat(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }

  private clearTimers(): void {
    this.stopHeartbeat();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private failStart(error: Error): void {
    const settle = this.settleStart;
    this.settleStart = undefined;
    settle?.reject(error);
  }
}
