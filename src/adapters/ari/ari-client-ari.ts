/**
 * AriClientAri: AriPort on the `ari-client` package (2.2.0, unmaintained since 2020), hardened as far
 * as it goes. What ari-client does by itself, measured against Asterisk 22, and what this adapter
 * does about it:
 *
 * - No HTTP timeout; a call on a refused, reset or silent connection never settles (swagger-client's
 *   HTTP layer, shred, drops socket errors: nobody listens to its 'request_error').
 *   -> every call is raced against requestTimeoutMs (AriTimeoutError). The losing request stays
 *      pending inside ari-client: a small leak per timed-out call, which cannot be avoided.
 *   -> while the event websocket is down, calls are refused at once with AriUnavailableError
 *      (ari-client cannot tell "connection refused" from "slow", so the websocket is the only signal).
 * - Errors lose the HTTP status: a non-2xx answer becomes `new Error(<body text>)`, a missing path
 *   parameter a thrown string. -> the status is recovered from Asterisk's `{"message"}` by matching the
 *   operation's documented error responses (loaded with the swagger docs: 404 "Channel not found" ...),
 *   then a small table of Asterisk's usual wordings (ari-client-status.ts); `statusCode` stays
 *   undefined when neither matches (an empty body, or a message Asterisk does not document). A thrown
 *   string is a request refused before sending: 400.
 * - Its websocket reconnect gives up after 10 tries (~43 s) and then stays closed for good; a
 *   malformed or unknown-type frame throws out of its 'message' handler (process crash).
 *   -> ari-client's own reconnect is switched off (its `_wsClosed` flag is set before its close/error
 *      handlers run) and LinkSupervisor rebuilds the whole client (`connect` + `start`) with
 *      unlimited jittered backoff; ari-client's 'message' handler is replaced by the shared frame parser,
 *      so events come out exactly as NativeAri delivers them. Liveness: ws ping through
 *      `client.ping()` and its 'pong' event.
 * - It prints a swagger deprecation notice with console.log on every connect, through a global `log`
 *   function that swagger-client 2.0.26 creates and that keeps every message in `log.history`.
 *   -> that global is replaced once by a silent function that keeps no history.
 * - When a swagger doc answers non-2xx while `connect` loads them (404 or 503 while Asterisk starts or
 *   stops, exactly when a reconnect happens), swagger-client's `SwaggerApi.prototype.fail` calls the
 *   failure callback and then THROWS the message from inside the HTTP callback: an uncaught exception
 *   that kills the process. Seen in the contract suite during Asterisk restarts.
 *   -> that method is patched once, process-wide, to call the failure callback without throwing
 *      (ari-client then rejects `connect`, and the supervisor retries). swagger-client is ari-client's
 *      exact-pinned (2.0.26) dependency; the patch is checked at run time.
 * - Rebuilding means loading the swagger docs again (13 HTTP requests, ~90 ms on loopback) on Node's
 *   keep-alive global agent. After a blackhole those pooled sockets are dead too, and a rebuild on one
 *   hung until its attempt timed out (~7.5 s to recover in the contract suite, against ~2.2 s for
 *   NativeAri). -> when the link goes down, the agent's idle sockets to Asterisk are destroyed (~2.2 s
 *   now), and an attempt that hangs anyway gives up after reconnectTimeoutMs (2 s by default). An
 *   abandoned `connect` cannot be cancelled and may finish loading in the background; nothing is
 *   started from it.
 * Left as they are (process-wide, outside this adapter's reach): swagger-client creates ~18 implicit
 * globals (`status`, `value`, `result`, `type`, `method` ...), keeps ONE Basic-auth credential for the
 * whole process (the last `connect` wins for every ari-client instance), and ari-client sends the
 * credentials in the websocket URL (`api_key=user:pass`), where proxies and Asterisk's HTTP log can
 * see them.
 *
 * The private fields used (`_ws`, `_wsClosed`, `_swagger`) are checked at run time; ari-client is
 * frozen, so they will not move under this adapter.
 */
