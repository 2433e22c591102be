/**
 * Feed subscriptions end to end on the test bed's Redis (a key prefix per test) against a local HTTP
 * server the test starts: conditional GET, generation switches, the shrink guard, the size limit, server
 * errors, the lock between two runners, file: URLs, headers from the environment; and
 * `callscreen feeds update|status` and `callscreen reputation sources` as users run them (the built CLI);
 * and the daemon fetching its feeds by itself (child processes), shown in /metrics and the console's API.
 */
import { once } from 'node:events';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import Redis from 'ioredis';
import pino from 'pino';
import { RedisFeedSubscriptionStore } from '../../src/adapters/redis/redis-feed-subscriptions';
import { numberField, parseSourceTable, sourceBucketKey, sourcesKey } from '../../src/adapters/redis/reputation-layout';
import { feedSchema, type FeedSettings } from '../../src/config/feeds-schema';
import { runFeed, type FeedRunnerDeps } from '../../src/reputation/subscriptions/feed-runner';
import { runCli, startDaemon, testConfigHeader, writeConfigDir } from '../support/daemon-process';
import { deleteKeysWithPrefix } from '../support/redis-keys';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

const PREFIX = 'feedsub:';
let redis: Redis;
let server: http.Server;
let base: string;
/** what the test's server answers; every request it got */
let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
let requests: http.IncomingMessage[];

