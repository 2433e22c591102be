/**
 * NativeAri: AriPort on Node's own http/https (keep-alive agent) and ws@8, nothing else.
 *
 * - REST: one request per call on a pool of kept-alive connections, with a timer covering the whole
 *   answer, body included. Timeout -> AriTimeoutError; refused/reset/unreachable -> AriUnavailableError;
 *   non-2xx -> AriRequestError with the real HTTP status and Asterisk's `message`. (node:http rather
 *   than fetch: a call's routing is two requests one after the other, and on loopback a request costs
 *   ~0.5 ms this way against ~1.3 ms through fetch/undici: that is post-dial delay a caller hears.)
 * - Events: `ws://host/ari/events?app=a,b&subscribeAll=false` with a Basic auth header (credentials
 *   never in the URL). LinkSupervisor reconnects it forever and pings it (ws ping/pong).
 * - Routing (continueWithVariables) goes over the event websocket itself where Asterisk takes REST
 *   requests there (websocket-rest.ts: probed on every new link; older Asterisk keeps to HTTP): its
 *   tags and its continue leave at once and are carried out in order, one round trip instead of two.
 * - Logs nothing: everything goes out through 'state', 'event' and 'error'.
 * - close() waits for REST calls in flight (each bounded by its timeout), then closes the websocket.
 */
import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
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
import { basicAuth, resolveAriOptions, type ResolvedAriOptions } from './ari-options';
import {
  bodyMessage,
  continueQuery,
  type HttpMethod,
  originateQuery,
  playMedia,
  type Query,
  queryString,
  segment,
} from './ari-rest';
import { unsetVariables, variablesThenContinue } from './continue-with-variables';
import { parseEventFrame } from './event-frame';
import { type EventLink, type LinkHandlers, LinkSupervisor } from './link-supervisor';
import { WebsocketRest } from './websocket-rest';

/** How long close() waits for Asterisk to answer the websocket close frame before cutting the socket. */
const CLOSE_GRACE_MS = 1000;

interface RequestInit {
  query?: Query;
  body?: unknown;
}

export class NativeAri extends AriEmitter implements AriPort {
  readonly kind = 'native';
  private readonly options: ResolvedAriOptions;
  private readonly authorization: string;
  private readonly supervisor: LinkSupervisor;
  private readonly inflight = new Set<Promise<unknown>>();
  private closePromise: Promise<void> | undefined;
  /** REST over the live link's websocket, once Asterisk answered the probe on it; undefined: HTTP only */
  private websocketRest: WebsocketRest | undefined;
  /**
   * Kept-alive REST connections. An idle socket is dropped after 10 s, before Asterisk's http.conf
   * session_keep_alive (15 s by default) could close it under a request.
   */
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(options: AriPortOptions) {
    super();
    this.options = resolveAriOptions(options);
    const secure = this.options.restBase.startsWith('https:');
    this.transport = secure ? https : http;
    this.agent = new (secure ? https.Agent : http.Agent)({
      keepAlive: true,
      timeout: 10_000,
      maxSockets: 64,
      scheduling: 'lifo',
    });
    this.authorization = basicAuth(this.options.username, this.options.password);
    this.supervisor = new LinkSupervisor(
      (handlers, signal) => this.openLink(handlers, signal),
      this.options,
      (state, details) => {
        // the link went down or came back: kept-alive REST sockets that sat idle may be dead too (after a
        // blackhole), and a request on one would wait its whole timeout; new ones cost a handshake
        if (state === 'reconnecting' || state === 'connected') this.dropIdleSockets();
        this.setState(state, details);
      },
    );
  }

  start(): Promise<void> {
    return this.supervisor.start();
  }

  /** Whether calls are routed over the event websocket now (Asterisk answered the probe on the live link). */
  get routesOverWebsocket(): boolean {
    return this.websocketRest !== undefined;
  }

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  // ------------------------------------------------------------------ REST: channels

  async continueInDialplan(channelId: string, target: ContinueTarget): Promise<void> {
    await this.channelCall('POST', channelId, '/continue', { query: continueQuery(target) });
  }

  continueWithVariables(
    channelId: string,
    variables: readonly ChannelVariable[],
    target: ContinueTarget,
  ): Promise<UnsetVariable[]> {
    const rest = this.websocketRest;
    if (rest === undefined || this.closePromise) return variablesThenContinue(this, channelId, variables, target);
    const pending = this.overWebsocket(rest, channelId, variables, target).catch((e: unknown) => {
      // the link went down before every answer came: sent again over HTTP (setting a variable twice is
      // harmless; a continue Asterisk had already carried out answers 404, as for a caller who hung up)
      if (e instanceof AriUnavailableError) return variablesThenContinue(this, channelId, variables, target);
      throw e;
    });
    return this.track(pending);
  }