import http from 'node:http';
import https from 'node:https';
import { connect, type Client } from 'ari-client';
import * as swaggerClient from 'swagger-client';
import type {
  AriChannel,
  AriPlayRequest,
  AriPlayback,
  AriPort,
  AriPortOptions,
  AsteriskInfo,
  ChannelVariable,
  ContinueTarget,
  OriginateRequest,
  UnsetVariable,
} from '../../ports/ari';
import { AriRequestError } from '../../errors/ari-request-error';
import { AriTimeoutError } from '../../errors/ari-timeout-error';
import { AriUnavailableError } from '../../errors/ari-unavailable-error';
import { errorText, isErrorLike } from '../../errors/error-text';
import { AriEmitter } from './ari-emitter';
import { resolveAriOptions, type ResolvedAriOptions } from './ari-options';
import { bodyMessage, continueQuery, type HttpMethod, originateQuery, playMedia, plainJson, segment } from './ari-rest';
import { type DocumentedError, recoverStatus } from './ari-client-status';
import { variablesThenContinue } from './continue-with-variables';
import { parseEventFrame } from './event-frame';
import { type EventLink, type LinkHandlers, LinkSupervisor } from './link-supervisor';

const CLOSE_GRACE_MS = 1000;

/** The part of ari-client's bundled ws@6 socket this adapter touches. */
interface Ws6 {
  readonly readyState: number;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  prependListener(event: string, listener: (...args: unknown[]) => void): unknown;
  removeAllListeners(event: string): unknown;
  terminate(): void;
}

/** ari-client's private state (lib/client.js); see the header comment. */
interface ClientInternals {
  _ws?: Ws6;
  _wsClosed?: boolean;
  _swagger?: { apis?: Record<string, { operations?: Record<string, { responseMessages?: DocumentedError[] }> }> };
}

/** Names the ari-client operation behind a call, for error mapping. */
interface Operation {
  method: HttpMethod;
  path: string;
  resource: string;
  operation: string;
}

const WS_OPEN = 1;
const WS_CLOSED = 3;

export class AriClientAri extends AriEmitter implements AriPort {
  readonly kind = 'ari-client';
  private readonly options: ResolvedAriOptions;
  private readonly supervisor: LinkSupervisor;
  private readonly inflight = new Set<Promise<unknown>>();
  /** the client of the current (or last) connection; REST goes through it */
  private client: Client | undefined;
  private closePromise: Promise<void> | undefined;

  constructor(options: AriPortOptions) {
    super();
    this.options = resolveAriOptions(options);
    silenceSwaggerLog();
    stopSwaggerFailThrowing();
    this.supervisor = new LinkSupervisor(
      (handlers, signal) => this.openLink(handlers, signal),
      this.options,
      (state, details) => {
        // the link is down: the kept-alive sockets swagger-client pooled may be dead too (a blackhole),
        // and a rebuild that picks one hangs until its attempt times out; new ones cost a handshake
        if (state === 'reconnecting') dropIdleSockets(this.options.origin);
        this.setState(state, details);
      },
    );
  }

  start(): Promise<void> {
    return this.supervisor.start();
  }

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  // ------------------------------------------------------------------ REST: channels

  async continueInDialplan(channelId: string, target: ContinueTarget): Promise<void> {
    const op = channelOp('POST', channelId, '/continue', 'continueInDialplan');
    await this.call(op, (c) => c.channels.continueInDialplan({ channelId, ...defined(continueQuery(target)) }));
  }

  /** ari-client has no REST over its websocket: the variables, then the continue, over HTTP. */
  continueWithVariables(
    channelId: string,
    variables: readonly ChannelVariable[],
    target: ContinueTarget,
  ): Promise<UnsetVariable[]> {
    return variablesThenContinue(this, channelId, variables, target);
  }

  async answer(channelId: string): Promise<void> {
    await this.call(channelOp('POST', channelId, '/answer', 'answer'), (c) => c.channels.answer({ channelId }));
  }

  async hangup(channelId: string, reason?: string): Promise<void> {
    await this.call(channelOp('DELETE', channelId, '', 'hangup'), (c) =>
      c.channels.hangup({ channelId, ...defined({ reason }) }),
    );
  }

