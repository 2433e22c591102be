/**
 * Online lookups end to end: CallEvaluator with the real RedisCallerHistoryStore and LookupService
 * (HttpJsonProvider, RedisLookupCache) on the test bed's Redis, against a local HTTP provider this test
 * starts. The provider behaves per caller number: answers at once, answers only when the test releases
 * it (slow: past the budget), answers 503, answers garbage, answers more than maxResponseBytes, or never
 * answers (the socket hangs). Whatever it does, the decision comes back; what is asserted is behaviour:
 * which answer is in the decision, what is in the cache afterwards, what the next call's decision says,
 * and (the provider counts requests) who was never looked up. No clock is asserted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import { createRedisConnection } from '../../src/adapters/redis/redis-connection';
import { RedisCallerHistoryStore } from '../../src/adapters/redis/redis-caller-history-store';
import { lookupCacheKey, RedisLookupCache } from '../../src/adapters/redis/redis-lookup-cache';
import { CallEvaluator, type SettingsSnapshot } from '../../src/calls/call-evaluator';
import { loadConfigText } from '../../src/config/load-config';
import { compileRulesText } from '../../src/config/rules-file';
import type { Decision } from '../../src/domain/decision';
import { LookupService } from '../../src/reputation/lookups/lookup-service';
import { testbed } from '../support/testbed';
import { captureLogger } from '../support/fakes';
import { deleteKeysWithPrefix } from '../support/redis-keys';

jest.setTimeout(30_000);

const PREFIX = 'cs-test-lookups:';
const DID = '+12125550100';
const MAX_BYTES = 4096;

/** caller numbers and what the provider does for each */
const FAST = '+12015550101';
const SLOW = '+12015550102';
const FAILING = '+12015550103';
const GARBAGE = '+12015550104';
const HUGE = '+12015550105';
const NEVER = '+12015550106';
const UNKNOWN = '+12015550107';
const TRUSTED = '+12015550108';
const ALLOWED = '+12015550109';

