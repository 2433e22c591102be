/**
 * bench/pdd's online lookup provider (CALLSCREEN_BENCH_PDD_LOOKUP_MS=800): a local HTTP JSON service that
 * answers every number after that many milliseconds, and the `lookups:` settings that point the bench
 * daemon at it. Every bench caller is a fresh number (nothing cached), so every call is looked up and,
 * with an answer slower than lookups.budgetMs, waits the whole budget: what the figure then shows is
 * that the wait ends at the budget (added p99 <= budgetMs + 5 ms) and that no call is lost.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchLookupProvider {
  /** ms the provider takes to answer */
  answerMs: number;
  /** lookups.budgetMs the daemon runs with */
  budgetMs: number;
  port: number;
  requests: number;
  close(): Promise<void>;
}

/** From the environment: undefined when CALLSCREEN_BENCH_PDD_LOOKUP_MS is not set. */
export async function startBenchLookupProvider(env: NodeJS.ProcessEnv): Promise<BenchLookupProvider | undefined> {
  const raw = env.CALLSCREEN_BENCH_PDD_LOOKUP_MS;
  if (raw === undefined || raw === '') return undefined;
  const answerMs = Number(raw);
  const budgetMs = Number(env.CALLSCREEN_BENCH_PDD_LOOKUP_BUDGET_MS ?? 150);
  if (!Number.isInteger(answerMs) || answerMs < 0 || !Number.isInteger(budgetMs) || budgetMs < 1)
    throw new Error('CALLSCREEN_BENCH_PDD_LOOKUP_MS and _BUDGET_MS take whole milliseconds');
  const timers = new Set<NodeJS.Timeout>();
  const provider = { answerMs, budgetMs, port: 0, requests: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    provider.requests += 1;
    const timer = setTimeout(() => {
      timers.delete(timer);
      res.writeHead(200, { 'content-type': 'application/json' });
      // a clean number: the answer never changes the bench's verdict (allow), only its timing matters
      res.end(JSON.stringify({ score: 0, reports: 0 }));
    }, answerMs);
    timers.add(timer);
    req.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  provider.port = (server.address() as AddressInfo).port;
  provider.close = async () => {
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return provider;
}

/** The daemon's lookups: section for the provider (lines of callscreen.yaml). */
export function lookupsConfigLines(provider: BenchLookupProvider): string[] {
  return [
    'lookups:',
    `  budgetMs: ${provider.budgetMs}`,
    '  providers:',
    '    - name: bench',
    `      url: "http://127.0.0.1:${provider.port}/num/{e164}"`,
    '      answer: { score: score, reports: reports }',
    '      weight: 10',
    `      timeoutMs: ${Math.max(2000, provider.answerMs * 2)}`,
    '      rateLimit: { perSecond: 10000, burst: 10000 }',
    '      breaker: { failures: 1000, openSeconds: 5 }',
  ];
}