  private async overWebsocket(
    rest: WebsocketRest,
    channelId: string,
    variables: readonly ChannelVariable[],
    target: ContinueTarget,
  ): Promise<UnsetVariable[]> {
    const channel = `/channels/${segment('channelId', channelId, 'POST', '/channels/{channelId}/continue')}`;
    const sets = variables.map(([variable, value]) => rest.request('POST', `${channel}/variable`, { variable, value }));
    const continued = rest.request('POST', `${channel}/continue`, continueQuery(target));
    continued.catch(() => undefined); // read below, unless a variable found the channel gone first
    const unset = unsetVariables(variables, await Promise.allSettled(sets));
    const lost = unset.find((u) => u.error instanceof AriUnavailableError);
    if (lost) throw lost.error;
    await continued;
    return unset;
  }

  async answer(channelId: string): Promise<void> {
    await this.channelCall('POST', channelId, '/answer');
  }

  async hangup(channelId: string, reason?: string): Promise<void> {
    await this.channelCall('DELETE', channelId, '', { query: { reason } });
  }

  async setChannelVar(channelId: string, variable: string, value: string): Promise<void> {
    await this.channelCall('POST', channelId, '/variable', { query: { variable, value } });
  }

  async getChannelVar(channelId: string, variable: string): Promise<string> {
    const answer = await this.channelCall<{ value: string }>('GET', channelId, '/variable', { query: { variable } });
    return answer.value;
  }

  async play(channelId: string, request: AriPlayRequest): Promise<AriPlayback> {
    const suffix =
      request.playbackId === undefined
        ? '/play'
        : `/play/${segment('playbackId', request.playbackId, 'POST', '/channels/{channelId}/play/{playbackId}')}`;
    return this.channelCall<AriPlayback>('POST', channelId, suffix, {
      query: { media: playMedia(request), lang: request.lang },
    });
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await this.request(
      'DELETE',
      `/playbacks/${segment('playbackId', playbackId, 'DELETE', '/playbacks/{playbackId}')}`,
    );
  }

  async sendDtmf(
    channelId: string,
    dtmf: string,
    options: { before?: number; between?: number; duration?: number; after?: number } = {},
  ): Promise<void> {
    await this.channelCall('POST', channelId, '/dtmf', { query: { dtmf, ...options } });
  }

  async originate(request: OriginateRequest): Promise<AriChannel> {
    const path =
      request.channelId === undefined
        ? '/channels'
        : `/channels/${segment('channelId', request.channelId, 'POST', '/channels/{channelId}')}`;
    const body = request.variables ? { variables: request.variables } : undefined;
    return this.request<AriChannel>('POST', path, { query: originateQuery(request), body });
  }

  async getChannel(channelId: string): Promise<AriChannel> {
    return this.channelCall<AriChannel>('GET', channelId, '');
  }

  async listChannels(): Promise<AriChannel[]> {
    return this.request<AriChannel[]>('GET', '/channels');
  }

  // ------------------------------------------------------------------ REST: Asterisk and applications

  async listApplications(): Promise<string[]> {
    const apps = await this.request<Array<{ name: string }>>('GET', '/applications');
    return apps.map((app) => app.name);
  }

  async asteriskInfo(): Promise<AsteriskInfo> {
    const info = await this.request<{ system?: { version?: string; entity_id?: string } }>('GET', '/asterisk/info', {
      query: { only: 'system' },
    });
    return { version: info.system?.version ?? '', entityId: info.system?.entity_id };
  }

  // ------------------------------------------------------------------ internals

  private channelCall<T = unknown>(
    method: HttpMethod,
    channelId: string,
    suffix: string,
    init?: RequestInit,
  ): Promise<T> {
    const id = segment('channelId', channelId, method, `/channels/{channelId}${suffix}`);
    return this.request<T>(method, `/channels/${id}${suffix}`, init);
  }

  /** Never throws synchronously; settles within requestTimeoutMs. */
  private request<T = unknown>(method: HttpMethod, path: string, init: RequestInit = {}): Promise<T> {
    if (this.closePromise) return Promise.reject(new AriUnavailableError({ reason: 'adapter closed', method, path }));
    return this.track(this.send<T>(method, path, init));
  }

