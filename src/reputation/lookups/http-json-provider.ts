/**
 * The generic HTTP JSON provider: one request per lookup, built from the provider's templates, bounded
 * by its timeoutMs (the whole exchange: connect, headers and body) and its maxResponseBytes (the body is
 * read piece by piece and given up past the limit, whatever Content-Length said). Never rejects: a
 * refused connection, a timeout, a 5xx, a body that is not JSON or too long are all failures of a kind.
 * Sent with node:http(s) over a keep-alive agent of the provider's own: connections stay open between
 * calls, and a request costs a fraction of the CPU fetch takes (measured with bench/pdd: docs/benchmarks.md).
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupProviderConfig } from '../../config/lookups-schema';
import { interpretAnswer } from './answer-extraction';
import type { LookupFailureKind, LookupProvider, ProviderOutcome } from './provider-outcome';
import { numberForms, RequestTemplate } from './request-template';

/** One HTTP exchange: the status and body, or why there are none. */
type Exchange = { status: number; text: string } | { failed: ProviderOutcome & { status: 'failed' } };

export class HttpJsonProvider implements LookupProvider {
  readonly name: string;
  private readonly url: RequestTemplate;
  private readonly body: RequestTemplate | undefined;
  private readonly headers: ReadonlyArray<[string, RequestTemplate]>;
  private readonly usesNational: boolean;
  private readonly agent: HttpAgent;
  private readonly secure: boolean;

  /** Reads the secrets the templates name from `env`: a variable that is not set throws a ConfigError. */
  constructor(
    private readonly settings: LookupProviderConfig,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.name = settings.name;
    const key = (what: string): string => `lookups.providers.${settings.name}.${what}`;
    this.url = RequestTemplate.compile(settings.url, key('url'), env, { encode: true });
    this.body = settings.body !== undefined ? RequestTemplate.compile(settings.body, key('body'), env) : undefined;
    this.headers = Object.entries(settings.headers).map(([name, value]) => [
      name,
      typeof value === 'string'
        ? RequestTemplate.compile(value, key(`headers.${name}`), env)
        : RequestTemplate.fromSecret(value.env, key(`headers.${name}.env`), env),
    ]);
    this.usesNational = [this.url, this.body, ...this.headers.map(([, t]) => t)].some((t) => t?.usesNational);
    const agentOptions = { keepAlive: true, keepAliveMsecs: 30_000, scheduling: 'lifo' as const };
    this.secure = /^https:/i.test(settings.url);
    this.agent = this.secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  async ask(e164: string, signal?: AbortSignal): Promise<ProviderOutcome> {
    const forms = numberForms(e164, this.usesNational);
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [name, template] of this.headers) headers[name] = template.fill(forms);
    const body = this.body?.fill(forms);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    const answer = await this.exchange(this.url.fill(forms), headers, body, signal);
    if ('failed' in answer) return answer.failed;
    return interpretAnswer(answer.status, answer.text, this.settings);
  }

  /** Close the idle keep-alive connections (the daemon is stopping). */
  close(): void {
    this.agent.destroy();
  }

  /**
   * One request: the status and body, or a failure. The timer covers the whole exchange (connect,
   * headers, body); a redirect is not followed (its status is an HTTP failure, its Location ignored).
   */
  private exchange(
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Exchange> {
    const { timeoutMs, maxResponseBytes } = this.settings;
    return new Promise((resolve) => {
      let settled = false;
      let request: ClientRequest | undefined;
      // callbacks below run only once everything here is set up (timers and events fire later)
      const timer = setTimeout(() => {
        fail('timeout', `no answer within ${timeoutMs} ms`);
        request?.destroy();
      }, timeoutMs);
      const onAbort = () => {
        fail('network', 'request cancelled (shutting down)');
        request?.destroy();
      };
      const finish = (result: Exchange) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const fail = (kind: LookupFailureKind, detail: string) => finish({ failed: { status: 'failed', kind, detail } });
      try {
        request = (this.secure ? httpsRequest : httpRequest)(url, {
          method: this.settings.method,
          headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: this.agent,
        });
      } catch (e) {
        fail('network', networkText(e));
        return;
      }
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (e) => fail('network', networkText(e)));
      request.on('response', (response) => {
        const declared = Number(response.headers['content-length'] ?? NaN);
        if (declared > maxResponseBytes) {
          fail('too-large', `answer longer than ${maxResponseBytes} bytes`);
          response.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          length += chunk.byteLength;
          if (length > maxResponseBytes) {
            fail('too-large', `answer longer than ${maxResponseBytes} bytes`);
            response.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          finish({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', (e) => fail('network', networkText(e)));
        // closed before its end (the server dropped the connection mid-answer): after 'end' this is a no-op
        response.on('close', () => fail('network', 'connection closed before the answer ended'));
      });
      request.end(body);
    });
  }
}

/** A connection error's code (ECONNREFUSED, ...) says what happened. No URL: it may hold a key. */
function networkText(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return `connection failed (${code})`;
  return `connection failed (${e instanceof Error ? e.message : String(e)})`;
}
