/**
 * LookupService with fake providers and a cache in memory: the cache is used before any provider; a
 * provider's answer inside the budget is in the call's answers; one past the budget is 'late' for this
 * call and cached for the next; two calls for one number share one request; trusted callers and calls
 * without a history cause no request; a failing provider opens its breaker (logged once) and a refused
 * or throwing provider never fails the call. No clock is asserted: a provider answers when the test says.
 */
import { performance } from 'node:perf_hooks';
import { loadConfigText } from '../../src/config/load-config';
import type { CallerHistory, HistoryLookup } from '../../src/domain/caller-history';
import { normaliseDid } from '../../src/domain/screen-call';
import { resolveSettings } from '../../src/domain/screening-policy';
import type { CachedLookup, LookupCache } from '../../src/ports/lookup-cache';
import { LookupService, type LookupRequest } from '../../src/reputation/lookups/lookup-service';
import type { LookupProvider, ProviderOutcome } from '../../src/reputation/lookups/provider-outcome';
import { captureLogger } from '../support/fakes';

const AT = new Date('2026-11-23T15:00:00Z');
const CALLER = '+12015550123';

function loaded(providers: string) {
  return loadConfigText(
    `
numbers: { defaultRegion: US }
screening: { deadlineMs: 200, timeZone: UTC }
lookups:
  budgetMs: 40
  providers:
${providers}
`,
    'callscreen.yaml',
    {},
  );
}

const ONE = `
    - name: fast
      url: https://fast.example/{e164}
      answer: { score: score }
      weight: 40
      breaker: { failures: 2, openSeconds: 60 }
      rateLimit: { perSecond: 1, burst: 100 }
      cache: { errorTtlSeconds: 0 }
`;

class MemoryCache implements LookupCache {
  readonly entries = new Map<string, { entry: CachedLookup; ttl: number }>();
  reads = 0;
  read(e164: string, providers: readonly string[]): Promise<Map<string, CachedLookup>> {
    this.reads += 1;
    const found = new Map<string, CachedLookup>();
    for (const p of providers) {
      const hit = this.entries.get(`${p}|${e164}`);
      if (hit) found.set(p, hit.entry);
    }
    return Promise.resolve(found);
  }
  write(e164: string, provider: string, entry: CachedLookup, ttl: number): Promise<void> {
    this.entries.set(`${provider}|${e164}`, { entry, ttl });
    return Promise.resolve();
  }
}