beforeAll(async () => {
  redis = new Redis(testbed.redisUrl);
  server = http.createServer((req, res) => {
    requests.push(req);
    answer(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, PREFIX);
  redis.disconnect();
  server.closeAllConnections();
  server.close();
});
let prefix: string;
let testNo = 0;
beforeEach(() => {
  requests = [];
  prefix = `${PREFIX}${++testNo}:`;
});

/** n listed numbers: +1 <area> 555 01xx */
function numbers(n: number, from = 0): string[] {
  const areas = ['212', '312', '415', '617', '202', '305', '713', '206'];
  return Array.from(
    { length: n },
    (_, i) => `+1${areas[Math.floor((i + from) / 100)]}55501${String((i + from) % 100).padStart(2, '0')}`,
  );
}
const body = (list: string[]): string => list.join('\n') + '\n';

/** a server that serves `text` with an ETag and answers 304 to a matching If-None-Match */
function serveList(getText: () => string, etag: () => string): void {
  answer = (req, res) => {
    if (req.headers['if-none-match'] === etag()) {
      res.writeHead(304, { etag: etag() }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', etag: etag() }).end(getText());
  };
}

function feed(settings: Record<string, unknown> = {}): FeedSettings {
  return feedSchema.parse({
    name: 'robo',
    url: `${base}/robocall.txt`,
    allowInsecureHttp: true,
    ...settings,
  });
}

const silent = pino({ level: 'silent' });
function deps(store = new RedisFeedSubscriptionStore(redis, prefix), env: NodeJS.ProcessEnv = {}): FeedRunnerDeps {
  return { store, logger: silent, env, defaults: { region: 'US', maxAgeDays: 180 } };
}

async function sourceRecord(name = 'robo') {
  return parseSourceTable(await redis.hgetall(sourcesKey(prefix))).sources.find((s) => s.name === name);
}
async function listed(e164: string, name = 'robo'): Promise<boolean> {
  const record = await sourceRecord(name);
  if (!record) return false;
  return (await redis.hexists(sourceBucketKey(prefix, record, numberField(e164)), numberField(e164))) === 1;
}
const status = (name = 'robo') => new RedisFeedSubscriptionStore(redis, prefix).status(name);

describe('a feed over HTTP', () => {
  test('the first download imports; the second sends If-None-Match, gets 304 and imports nothing', async () => {
    serveList(
      () => body(numbers(120)),
      () => '"v1"',
    );
    const first = await runFeed(feed(), deps());
    expect(first).toMatchObject({ outcome: 'imported', entries: 120 });
    const record = await sourceRecord();
    expect(record).toMatchObject({ kind: 'feed', entries: 120, origin: 'robocall.txt' });
    expect(await listed('+12125550107')).toBe(true);
    const afterFirst = await status();
    expect(afterFirst).toMatchObject({ entries: 120, httpStatus: 200, etag: '"v1"', failures: 0 });
    expect(requests[0]?.headers['if-none-match']).toBeUndefined();

    const second = await runFeed(feed(), deps());
    expect(second).toEqual({ outcome: 'unchanged', entries: 120 });
    expect(requests[1]?.headers['if-none-match']).toBe('"v1"');
    expect((await sourceRecord())?.gen).toBe(record?.gen);
    const afterSecond = await status();
    expect(afterSecond).toMatchObject({ httpStatus: 304, entries: 120, failures: 0 });
    expect(afterSecond?.lastSuccessAt).toBeGreaterThanOrEqual(afterFirst!.lastSuccessAt!);
    expect(afterSecond?.nextRunAt).toBe(afterSecond!.lastAttemptAt! + 24 * 60 * 60_000);
  });

  test('a changed feed switches the generation: new numbers in, dropped numbers out', async () => {
    let version = 1;
    serveList(
      () => body(version === 1 ? numbers(100) : numbers(100, 50)),
      () => `"v${version}"`,
    );
    await runFeed(feed(), deps());
    const before = await sourceRecord();
    version = 2;
    const changed = await runFeed(feed(), deps());
    expect(changed).toMatchObject({ outcome: 'imported', entries: 100, added: 50, removed: 50 });
    const after = await sourceRecord();
    expect(after!.gen).toBeGreaterThan(before!.gen);
    expect(await listed('+12125550100')).toBe(false);
    expect(await listed('+13125550149')).toBe(true);
    expect(await status()).toMatchObject({ etag: '"v2"', entries: 100 });
  });

  test('a shrunken feed is refused and the old generation stays; --allow-shrink takes it', async () => {
    let list = numbers(200);
    serveList(
      () => body(list),
      () => `"n${list.length}"`,
    );
    await runFeed(feed(), deps());
    const before = await sourceRecord();
    list = numbers(60); // 30 % of the live list, under the default minRatio 0.5
    const refused = await runFeed(feed(), deps());
    expect(refused.outcome).toBe('refused');
    expect(refused).toMatchObject({ error: expect.stringMatching(/CS_ERR_FEED_REFUSED.*60 numbers.*200/) });
    expect(await sourceRecord()).toEqual(before);
    expect(await listed('+13125550150')).toBe(true);
    expect(await status()).toMatchObject({ failures: 1, etag: '"n200"', entries: 200 });

    const taken = await runFeed(feed(), deps(), { allowShrink: true });
    expect(taken).toMatchObject({ outcome: 'imported', entries: 60 });
    expect(await listed('+13125550150')).toBe(false);
    expect(await status()).toMatchObject({ failures: 0, entries: 60 });
    expect((await status())?.lastError).toBeUndefined();
  });

  test('a feed larger than maxBytes is aborted, announced or streamed, and the old generation stays', async () => {
    serveList(
      () => body(numbers(100)),
      () => '"small"',
    );
    await runFeed(feed({ maxBytes: 4096 }), deps());
    const before = await sourceRecord();
    const big = body(numbers(800));
    answer = (_req, res) => res.writeHead(200, { etag: '"big"' }).end(big); // Content-Length announced
    const announced = await runFeed(feed({ maxBytes: 4096 }), deps());
    expect(announced).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/CS_ERR_FEED_DOWNLOAD.*maxBytes/),
    });
    answer = (_req, res) => {
      res.writeHead(200, { etag: '"big"' }); // chunked: no length said, the limit counts the bytes
      for (let i = 0; i < big.length; i += 1000) res.write(big.slice(i, i + 1000));
      res.end();
    };
    const streamed = await runFeed(feed({ maxBytes: 4096 }), deps());
    expect(streamed).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/more than maxBytes/) });
    expect(await sourceRecord()).toEqual(before);
    expect(await status()).toMatchObject({ failures: 2, entries: 100 });
  });

  test('a server error keeps the old generation and records the error', async () => {
    serveList(
      () => body(numbers(100)),
      () => '"ok"',
    );
    await runFeed(feed(), deps());
    const before = await sourceRecord();
    answer = (_req, res) => res.writeHead(503).end('maintenance');
    const failed = await runFeed(feed(), deps());
    expect(failed).toMatchObject({ outcome: 'failed', error: expect.stringContaining('answered 503') });
    expect(await sourceRecord()).toEqual(before);
    const after = await status();
    expect(after).toMatchObject({ failures: 1, httpStatus: 503, entries: 100, etag: '"ok"' });
    expect(after?.lastError).toMatch(/answered 503/);
    // retried after 5 minutes, not after the day's interval
    expect(after!.nextRunAt! - after!.lastAttemptAt!).toBe(5 * 60_000);
  });

  test('two runners at once: one imports, the other skips (the lock); the server is asked once', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    answer = (_req, res) => {
      void held.then(() => res.writeHead(200, { etag: '"x"' }).end(body(numbers(100))));
    };
    const otherRedis = new Redis(testbed.redisUrl);
    try {
      const one = runFeed(feed(), deps());
      // the first holds the lock while its server keeps it waiting
      for (let i = 0; i < 200 && requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const two = await runFeed(feed(), deps(new RedisFeedSubscriptionStore(otherRedis, prefix)));
      release();
      expect(two).toEqual({ outcome: 'locked' });
      expect(await one).toMatchObject({ outcome: 'imported', entries: 100 });
      expect(requests).toHaveLength(1);
      // the lock was given back: a third run may go
      expect(await new RedisFeedSubscriptionStore(redis, prefix).lockHeld('robo')).toBe(false);
    } finally {
      otherRedis.disconnect();
    }
  });

  test('a gzip answer is unpacked; headers come from the environment and are sent', async () => {
    answer = (req, res) => {
      if (req.headers.authorization !== 'Bearer s3cret') {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-encoding': 'gzip', etag: '"gz"' }).end(gzipSync(body(numbers(50))));
    };
    const settings = feed({ headersEnv: { Authorization: 'ROBO_FEED_AUTH' } });
    const imported = await runFeed(settings, deps(undefined, { ROBO_FEED_AUTH: 'Bearer s3cret' }));
    expect(imported).toMatchObject({ outcome: 'imported', entries: 50 });
    expect(requests[0]?.headers['accept-encoding']).toMatch(/gzip/);

    const unset = await runFeed(settings, deps(undefined, {}));
    expect(unset).toMatchObject({ outcome: 'failed', error: expect.stringContaining('ROBO_FEED_AUTH is not set') });
    expect(requests).toHaveLength(1);
  });

  test("a redirect to another host does not get the feed's headers", async () => {
    const otherHost = base.replace('127.0.0.1', 'localhost');
    answer = (req, res) => {
      if (req.url === '/moved') res.writeHead(301, { location: `${otherHost}/list.txt` }).end();
      else res.writeHead(200).end(body(numbers(10)));
    };
    const settings = feed({ url: `${base}/moved`, headersEnv: { 'X-Api-Key': 'ROBO_KEY' } });
    expect(await runFeed(settings, deps(undefined, { ROBO_KEY: 'k-123' }))).toMatchObject({ outcome: 'imported' });
    expect(requests.map((r) => [r.headers.host?.split(':')[0], r.headers['x-api-key']])).toEqual([
      ['127.0.0.1', 'k-123'],
      ['localhost', undefined],
    ]);
  });

  test('a server that says nothing is given up after a tenth of timeoutSeconds; the old list stays', async () => {
    serveList(
      () => body(numbers(20)),
      () => '"t"',
    );
    await runFeed(feed(), deps());
    answer = () => undefined; // never answers
    const silentServer = await runFeed(feed({ timeoutSeconds: 10 }), deps());
    expect(silentServer).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining('the server said nothing for 1 s'),
    });
    expect(await status()).toMatchObject({ failures: 1, entries: 20 });
    expect(await listed('+12125550110')).toBe(true);
  });

  test('redirects are followed up to five; a loop fails', async () => {
    answer = (req, res) => {
      const hop = Number(req.url?.split('/hop/')[1] ?? 0);
      if (req.url?.startsWith('/loop')) res.writeHead(302, { location: '/loop' }).end();
      else if (hop < 3) res.writeHead(302, { location: `/hop/${hop + 1}` }).end();
      else res.writeHead(200).end(body(numbers(10)));
    };
    expect(await runFeed(feed({ url: `${base}/hop/0` }), deps())).toMatchObject({ outcome: 'imported', entries: 10 });
    expect(await runFeed(feed({ url: `${base}/loop` }), deps())).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining('more than 5 redirects'),
    });
  });

  test('a list whose keys Redis lost is downloaded whole again (no validators without a live list)', async () => {
    serveList(
      () => body(numbers(30)),
      () => '"same"',
    );
    await runFeed(feed(), deps());
    await redis.hdel(sourcesKey(prefix), 'robo');
    expect(await runFeed(feed(), deps())).toMatchObject({ outcome: 'imported', entries: 30 });
    expect(requests[1]?.headers['if-none-match']).toBeUndefined();
  });
});