  async setChannelVar(channelId: string, variable: string, value: string): Promise<void> {
    await this.call(channelOp('POST', channelId, '/variable', 'setChannelVar'), (c) =>
      c.channels.setChannelVar({ channelId, variable, value }),
    );
  }

  async getChannelVar(channelId: string, variable: string): Promise<string> {
    const answer = await this.call(channelOp('GET', channelId, '/variable', 'getChannelVar'), (c) =>
      c.channels.getChannelVar({ channelId, variable }),
    );
    return answer.value;
  }

  async play(channelId: string, request: AriPlayRequest): Promise<AriPlayback> {
    const media = playMedia(request);
    const { playbackId, lang } = request;
    if (playbackId === undefined) {
      const op = channelOp('POST', channelId, '/play', 'play');
      return plainJson(await this.call(op, (c) => c.channels.play({ channelId, media, ...defined({ lang }) })));
    }
    const op = channelOp(
      'POST',
      channelId,
      `/play/${segment('playbackId', playbackId, 'POST', '/channels/{channelId}/play/{playbackId}')}`,
      'playWithId',
    );
    return plainJson(
      await this.call(op, (c) => c.channels.playWithId({ channelId, playbackId, media, ...defined({ lang }) })),
    );
  }

  async stopPlayback(playbackId: string): Promise<void> {
    const path = `/playbacks/${segment('playbackId', playbackId, 'DELETE', '/playbacks/{playbackId}')}`;
    await this.call({ method: 'DELETE', path, resource: 'playbacks', operation: 'stop' }, (c) =>
      c.playbacks.stop({ playbackId }),
    );
  }

  async sendDtmf(
    channelId: string,
    dtmf: string,
    options: { before?: number; between?: number; duration?: number; after?: number } = {},
  ): Promise<void> {
    await this.call(channelOp('POST', channelId, '/dtmf', 'sendDTMF'), (c) =>
      c.channels.sendDTMF({ channelId, dtmf, ...defined(options) }),
    );
  }

  async originate(request: OriginateRequest): Promise<AriChannel> {
    const params = {
      ...defined(originateQuery(request)),
      endpoint: request.endpoint,
      ...(request.variables ? { variables: request.variables } : {}),
    };
    if (request.channelId === undefined) {
      const op: Operation = { method: 'POST', path: '/channels', resource: 'channels', operation: 'originate' };
      return plainJson(await this.call(op, (c) => c.channels.originate(params)));
    }
    const channelId = request.channelId;
    const op = channelOp('POST', channelId, '', 'originateWithId');
    return plainJson(await this.call(op, (c) => c.channels.originateWithId({ ...params, channelId })));
  }

  async getChannel(channelId: string): Promise<AriChannel> {
    return plainJson(await this.call(channelOp('GET', channelId, '', 'get'), (c) => c.channels.get({ channelId })));
  }

  async listChannels(): Promise<AriChannel[]> {
    const op: Operation = { method: 'GET', path: '/channels', resource: 'channels', operation: 'list' };
    return plainJson(await this.call(op, (c) => c.channels.list()));
  }

  // ------------------------------------------------------------------ REST: Asterisk and applications

  async listApplications(): Promise<string[]> {
    const op: Operation = { method: 'GET', path: '/applications', resource: 'applications', operation: 'list' };
    const apps = await this.call(op, (c) => c.applications.list());
    return apps.map((app) => app.name);
  }

  async asteriskInfo(): Promise<AsteriskInfo> {
    const op: Operation = { method: 'GET', path: '/asterisk/info', resource: 'asterisk', operation: 'getInfo' };
    const info = await this.call(op, (c) => c.asterisk.getInfo({ only: 'system' }));
    return { version: info.system?.version ?? '', entityId: info.system?.entity_id };
  }

  // ------------------------------------------------------------------ internals

