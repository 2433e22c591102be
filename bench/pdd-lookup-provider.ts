/**
 * bench/pdd's online lookup provider (CALLSCREEN_BENCH_PDD_LOOKUP_MS=800): bench/quality's local HTTP
 * provider, knowing no number and answering every request after exactly that many milliseconds (no
 * failures), and the `lookups:` settings that point the bench daemon at it. Every bench caller is a
 * fresh number (nothing cached), so every call is looked up and, with an answer slower than
 * lookups.budgetMs, waits the whole budget: what the figure then shows is that the wait ends at the
 * budget (added p99 <= budgetMs + 5 ms) and that no call is lost. "Not known" never changes the bench's
 * verdict (allow); only the timing matters.
 */
import { BenchProvider } from './quality/provider';

export interface BenchLookupProvider {
  /** ms the provider takes to answer */
  answerMs: number;
  /** lookups.budgetMs the daemon runs with */
  budgetMs: number;
  /** the URL template for callscreen.yaml */
  url: string;
  /** requests the provider received so far */
  readonly requests: number;
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
  const server = new BenchProvider({
    knowledge: new Map(),
    seed: 1,
    minLatencyMs: answerMs,
    maxLatencyMs: answerMs,
    errorRate: 0,
    hangRate: 0,
  });
  const url = await server.start();
  return {
    answerMs,
    budgetMs,
    url,
    get requests() {
      return server.stats.requests;
    },
    close: () => server.close(),
  };
}

/** The daemon's lookups: section for the provider (lines of callscreen.yaml). */
export function lookupsConfigLines(provider: BenchLookupProvider): string[] {
  return [
    'lookups:',
    `  budgetMs: ${provider.budgetMs}`,
    '  providers:',
    '    - name: bench',
    `      url: "${provider.url}"`,
    '      answer: { score: score, reports: reports }',
    '      score: { min: 0, max: 100 }',
    '      weight: 10',
    `      timeoutMs: ${Math.max(2000, provider.answerMs * 2)}`,
    '      rateLimit: { perSecond: 10000, burst: 10000 }',
    '      breaker: { failures: 1000, openSeconds: 5 }',
  ];
}
