/**
 * bench/quality's online reputation provider: a local HTTP server that answers like a public spam-number
 * service, slowly and not always. GET /v1/number/<digits> ->
 *   200 {"number": "+1...", "score": 0..100, "reports": n, "category": "..."}   a number it knows
 *   404 {"error": "unknown number"}                                              one it does not
 * after 50-800 ms (uniform); a share of requests fail with a 503, and a share never get an answer in
 * time (held for `hangMs`, longer than any client's timeout).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Random, type ProviderRecord } from './traffic';

export interface ProviderOptions {
  /** what the provider knows, by E.164 */
  knowledge: ReadonlyMap<string, ProviderRecord>;
  seed: number;
  minLatencyMs?: number;
  maxLatencyMs?: number;
  /** share of requests answered 503 */
  errorRate?: number;
  /** share of requests held without an answer */
  hangRate?: number;
  hangMs?: number;
}

export interface ProviderStats {
  requests: number;
  known: number;
  unknown: number;
  errors: number;
  hung: number;
}

export class BenchProvider {
  readonly stats: ProviderStats = { requests: 0, known: 0, unknown: 0, errors: 0, hung: 0 };
  private readonly server: Server;
  private readonly rng: Random;
  private readonly byDigits = new Map<string, { e164: string; record: ProviderRecord }>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ProviderOptions) {
    this.rng = new Random(options.seed);
    for (const [e164, record] of options.knowledge) this.byDigits.set(e164.replace(/^\+/, ''), { e164, record });
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  /** listens on a free loopback port; the URL template for callscreen.yaml's lookups */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1/number/{digits}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    const match = /^\/v1\/number\/\+?(\d{4,15})$/.exec(req.url ?? '');
    const send = (status: number, body: unknown): void => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!match || req.method !== 'GET') {
      send(400, { error: 'GET /v1/number/<digits>' });
      return;
    }
    const { minLatencyMs = 50, maxLatencyMs = 800, errorRate = 0.04, hangRate = 0.03, hangMs = 10_000 } = this.options;
    const roll = this.rng.next();
    if (roll < hangRate) {
      this.stats.hung++;
      this.later(hangMs, () => send(504, { error: 'upstream timeout' }));
      return;
    }
    const latency = minLatencyMs + this.rng.next() * (maxLatencyMs - minLatencyMs);
    this.later(latency, () => {
      if (roll < hangRate + errorRate) {
        this.stats.errors++;
        send(503, { error: 'service unavailable' });
        return;
      }
      const known = this.byDigits.get(match[1] as string);
      if (!known) {
        this.stats.unknown++;
        send(404, { error: 'unknown number' });
        return;
      }
      this.stats.known++;
      const { score, reports, category } = known.record;
      send(200, { number: known.e164, score, reports, ...(category ? { category } : {}) });
    });
  }
}