  /** Runs one ari-client operation: refused when closed or disconnected, bounded by requestTimeoutMs, errors typed. */
  private call<T>(op: Operation, run: (client: Client) => Promise<T>): Promise<T> {
    if (this.closePromise)
      return Promise.reject(new AriUnavailableError({ reason: 'adapter closed', method: op.method, path: op.path }));
    const client = this.client;
    if (!client || this.state !== 'connected') {
      const reason = client
        ? `event websocket ${this.state}, Asterisk not reachable`
        : 'not connected yet: call start() first';
      return Promise.reject(new AriUnavailableError({ reason, method: op.method, path: op.path }));
    }
    const pending = this.runBounded(client, op, run);
    this.inflight.add(pending);
    const forget = (): void => {
      this.inflight.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
  }

  private runBounded<T>(client: Client, op: Operation, run: (client: Client) => Promise<T>): Promise<T> {
    const timeoutMs = this.options.requestTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new AriTimeoutError({ method: op.method, path: op.path, timeoutMs })),
        timeoutMs,
      );
      let raw: Promise<T>;
      try {
        raw = Promise.resolve(run(client));
      } catch (e) {
        raw = Promise.reject(e); // swagger-client throws strings synchronously for missing path parameters
      }
      raw.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(requestError(client, op, e));
        },
      );
    });
  }

  private async shutdown(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.supervisor.close();
  }

  // ------------------------------------------------------------------ event websocket

  /** A brand-new ari-client Client (swagger docs loaded again) and its websocket, ari-client's reconnect off. */
  private async openLink(handlers: LinkHandlers, signal: AbortSignal): Promise<EventLink> {
    const client = await abortable(connect(this.options.origin, this.options.username, this.options.password), signal);
    const internals = client as unknown as ClientInternals;
    client.start(this.options.apps).catch(() => undefined); // settles never or late: the supervisor decides
    const ws = internals._ws;
    if (!ws || typeof ws.prependListener !== 'function')
      throw new Error('ari-client internals changed: no websocket after start()');
    this.takeOver(client, internals, ws, handlers);
    await waitOpen(ws, internals, signal);
    this.client = client;
    return ariClientLink(client, internals, ws);
  }

  /** Switch off ari-client's reconnect and frame handling for this socket; route both to us. */
  private takeOver(client: Client, internals: ClientInternals, ws: Ws6, handlers: LinkHandlers): void {
    const stopItsReconnect = (): void => {
      internals._wsClosed = true;
    };
    ws.prependListener('error', stopItsReconnect);
    ws.prependListener('close', stopItsReconnect);
    ws.removeAllListeners('message');
    ws.on('message', (data: unknown) => this.onFrame(String(data)));
    let lastError: unknown;
    ws.on('error', (e: unknown) => {
      lastError = e;
    });
    ws.on('close', (code: unknown, reason: unknown) => {
      if (wasOpened.has(ws))
        handlers.onDown(
          `websocket closed (code ${String(code)}${reason ? `: ${String(reason)}` : ''})${lastError ? `: ${errorText(lastError)}` : ''}`,
        );
    });
    client.on('pong', () => handlers.onPong());
  }

  private onFrame(text: string): void {
    const parsed = parseEventFrame(text);
    if (parsed.ok) this.emitEvent(parsed.event);
    else this.emitError(parsed.error);
  }
}

const wasOpened = new WeakSet<Ws6>();

/** Destroys the idle kept-alive sockets of Node's global agent to `origin` (swagger-client's REST pool). */
function dropIdleSockets(origin: string): void {
  const url = new URL(origin);
  const secure = url.protocol === 'https:';
  const agent = secure ? https.globalAgent : http.globalAgent;
  const name = `${url.hostname}:${url.port || (secure ? '443' : '80')}:`;
  for (const [key, sockets] of Object.entries(agent.freeSockets))
    if (key.startsWith(name)) for (const socket of sockets ?? []) socket.destroy();
}