describe('a feed from a file: URL', () => {
  test('imports, is unchanged while the file is, and imports again when it changes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'feed-file-'));
    const file = path.join(dir, 'list.txt');
    writeFileSync(file, body(numbers(40)));
    const settings = feed({ url: pathToFileURL(file).href, allowInsecureHttp: false });
    expect(await runFeed(settings, deps())).toMatchObject({ outcome: 'imported', entries: 40 });
    expect(await runFeed(settings, deps())).toEqual({ outcome: 'unchanged', entries: 40 });
    writeFileSync(file, body(numbers(45)));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await runFeed(settings, deps())).toMatchObject({ outcome: 'imported', entries: 45, added: 5 });
    expect((await sourceRecord())?.origin).toBe('list.txt');
  });

  test('a missing file fails and says which', async () => {
    const settings = feed({ url: 'file:///nonexistent/callscreen/list.txt' });
    expect(await runFeed(settings, deps())).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining('/nonexistent/callscreen/list.txt: cannot read (ENOENT)'),
    });
  });
});

describe('callscreen feeds (CLI)', () => {
  function configDir(feeds: string): string {
    return writeConfigDir(`redis:\n  keyPrefix: "${prefix}"\n${feeds}`, 'allow: []\ndeny: []\n');
  }
  const feedsYaml = (url: string): string =>
    `feeds:\n  - name: robo\n    url: ${url}\n    allowInsecureHttp: true\n  - name: other\n    url: ${base}/other.txt\n    allowInsecureHttp: true\n`;

  test('update imports and exits 0; status and reputation sources show the feed; a failed feed exits 1', async () => {
    answer = (req, res) => {
      if (req.url !== '/robocall.txt') res.writeHead(500).end();
      else if (req.headers['if-none-match'] === '"c1"') res.writeHead(304).end();
      else res.writeHead(200, { etag: '"c1"' }).end(body(numbers(25)));
    };
    const dir = configDir(feedsYaml(`${base}/robocall.txt`));
    const one = await runCli(dir, ['feeds', 'update', 'robo', '--config', 'callscreen.yaml']);
    expect(one.stderr).toBe('');
    expect(one.stdout).toMatch(/^robo: imported 25 numbers \(new 25, removed 0\), generation \d+$/);
    expect(one.code).toBe(0);
    // block counts built as `callscreen import` builds them (the default block size)
    expect(await sourceRecord()).toMatchObject({ entries: 25, blockDigits: 3 });

    const all = await runCli(dir, ['feeds', 'update', '--config', 'callscreen.yaml']);
    expect(all.stdout).toBe('robo: not modified since the last import; 25 numbers stay');
    expect(all.stderr).toMatch(/^other: failed: CS_ERR_FEED_DOWNLOAD: feed other: download failed: .*answered 500\n$/);
    expect(all.code).toBe(1);

    const shown = await runCli(dir, ['feeds', 'status', '--config', 'callscreen.yaml']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^FEED +LAST SUCCESS +ENTRIES +HTTP +NEXT RUN +FAILURES +LAST ERROR/);
    expect(shown.stdout).toMatch(/\nrobo +\d{4}-\d\d-\d\dT\d\d:\d\dZ +25 +304 +\d{4}-\S+ +0 +-/);
    expect(shown.stdout).toMatch(/\nother +- +- +500 +\S+ +1 +\S+ CS_ERR_FEED_DOWNLOAD/);

    const sources = await runCli(dir, ['reputation', 'sources', '--config', 'callscreen.yaml']);
    expect(sources.code).toBe(0);
    expect(sources.stdout).toMatch(/^NAME +KIND +ENTRIES[^\n]*\nrobo +feed +25 [^\n]*\n\nFEED +LAST SUCCESS/);
  });

  test('bad names and configurations exit 2 with one line naming them', async () => {
    const dir = configDir(feedsYaml(`${base}/robocall.txt`));
    const unknown = await runCli(dir, ['feeds', 'update', 'nosuch', '--config', 'callscreen.yaml']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^callscreen: no feed "nosuch" in .*callscreen\.yaml \(feeds: robo, other\)\n$/);

    const plain = configDir(`feeds:\n  - name: robo\n    url: http://lists.example/robo.csv\n`);
    const refused = await runCli(plain, ['feeds', 'update', '--config', 'callscreen.yaml']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/callscreen\.yaml:5:\d+ feeds\.0\.url: plain http:\/\/ can be changed on the way/);

    const none = await runCli(configDir(''), ['feeds', 'update', '--config', 'callscreen.yaml']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^callscreen: no feeds in /);
  });
});

