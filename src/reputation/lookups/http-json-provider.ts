/**
 * The generic HTTP JSON provider: one request per lookup, built from the provider's templates, bounded
 * by its timeoutMs (the whole exchange: connect, headers and body) and its maxResponseBytes (the body is
 * read piece by piece and given up past the limit, whatever Content-Length said). Never rejects: a
 * refused connection, a timeout, a 5xx, a body that is not JSON or too long are all failures of a kind.
 * Node's fetch keeps connections to the provider alive between calls.
 */
import type { LookupProviderConfig } from '../../config/lookups-schema';
import { interpretAnswer } from './answer-extraction';
import type { LookupProvider, ProviderOutcome } from './provider-outcome';
import { numberForms, RequestTemplate } from './request-template';

export class HttpJsonProvider implements LookupProvider {
  readonly name: string;
  private readonly url: RequestTemplate;
  private readonly body: RequestTemplate | undefined;
  private readonly headers: ReadonlyArray<[string, RequestTemplate]>;
  private readonly usesNational: boolean;

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
  }

  async ask(e164: string, signal?: AbortSignal): Promise<ProviderOutcome> {
    const forms = numberForms(e164, this.usesNational);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [name, template] of this.headers) headers[name] = template.fill(forms);
    if (this.body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    try {
      const response = await fetch(this.url.fill(forms), {
        method: this.settings.method,
        headers,
        ...(this.body ? { body: this.body.fill(forms) } : {}),
        signal: abort,
        redirect: 'error',
      });
      const text = await readLimited(response, this.settings.maxResponseBytes);
      if (text === undefined)
        return {
          status: 'failed',
          kind: 'too-large',
          detail: `answer longer than ${this.settings.maxResponseBytes} bytes`,
        };
      return interpretAnswer(response.status, text, this.settings);
    } catch (e) {
      if (timeout.aborted)
        return { status: 'failed', kind: 'timeout', detail: `no answer within ${this.settings.timeoutMs} ms` };
      if (signal?.aborted) return { status: 'failed', kind: 'network', detail: 'request cancelled (shutting down)' };
      return { status: 'failed', kind: 'network', detail: networkText(e) };
    }
  }
}

/** The body as text, or undefined once it is longer than maxBytes (the rest is not read). */
async function readLimited(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** fetch's "fetch failed" says little: its cause (ECONNREFUSED, ...) says what happened. No URL: it may hold a key. */
function networkText(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return `connection failed (${cause.code})`;
  if (cause && typeof cause.message === 'string') return `connection failed (${cause.message})`;
  return `connection failed (${e instanceof Error ? e.message : String(e)})`;
}