function waitOpen(ws: Ws6, internals: ClientInternals, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const abandon = (): void => {
      internals._wsClosed = true;
      ws.terminate();
      reject(isErrorLike(signal.reason) ? signal.reason : new Error('websocket attempt aborted'));
    };
    if (signal.aborted) return abandon();
    signal.addEventListener('abort', abandon, { once: true });
    let lastError: unknown;
    ws.on('error', (e: unknown) => {
      lastError = e;
    });
    ws.once('open', () => {
      signal.removeEventListener('abort', abandon);
      wasOpened.add(ws);
      resolve();
    });
    ws.once('close', (code: unknown) => {
      signal.removeEventListener('abort', abandon);
      if (!wasOpened.has(ws))
        reject(
          isErrorLike(lastError) ? lastError : new Error(`websocket closed before it opened (code ${String(code)})`),
        );
    });
  });
}

function ariClientLink(client: Client, internals: ClientInternals, ws: Ws6): EventLink {
  const release = (): void => {
    internals._wsClosed = true;
    client.removeAllListeners('pong');
  };
  return {
    ping: () => {
      if (ws.readyState !== WS_OPEN) throw new Error(`websocket not open (readyState ${ws.readyState})`);
      client.ping();
    },
    terminate: () => {
      release();
      ws.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        release();
        if (ws.readyState === WS_CLOSED) return resolve();
        const grace = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        ws.once('close', () => {
          clearTimeout(grace);
          resolve();
        });
        client.stop();
      }),
  };
}

function channelOp(method: HttpMethod, channelId: string, suffix: string, operation: string): Operation {
  const id = segment('channelId', channelId, method, `/channels/{channelId}${suffix}`);
  return { method, path: `/channels/${id}${suffix}`, resource: 'channels', operation };
}

/** ari-client rejects with `Error(<body text>)`, a thrown string, or a parse error; make it an AriRequestError. */
function requestError(client: Client, op: Operation, e: unknown): Error {
  if (typeof e === 'string') {
    return new AriRequestError({ statusCode: 400, method: op.method, path: op.path, responseMessage: e }, { cause: e });
  }
  const text = isErrorLike(e) ? e.message : String(e);
  const message = bodyMessage(text) ?? (text || undefined);
  return new AriRequestError(
    {
      statusCode: recoverStatus(documentedErrors(client, op), message),
      method: op.method,
      path: op.path,
      responseMessage: message,
    },
    { cause: e },
  );
}

/** The operation's documented error responses, from the swagger docs ari-client loaded. */
function documentedErrors(client: Client, op: Pick<Operation, 'resource' | 'operation'>): DocumentedError[] {
  return (
    (client as unknown as ClientInternals)._swagger?.apis?.[op.resource]?.operations?.[op.operation]
      ?.responseMessages ?? []
  );
}

/** Drops undefined values: swagger-client would send them as the string "undefined". */
function defined<T extends Record<string, unknown>>(params: T): Partial<T> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function abortable<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abandon = (): void => reject(isErrorLike(signal.reason) ? signal.reason : new Error('aborted'));
    if (signal.aborted) return abandon();
    signal.addEventListener('abort', abandon, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', abandon);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abandon);
        reject(isErrorLike(e) ? e : new Error(String(e)));
      },
    );
  });
}

let swaggerFailPatched = false;

/** See the header: swagger-client's `fail` must report, not throw from an HTTP callback. */
function stopSwaggerFailThrowing(): void {
  if (swaggerFailPatched) return;
  const proto = swaggerClient.SwaggerApi?.prototype;
  if (!proto || typeof proto.fail !== 'function') {
    throw new Error(
      'swagger-client internals changed: SwaggerApi.prototype.fail not found (ari-client adapter needs 2.0.26)',
    );
  }
  proto.fail = function failWithoutThrowing(message: unknown): void {
    this.failure(message);
  };
  swaggerFailPatched = true;
}

let swaggerLogSilenced = false;

/** swagger-client 2.0.26 defines a global `log` that console.logs and keeps a history; replace it once. */
function silenceSwaggerLog(): void {
  if (swaggerLogSilenced) return;
  const holder = globalThis as { log?: unknown };
  if (typeof holder.log === 'function' && String(holder.log).includes('log.history')) {
    holder.log = function silentSwaggerLog(): void {
      // swagger-client's notices ("deprecated version of Swagger", operation listings) are dropped
    };
  }
  swaggerLogSilenced = true;
}
