/**
 * ARI REST requests over the event websocket (Asterisk 20.14, 21.9, 22.4 and later):
 * `{"type":"RESTRequest","request_id","method","uri"}` goes out on the socket the events come in on,
 * `{"type":"RESTResponse","request_id","status_code","message_body"}` comes back among the events.
 *
 * Why: Asterisk reads a websocket's messages one at a time and answers each before it reads the next
 * (res/ari/ari_websockets.c), so requests sent one after the other are carried out in that order. A
 * call's route (its tags, then the continue) can then go out at once and cost one round trip, where
 * plain HTTP needs two (the continue must wait until every tag is set). No connection of Asterisk's
 * HTTP server is taken either. Older Asterisk ignores what a client sends on the socket: probe() finds
 * out, and the adapter keeps to HTTP when it gets no answer.
 *
 * Errors are those of a REST request over HTTP: AriRequestError (non-2xx, with Asterisk's message),
 * AriTimeoutError (no answer within timeoutMs), AriUnavailableError (the link went down before the
 * answer: whether Asterisk carried the request out is not known).
 */
import { AriRequestError } from '../../errors/ari-request-error';
import { AriTimeoutError } from '../../errors/ari-timeout-error';
import { AriUnavailableError } from '../../errors/ari-unavailable-error';
import { bodyMessage, type HttpMethod, type Query, queryString } from './ari-rest';

/** Sends one text message on the websocket; calls back with an error when it could not be sent. */
export type SendText = (text: string, done: (error?: Error) => void) => void;

interface Pending {
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  method: HttpMethod;
  path: string;
}

export class WebsocketRest {
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private downReason: string | undefined;

  constructor(
    private readonly sendText: SendText,
    private readonly timeoutMs: number,
  ) {}

  /** Requests waiting for their answer. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * One request. `path` is the ARI path as the HTTP adapter writes it (`/channels/<id>/continue`, ids
   * already encoded); resolves with the answer's body (undefined when it has none).
   */
  request<T = unknown>(method: HttpMethod, path: string, query?: Query): Promise<T> {
    if (this.downReason !== undefined)
      return Promise.reject(new AriUnavailableError({ reason: this.downReason, method, path }));
    const requestId = `cs-${++this.seq}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(requestId)) reject(new AriTimeoutError({ method, path, timeoutMs: this.timeoutMs }));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve: resolve as (body: unknown) => void, reject, timer, method, path });
      const message = {
        type: 'RESTRequest',
        request_id: requestId,
        method,
        uri: `${path.slice(1)}${queryString(query)}`,
      };
      this.sendText(JSON.stringify(message), (error) => {
        if (error)
          this.fail(
            requestId,
            new AriUnavailableError({ reason: 'websocket send failed', method, path }, { cause: error }),
          );
      });
    });
  }

  /**
   * A frame of type RESTResponse: settles the request it answers. False when it answers none of ours
   * (late, after its timeout, or another client's).
   */
  settle(frame: Readonly<Record<string, unknown>>): boolean {
    const id = frame.request_id;
    const pending = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (pending === undefined || typeof id !== 'string') return false;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    const status = typeof frame.status_code === 'number' ? frame.status_code : 0;
    const body = frame.message_body;
    if (status >= 200 && status <= 299) pending.resolve(body === '' || body === null ? undefined : body);
    else
      pending.reject(
        new AriRequestError({
          statusCode: status,
          method: pending.method,
          path: pending.path,
          responseMessage: messageOf(body),
        }),
      );
    return true;
  }

  /** The link went down: every request still waiting is rejected, and later ones at once. */
  close(reason: string): void {
    this.downReason ??= reason;
    for (const id of [...this.pending.keys()])
      this.fail(
        id,
        new AriUnavailableError({ reason, method: this.pending.get(id)?.method, path: this.pending.get(id)?.path }),
      );
  }

  /**
   * Whether Asterisk takes REST requests on this socket: true once it answers a ping (whatever the
   * status), false when no answer comes within timeoutMs (older Asterisk reads and drops the message).
   */
  async probe(): Promise<boolean> {
    try {
      await this.request('GET', '/asterisk/ping');
      return true;
    } catch (e) {
      return e instanceof AriRequestError;
    }
  }

  private fail(requestId: string, error: Error): void {
    const pending = this.pending.get(requestId);
    if (pending === undefined) return;
    this.pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.reject(error);
  }
}

/**
 * Whether an Asterisk of this version (`22.10.1`, `22.10.1+dfsg...`, `certified-20.7-cert5`) takes REST
 * requests over the websocket: 20.14, 21.9, 22.4 and later in each branch, every branch from 23 on;
 * undefined when the version cannot be read. The adapter does not rely on this (it probes), doctor does.
 */
export function takesRestOverWebsocket(version: string): boolean | undefined {
  const match = /^(?:certified[-/])?(\d+)\.(\d+)/.exec(version.trim());
  if (!match) return undefined;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const first: Record<number, number> = { 20: 14, 21: 9, 22: 4 };
  if (major >= 23) return true;
  const since = first[major];
  return since !== undefined && minor >= since;
}

/** Asterisk's words in an error answer: `{"message": ...}` as JSON, or as text holding it. */
function messageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return bodyMessage(body);
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string')
    return (body as { message: string }).message;
  return undefined;
}