describe('the daemon', () => {
  const PORT = 18497;
  const TOKEN = 'feeds-daemon-test-token-7e21';
  /** the value of one series line of the text format, undefined when absent */
  function series(text: string, name: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  const get = (route: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${PORT}${route}`, { headers: { authorization: `Bearer ${TOKEN}` } });

  test('fetches its due feeds by itself: imported, logged, in /metrics and /api/v1/feeds; a failing one too', async () => {
    answer = (req, res) => {
      if (req.url === '/robocall.txt') res.writeHead(200, { etag: '"d1"' }).end(body(numbers(40)));
      else res.writeHead(500).end();
    };
    const config =
      `${testConfigHeader(prefix)}ari:\n  app: callscreen-feeds-test\n` +
      `http:\n  enabled: true\n  port: ${PORT}\n  auth:\n    tokenEnv: CS_FEEDS_TOKEN\n` +
      `feeds:\n  - name: robo\n    url: ${base}/robocall.txt\n    allowInsecureHttp: true\n` +
      `  - name: broken\n    url: ${base}/broken.txt\n    allowInsecureHttp: true\n`;
    const daemon = await startDaemon({ config, env: { CS_FEEDS_TOKEN: TOKEN } });
    try {
      const imported = await daemon.waitForLog((l) => l.msg === 'feed: imported', 30_000);
      expect(imported).toMatchObject({ feed: 'robo', entries: 40, level: 'info' });
      const failed = await daemon.waitForLog((l) => l.msg === 'feed: fetch failed; the live list stays', 30_000);
      expect(failed).toMatchObject({ feed: 'broken', level: 'error', failures: 1 });
      expect(await listed('+12125550139')).toBe(true);

      // the metrics are read from the shared statuses after each run (once the child has exited)
      let metrics = '';
      for (let i = 0; i < 100; i++) {
        metrics = await (await get('/metrics')).text();
        if (series(metrics, 'callscreen_feed_runs_total{feed="broken",outcome="failed"}') === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(series(metrics, 'callscreen_feed_entries{feed="robo"}')).toBe(40);
      expect(series(metrics, 'callscreen_feed_failures{feed="robo"}')).toBe(0);
      expect(series(metrics, 'callscreen_feed_failures{feed="broken"}')).toBe(1);
      expect(series(metrics, 'callscreen_feed_runs_total{feed="robo",outcome="imported"}')).toBe(1);
      expect(series(metrics, 'callscreen_feed_runs_total{feed="broken",outcome="failed"}')).toBe(1);
      const lastSuccess = series(metrics, 'callscreen_feed_last_success_timestamp_seconds{feed="robo"}');
      expect(lastSuccess).toBe((await status('robo'))!.lastSuccessAt! / 1000);

      const api = (await (await get('/api/v1/feeds')).json()) as { feeds: Array<Record<string, unknown>> };
      expect(api.feeds.map((f) => f.name)).toEqual(['robo', 'broken']);
      expect(api.feeds[0]).toMatchObject({ url: `${base}/robocall.txt`, status: { entries: 40, httpStatus: 200 } });
      expect(api.feeds[1]).toMatchObject({ status: { failures: 1, httpStatus: 500 } });
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