/** The local provider: GET /num/<e164>; counts requests per number; slow answers wait for release(). */
class LocalProvider {
  readonly requests = new Map<string, number>();
  private readonly held: Array<{ number: string; res: ServerResponse }> = [];
  private readonly hanging: ServerResponse[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  count(number: string): number {
    return this.requests.get(number) ?? 0;
  }

  /** answer the held requests for `number` with a score */
  release(number: string, score: number): void {
    for (const h of this.held.filter((x) => x.number === number))
      json(h.res, 200, { score, reports: 7, type: 'robocall' });
    this.held.splice(0, this.held.length, ...this.held.filter((x) => x.number !== number));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const h of this.held) h.res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const number = decodeURIComponent((req.url ?? '').replace(/^\/num\//, '').replace(/\?.*$/, ''));
    this.requests.set(number, this.count(number) + 1);
    if (req.headers['x-api-key'] !== 'test-secret') return json(res, 401, { error: 'no key' });
    switch (number) {
      case FAST:
        return json(res, 200, { score: 90, reports: 12, type: 'telemarketer' });
      case SLOW:
        this.held.push({ number, res });
        return;
      case FAILING:
        return json(res, 503, { error: 'busy' });
      case GARBAGE:
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>not json</html>');
        return;
      case HUGE: {
        // no Content-Length: the limit must hold while the body streams
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"score": 90, "padding": "`);
        const chunk = 'x'.repeat(1024);
        for (let i = 0; i < 64; i++) res.write(chunk);
        res.end('"}');
        return;
      }
      case NEVER:
        this.hanging.push(res); // headers never sent: the socket hangs
        return;
      default:
        return json(res, 404, { error: 'unknown number' });
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const provider = new LocalProvider();
let redis: Redis;
let service: LookupService;
let evaluator: CallEvaluator;
let history: RedisCallerHistoryStore;
let snapshot: SettingsSnapshot;
let callSeq = 0;

beforeAll(async () => {
  await provider.start();
  const loaded = loadConfigText(
    `
numbers: { defaultRegion: US }
screening: { deadlineMs: 3000, timeZone: UTC }
lookups:
  budgetMs: 1000
  providers:
    - name: local
      url: "http://127.0.0.1:${provider.port}/num/{e164}"
      headers: { X-Api-Key: { env: LOCAL_PROVIDER_KEY } }
      answer: { score: score, reports: reports, category: type }
      score: { min: 0, max: 100 }
      weight: 40
      timeoutMs: 2000
      maxResponseBytes: ${MAX_BYTES}
      cache: { answerTtlSeconds: 600, unknownTtlSeconds: 300, errorTtlSeconds: 60 }
      rateLimit: { perSecond: 1000, burst: 1000 }
      breaker: { failures: 1000, openSeconds: 60 }
`,
    'callscreen.yaml',
    {},
  );
  const rules = compileRulesText(`allow:\n  - number: "${ALLOWED}"\ndeny: []\n`, 'rules.yaml', 'US');
  snapshot = { config: loaded.config, screening: loaded.screening, rules };
  redis = createRedisConnection({ url: testbed.redisUrl, commandTimeoutMs: 2000 });
  await redis.connect();
  await deleteKeysWithPrefix(redis, PREFIX);
  history = new RedisCallerHistoryStore(redis, PREFIX);
  service = new LookupService({
    config: loaded.config.lookups,
    cache: new RedisLookupCache(redis, PREFIX),
    logger: captureLogger('warn').logger,
    env: { LOCAL_PROVIDER_KEY: 'test-secret' },
  });
  evaluator = new CallEvaluator({ history, lookups: service });
});

afterAll(async () => {
  await service?.close();
  await provider.close();
  if (redis?.status === 'ready') await deleteKeysWithPrefix(redis, PREFIX);
  redis?.disconnect();
});

async function decide(callerNumber: string): Promise<Decision> {
  callSeq += 1;
  const { decision } = await evaluator.evaluate({ callerNumber, did: DID, at: new Date() }, snapshot, {
    callId: `lookup-call-${callSeq}`,
    record: true,
  });
  return decision;
}

const lookupReason = (d: Decision) => d.reasons.find((r) => r.code === 'lookup');
const cached = async (number: string) => {
  const text = await redis.get(lookupCacheKey(PREFIX, number, 'local'));
  return text === null ? undefined : (JSON.parse(text) as Record<string, unknown>);
};

describe('online lookups against a local HTTP provider', () => {
  test('a fast answer is in the decision with its points, and cached for the next call', async () => {
    const first = await decide(FAST);
    expect(lookupReason(first)).toEqual({
      code: 'lookup',
      text: 'local: score 0.9, 12 reports, telemarketer',
      points: 36,
      value: 0.9,
    });
    await service.idle();
    expect(await cached(FAST)).toMatchObject({ status: 'answered', score: 0.9, reports: 12 });
    const second = await decide(FAST);
    expect(lookupReason(second)?.text).toBe('local: score 0.9, 12 reports, telemarketer (cached)');
    expect(provider.count(FAST)).toBe(1);
  });

  test('an answer past the budget is not in the decision, is cached when it comes, and is in the next decision', async () => {
    const first = await decide(SLOW);
    expect(lookupReason(first)).toMatchObject({ text: expect.stringContaining('late: counts for the next call') });
    expect(lookupReason(first)?.points).toBeUndefined();
    expect(await cached(SLOW)).toBeUndefined();

    provider.release(SLOW, 80);
    await service.idle();
    expect(await cached(SLOW)).toMatchObject({ status: 'answered', score: 0.8 });

    const next = await decide(SLOW);
    expect(lookupReason(next)).toMatchObject({ text: 'local: score 0.8, 7 reports, robocall (cached)', points: 32 });
    expect(provider.count(SLOW)).toBe(1);
  });

  test('a provider that never answers leaves the decision without it; the hung request ends as a failure', async () => {
    const decision = await decide(NEVER);
    expect(decision.verdict).toBeDefined();
    expect(lookupReason(decision)?.text).toContain('late: counts for the next call');
    await service.idle();
    expect(await cached(NEVER)).toMatchObject({ status: 'failed', detail: 'no answer within 2000 ms' });
  });

  test.each([
    ['a 503', FAILING, 'HTTP 503'],
    ['garbage', GARBAGE, 'the answer is not JSON'],
    ['an answer past maxResponseBytes', HUGE, `answer longer than ${MAX_BYTES} bytes`],
  ])('%s is a failure that scores nothing, and the call is decided', async (_kind, number, detail) => {
    const decision = await decide(number);
    expect(lookupReason(decision)).toEqual({ code: 'lookup', text: `local: not consulted: ${detail}` });
    await service.idle();
    expect(await cached(number)).toMatchObject({ status: 'failed', detail });
  });

  test('a number the provider does not know is cached as unknown and scores nothing', async () => {
    const decision = await decide(UNKNOWN);
    expect(lookupReason(decision)).toEqual({ code: 'lookup', text: 'local: number not known', points: 0 });
    await service.idle();
    expect(await cached(UNKNOWN)).toMatchObject({ status: 'unknown' });
    expect(await redis.ttl(lookupCacheKey(PREFIX, UNKNOWN, 'local'))).toBeGreaterThan(60);
  });

  test('an allow-listed caller and a caller who passed the CAPTCHA are never looked up', async () => {
    await history.recordCaptchaOutcome(TRUSTED, 'passed', Date.now());
    const trusted = await decide(TRUSTED);
    const allowed = await decide(ALLOWED);
    await service.idle();
    expect(lookupReason(trusted)).toBeUndefined();
    expect(lookupReason(allowed)).toBeUndefined();
    expect(allowed.verdict).toBe('allow');
    expect(provider.count(TRUSTED)).toBe(0);
    expect(provider.count(ALLOWED)).toBe(0);
  });
});