  /** A request close() waits for (each settles within its timeout). */
  private track<T>(pending: Promise<T>): Promise<T> {
    this.inflight.add(pending);
    const forget = (): void => {
      this.inflight.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
  }

  private async send<T>(method: HttpMethod, path: string, init: RequestInit): Promise<T> {
    const timeoutMs = this.options.requestTimeoutMs;
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    let status: number;
    let text: string;
    try {
      ({ status, text } = await this.exchange(
        method,
        `${this.options.restBase}${path}${queryString(init.query)}`,
        headers,
        body,
        timeoutMs,
      ));
    } catch (e) {
      throw transportError(e, method, path, timeoutMs);
    }
    if (status < 200 || status > 299)
      throw new AriRequestError({ statusCode: status, method, path, responseMessage: bodyMessage(text) });
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new AriRequestError(
        { statusCode: status, method, path, responseMessage: 'answer is not JSON' },
        { cause: e },
      );
    }
  }

  /** One HTTP request and its whole answer, or a rejection: a TimeoutError after timeoutMs, or the socket's error. */
  private exchange(
    method: HttpMethod,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      const timer = setTimeout(() => {
        const timeout = new Error(`no answer within ${timeoutMs} ms`);
        timeout.name = 'TimeoutError';
        req.destroy(timeout);
      }, timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(body);
    });
  }

  private dropIdleSockets(): void {
    for (const sockets of Object.values(this.agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  private async shutdown(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    this.agent.destroy();
    await this.supervisor.close();
  }

  // ------------------------------------------------------------------ event websocket

  private openLink(handlers: LinkHandlers, signal: AbortSignal): Promise<EventLink> {
    const ws = new WebSocket(this.options.eventsUrl, {
      headers: { authorization: this.authorization },
      perMessageDeflate: false,
    });
    let lastError: Error | undefined;
    let opened = false;
    const rest = new WebsocketRest((text, done) => ws.send(text, done), this.options.requestTimeoutMs);
    ws.on('message', (data: WebSocket.RawData) => this.onFrame(rawText(data), rest));
    ws.on('pong', () => handlers.onPong());
    ws.on('error', (e: Error) => {
      lastError = e; // always listened to: ws throws an 'error' nobody listens to
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.websocketRest === rest) this.websocketRest = undefined;
      rest.close(closeReason(code, reason, lastError));
      if (opened) handlers.onDown(closeReason(code, reason, lastError));
    });
    return new Promise<EventLink>((resolve, reject) => {
      const abandon = (): void => {
        ws.terminate();
        reject(isErrorLike(signal.reason) ? signal.reason : new Error('websocket attempt aborted'));
      };
      if (signal.aborted) return abandon();
      signal.addEventListener('abort', abandon, { once: true });
      ws.once('open', () => {
        signal.removeEventListener('abort', abandon);
        opened = true;
        resolve(nativeLink(ws));
        void rest.probe().then((takesRest) => {
          if (takesRest && ws.readyState === WebSocket.OPEN && !this.closePromise) this.websocketRest = rest;
        });
      });
      ws.once('close', (code: number, reason: Buffer) => {
        signal.removeEventListener('abort', abandon);
        if (!opened) reject(lastError ?? new Error(closeReason(code, reason, undefined)));
      });
    });
  }

  private onFrame(text: string, rest: WebsocketRest): void {
    const parsed = parseEventFrame(text);
    if (!parsed.ok) this.emitError(parsed.error);
    else if (parsed.event.type !== 'RESTResponse') this.emitEvent(parsed.event);
    else rest.settle(parsed.event as unknown as Record<string, unknown>);
  }
}

function nativeLink(ws: WebSocket): EventLink {
  return {
    ping: () => ws.ping(),
    terminate: () => ws.terminate(),
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        const grace = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        ws.once('close', () => {
          clearTimeout(grace);
          resolve();
        });
        ws.close(1000, 'callscreen closing');
      }),
  };
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function closeReason(code: number, reason: Buffer, error: Error | undefined): string {
  const said = reason.length > 0 ? `: ${reason.toString('utf8')}` : '';
  return `websocket closed (code ${code}${said})${error ? `: ${errorText(error)}` : ''}`;
}

/** Request failures: our timeout, or no usable connection (refused, reset, DNS, TLS ...). */
function transportError(e: unknown, method: string, path: string, timeoutMs: number): Error {
  if (isErrorLike(e) && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new AriTimeoutError({ method, path, timeoutMs }, { cause: e });
  }
  return new AriUnavailableError({ reason: `connection failed: ${networkCode(e)}`, method, path }, { cause: e });
}

function networkCode(e: unknown): string {
  const own = (e as { code?: unknown } | undefined)?.code;
  if (typeof own === 'string') return own;
  const cause = isErrorLike(e) ? e.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return isErrorLike(cause) ? cause.message : errorText(e);
}