/** A provider that answers when the test releases it (or at once with `answer`). */
class ControlledProvider implements LookupProvider {
  asked: string[] = [];
  private waiting: Array<(o: ProviderOutcome) => void> = [];
  constructor(
    readonly name: string,
    private readonly answer?: ProviderOutcome | (() => ProviderOutcome),
  ) {}
  ask(e164: string): Promise<ProviderOutcome> {
    this.asked.push(e164);
    if (this.answer) return Promise.resolve(typeof this.answer === 'function' ? this.answer() : this.answer);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(outcome: ProviderOutcome): void {
    for (const resolve of this.waiting.splice(0)) resolve(outcome);
  }
}

function setup(provider: LookupProvider, providersYaml = ONE) {
  const config = loaded(providersYaml);
  const cache = new MemoryCache();
  const log = captureLogger();
  const service = new LookupService({
    config: config.config.lookups,
    cache,
    logger: log.logger,
    providers: new Map([[provider.name, provider]]),
  });
  const settings = resolveSettings(config.screening, normaliseDid('+12125550100', 'US'), AT);
  const history = (overrides: Partial<CallerHistory> = {}): HistoryLookup => ({
    status: 'found',
    history: {
      reputation: { entries: [] },
      numberCalls: [],
      blockCalls: [],
      captcha: { failures: 0 },
      ...overrides,
    },
  });
  const request = (overrides: Partial<LookupRequest> = {}): LookupRequest => ({
    e164: CALLER,
    callId: 'call-1',
    at: AT,
    history: history(),
    settings,
    startedAt: performance.now(),
    deadlineMs: 200,
    ...overrides,
  });
  return { service, cache, log, request, history };
}

describe('LookupService', () => {
  test('an answer inside the budget is in the call and cached with the answer TTL', async () => {
    const provider = new ControlledProvider('fast', { status: 'answered', score: 0.8, reports: 12 });
    const { service, cache, request } = setup(provider);
    const answers = await service.consult(request());
    expect(answers).toEqual([{ provider: 'fast', status: 'answered', score: 0.8, reports: 12, weight: 40 }]);
    await service.idle();
    expect(cache.entries.get(`fast|${CALLER}`)).toMatchObject({
      entry: { status: 'answered', score: 0.8 },
      ttl: 86_400,
    });
  });

  test('a cached answer is used without asking the provider', async () => {
    const provider = new ControlledProvider('fast', { status: 'answered', score: 1 });
    const { service, cache, request } = setup(provider);
    await cache.write(CALLER, 'fast', { status: 'answered', score: 0.5, at: 1 }, 60);
    const answers = await service.consult(request());
    expect(answers).toEqual([{ provider: 'fast', status: 'answered', score: 0.5, weight: 40, cached: true }]);
    expect(provider.asked).toEqual([]);
  });

  test('an answer past the budget is late for this call, then cached and in the next call', async () => {
    const provider = new ControlledProvider('fast');
    const { service, cache, request } = setup(provider);
    const first = await service.consult(request({ callId: 'call-1' }));
    expect(first).toEqual([expect.objectContaining({ provider: 'fast', status: 'late' })]);
    provider.release({ status: 'answered', score: 0.9, category: 'telemarketer' });
    await service.idle();
    expect(cache.entries.get(`fast|${CALLER}`)?.entry).toMatchObject({ status: 'answered', score: 0.9 });
    const second = await service.consult(request({ callId: 'call-2' }));
    expect(second).toEqual([expect.objectContaining({ status: 'answered', score: 0.9, cached: true })]);
    expect(provider.asked).toHaveLength(1);
  });

  test('the wait ends the route reserve before the budget is up; the reserve is at most a fifth of it', async () => {
    // budget 40 ms, the call arrived 20 ms ago; the provider answers 16 ms from now
    const consultWith = async (reserveMs: number, answerInMs: number) => {
      const provider = new ControlledProvider('fast');
      const { service, request } = setup(provider);
      setTimeout(() => provider.release({ status: 'answered', score: 0.8 }), answerInMs);
      const answers = await service.consult(request({ startedAt: performance.now() - 20, reserveMs }));
      await service.idle();
      return answers?.[0]?.status;
    };
    expect(await consultWith(0, 16)).toBe('answered'); // the wait ends in 20 ms
    expect(await consultWith(8, 16)).toBe('late'); // in 12 ms: before the answer
    expect(await consultWith(1000, 8)).toBe('answered'); // reserve cut to 8 ms: the wait still ends in 12 ms
  });

  test('a call that arrives while a request for its number is out joins it', async () => {
    const provider = new ControlledProvider('fast');
    const { service, request } = setup(provider);
    const first = service.consult(request({ callId: 'call-1' }));
    const second = service.consult(request({ callId: 'call-2' }));
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    provider.release({ status: 'unknown' });
    const answers = await Promise.all([first, second]);
    expect(provider.asked).toEqual([CALLER]);
    for (const a of answers) expect(a?.[0]?.status).toMatch(/unknown|late/);
    await service.idle();
  });

  test('a caller who passed the CAPTCHA recently, or whom the agents called not spam, is not looked up', async () => {
    const provider = new ControlledProvider('fast', { status: 'answered', score: 1 });
    const { service, cache, request, history } = setup(provider);
    const passed = history({ captcha: { failures: 0, lastPassedAt: AT.getTime() - 3_600_000 } });
    const vouched = history({
      reputation: {
        entries: [],
        feedback: { spam: 1, ok: 2, last: 'ok', firstAt: AT.getTime() - 9000, lastAt: AT.getTime() - 1000 },
      },
    });
    expect(await service.consult(request({ history: passed }))).toBeUndefined();
    expect(await service.consult(request({ history: vouched }))).toBeUndefined();
    expect(provider.asked).toEqual([]);
    expect(cache.reads).toBe(0);
  });

  test('without a history (Redis did not answer) nobody is looked up', async () => {
    const provider = new ControlledProvider('fast', { status: 'answered', score: 1 });
    const { service, request } = setup(provider);
    const answers = await service.consult(request({ history: { status: 'unavailable', reason: 'Redis down' } }));
    expect(answers).toBeUndefined();
    expect(provider.asked).toEqual([]);
  });

  test('failures in a row open the breaker: logged once with the call id, then the provider is not asked', async () => {
    const provider = new ControlledProvider('fast', { status: 'failed', kind: 'http', detail: 'HTTP 503' });
    const { service, log, request } = setup(provider);
    for (const callId of ['c1', 'c2', 'c3', 'c4']) {
      const answers = await service.consult(request({ callId, e164: `+1201555${callId.slice(1).padStart(4, '0')}` }));
      expect(answers?.[0]?.status).toBe('failed');
    }
    expect(provider.asked).toHaveLength(2);
    const opened = log.at('warn');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ callId: 'c2', provider: 'fast', breaker: 'open', err: 'HTTP 503' });
  });

  test('a provider that throws is a failure of the call, never an exception', async () => {
    const provider: LookupProvider = { name: 'fast', ask: () => Promise.reject(new Error('boom')) };
    const { service, request } = setup(provider);
    await expect(service.consult(request())).resolves.toEqual([
      expect.objectContaining({ status: 'failed', detail: 'boom' }),
    ]);
  });

  test('past the rate limit the call goes on without the provider', async () => {
    const provider = new ControlledProvider('fast', { status: 'unknown' });
    const { service, request } = setup(
      provider,
      ONE.replace('rateLimit: { perSecond: 1, burst: 100 }', 'rateLimit: { perSecond: 0.01, burst: 1 }'),
    );
    await service.consult(request({ e164: '+12015550001' }));
    const refused = await service.consult(request({ e164: '+12015550002' }));
    expect(refused?.[0]).toMatchObject({ status: 'failed', detail: expect.stringContaining('rate limit') });
    expect(provider.asked).toEqual(['+12015550001']);
  });

  test('a failure is cached for errorTtlSeconds when that is set', async () => {
    const provider = new ControlledProvider('fast', { status: 'failed', kind: 'timeout', detail: 'no answer' });
    const { service, cache, request } = setup(provider, ONE.replace('errorTtlSeconds: 0', 'errorTtlSeconds: 30'));
    await service.consult(request());
    await service.idle();
    expect(cache.entries.get(`fast|${CALLER}`)).toMatchObject({ entry: { status: 'failed' }, ttl: 30 });
    const again = await service.consult(request());
    expect(again?.[0]).toMatchObject({ status: 'failed', cached: true });
    expect(provider.asked).toHaveLength(1);
  });
});
