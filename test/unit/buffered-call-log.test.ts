/**
 * BufferedCallLog (src/call-log/buffered-call-log.ts): the screened-call log survives an outage of the
 * log below it. A fake log that is up, down (rejects), hung (never answers) or loses its answers (writes,
 * then rejects) stands in for Redis; like the Redis log it keeps a record once, whatever the retries.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RedisCallLog, writtenId } from '../../src/adapters/redis/redis-call-log';
import type { RedisClient } from '../../src/adapters/redis/redis-connection';
import { configSchema } from '../../src/config/schema';
import { realDaemonParts } from '../../src/daemon/callscreen-daemon';
import { CallscreenMetrics } from '../../src/http-api/metrics';
import {
  BufferedCallLog,
  type BufferedCallLogOptions,
  type CallLogBufferMetrics,
} from '../../src/call-log/buffered-call-log';
import type { CallLog, ScreenedCallRecord } from '../../src/ports/call-log';
import { captureLogger, type CapturedLogger } from '../support/fakes';

type Mode = 'up' | 'down' | 'hang' | 'lose-answer';

/** A log below the buffer: keeps each record once (by callId and at), like the Redis log's script. */
class FlakyLog implements CallLog {
  mode: Mode = 'up';
  readonly written: ScreenedCallRecord[] = [];
  attempts = 0;
  closed = false;
  retentionStarted = false;

  append(record: ScreenedCallRecord): Promise<void> {
    this.attempts += 1;
    switch (this.mode) {
      case 'down':
        return Promise.reject(new Error('Connection is closed.'));
      case 'hang':
        return new Promise(() => undefined);
      case 'lose-answer':
        this.keep(record);
        return Promise.reject(new Error('Command timed out'));
      case 'up':
        this.keep(record);
        return Promise.resolve();
    }
  }

  private keep(record: ScreenedCallRecord): void {
    if (!this.written.some((r) => r.callId === record.callId && r.at === record.at)) this.written.push(record);
  }

  recent(count: number): Promise<ScreenedCallRecord[]> {
    return Promise.resolve(this.written.slice(-count).reverse());
  }

  startRetention(): void {
    this.retentionStarted = true;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class CountingMetrics implements CallLogBufferMetrics {
  queuedNow = 0;
  spilledTotal = 0;
  droppedTotal = 0;
  queued(count: number): void {
    this.queuedNow = count;
  }
  spilled(count: number): void {
    this.spilledTotal += count;
  }
  dropped(count: number): void {
    this.droppedTotal += count;
  }
}

function record(n: number): ScreenedCallRecord {
  return {
    callId: `1700000000.${n}`,
    at: new Date(1_700_000_000_000 + n).toISOString(),
    channel: `PJSIP/trunk-${n}`,
    decision: {
      verdict: 'allow',
      score: 0,
      reasons: [],
      degraded: false,
      policies: [],
      caller: { kind: 'withheld', raw: 'anonymous' },
      did: { kind: 'withheld', raw: '' },
      at: new Date(1_700_000_000_000 + n).toISOString(),
    },
    routedTo: 'agents',
    decisionMs: 1,
    host: 'pbx-a',
  };
}

const ids = (records: ScreenedCallRecord[]): string[] => records.map((r) => r.callId);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const callIds = (from: number, to: number): string[] => range(from, to).map((n) => record(n).callId);

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

let dir: string;
let spillFile: string;
let log: CapturedLogger;
let metrics: CountingMetrics;
let below: FlakyLog;
let ready: (() => void) | undefined;
const opened: BufferedCallLog[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'buffered-call-log-'));
  spillFile = path.join(dir, 'call-log-spill.jsonl');
  log = captureLogger();
  metrics = new CountingMetrics();
  below = new FlakyLog();
  ready = undefined;
});

afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

function buffered(options: Partial<BufferedCallLogOptions> = {}, target: CallLog = below): BufferedCallLog {
  const b = new BufferedCallLog(target, {
    bufferRecords: 100,
    spillFile,
    logger: log.logger,
    metrics,
    onReady: (listener) => {
      ready = listener;
      return () => (ready = undefined);
    },
    retryMinMs: 20,
    retryMaxMs: 40,
    writeTimeoutMs: 100,
    closeWaitMs: 200,
    ...options,
  });
  opened.push(b);
  return b;
}

const spillLines = (): string[] =>
  existsSync(spillFile)
    ? readFileSync(spillFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];

describe('appending', () => {
  test('append returns at once and never fails, even while the log below hangs', async () => {
    below.mode = 'hang';
    const b = buffered();
    // each append resolves although the log below never answers: were it waiting for the write, this
    // loop would not finish (behaviour, not a clock)
    for (const n of range(1, 50)) await b.append(record(n));
    expect(b.waiting).toBe(50);
    expect(metrics.queuedNow).toBe(50);
  });

  test('while the log below is up, records are written in order and nothing waits', async () => {
    const b = buffered();
    for (const n of range(1, 20)) void b.append(record(n));
    await until(() => below.written.length === 20);
    expect(ids(below.written)).toEqual(callIds(1, 20));
    expect(b.waiting).toBe(0);
    expect(log.at('warn')).toEqual([]);
  });
});

describe('an outage of the log below', () => {
  test('records wait, and are written in order once each when it is back; one warning, one info line', async () => {
    below.mode = 'down';
    const b = buffered();
    for (const n of range(1, 30)) void b.append(record(n));
    await until(() => below.attempts >= 3); // retried with a backoff while down
    expect(below.written).toEqual([]);
    expect(b.waiting).toBe(30);
    below.mode = 'up';
    ready?.(); // the Redis client's 'ready': the writer tries again at once
    await until(() => b.waiting === 0);
    expect(ids(below.written)).toEqual(callIds(1, 30));
    const warnings = log.at('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/^screened-call log: Redis not writable, \d+ records waiting$/);
    expect(log.at('info').map((l) => l.msg)).toEqual([
      'screened-call log: Redis writable again, 30 records written late',
    ]);
    expect(metrics.queuedNow).toBe(0);
  });

  test('without a ready signal the writer tries again on its own every few hundred ms at most', async () => {
    below.mode = 'down';
    const b = buffered({ onReady: undefined });
    void b.append(record(1));
    await until(() => below.attempts >= 2);
    below.mode = 'up';
    await until(() => below.written.length === 1, 1000);
    expect(b.waiting).toBe(0);
  });

  test('a write whose answer was lost is sent again and the record is still in the log once', async () => {
    below.mode = 'lose-answer';
    const b = buffered();
    for (const n of range(1, 5)) void b.append(record(n));
    await until(() => below.attempts >= 3);
    below.mode = 'up';
    ready?.();
    await until(() => b.waiting === 0);
    expect(below.attempts).toBeGreaterThan(5); // the first record was sent more than once
    expect(ids(below.written)).toEqual(callIds(1, 5));
  });

  test('a write that never answers counts as failed after writeTimeoutMs and is tried again', async () => {
    below.mode = 'hang';
    const b = buffered({ writeTimeoutMs: 30 });
    for (const n of range(1, 3)) void b.append(record(n));
    await until(() => below.attempts >= 2);
    below.mode = 'up';
    await until(() => b.waiting === 0);
    expect(ids(below.written)).toEqual(callIds(1, 3));
  });
});

describe('the bound and the spill file', () => {
  test('past bufferRecords records go to the spill file, and come back in order when the log is up', async () => {
    below.mode = 'down';
    const b = buffered({ bufferRecords: 5 });
    for (const n of range(1, 12)) void b.append(record(n));
    await until(() => spillLines().length === 7);
    expect(spillLines().map((l) => (JSON.parse(l) as ScreenedCallRecord).callId)).toEqual(callIds(6, 12));
    expect(metrics.spilledTotal).toBe(7);
    expect(metrics.queuedNow).toBe(12);
    expect(log.at('warn').map((l) => l.msg)).toContain(
      'screened-call log: memory queue full (callLog.bufferRecords); further records go to the spill file',
    );

    below.mode = 'up';
    ready?.();
    // records appended while the file is read back go after it
    for (const n of range(13, 20)) void b.append(record(n));
    await until(() => b.waiting === 0);
    expect(ids(below.written)).toEqual(callIds(1, 20));
    await until(() => !existsSync(spillFile)); // written whole, then removed
    // and the memory queue is used again
    below.mode = 'down';
    void b.append(record(21));
    await new Promise((r) => setTimeout(r, 30));
    expect(existsSync(spillFile)).toBe(false);
  });

  test('records are dropped (metric and error line) only when even the spill file cannot be written', async () => {
    below.mode = 'down';
    const b = buffered({ bufferRecords: 2, spillFile: path.join(dir, 'no-such-folder', 'spill.jsonl') });
    for (const n of range(1, 5)) void b.append(record(n));
    await until(() => metrics.droppedTotal === 3);
    expect(log.at('error').map((l) => l.msg)).toEqual([
      'screened-call log: 3 records dropped: the spill file could not be written',
    ]);
    below.mode = 'up';
    ready?.();
    await until(() => b.waiting === 0);
    expect(ids(below.written)).toEqual(callIds(1, 2));
  });
});

describe('close and the next start', () => {
  test('close puts what still waits in the spill file, in order; the next start writes it first', async () => {
    below.mode = 'down';
    const first = buffered({ bufferRecords: 3 });
    for (const n of range(1, 7)) void first.append(record(n));
    await until(() => below.attempts >= 1);
    await first.close();
    expect(below.closed).toBe(true);
    expect(spillLines().map((l) => (JSON.parse(l) as ScreenedCallRecord).callId)).toEqual(callIds(1, 7));
    expect(log.at('warn').map((l) => l.msg)).toContain(
      'screened-call log: 7 records not written yet; kept in the spill file for the next start',
    );

    const next = new FlakyLog();
    const second = buffered({}, next);
    void second.append(record(8)); // a call screened at once after the start comes after them
    await until(() => next.written.length === 8);
    expect(ids(next.written)).toEqual(callIds(1, 8));
    await until(() => !existsSync(spillFile));
    expect(log.at('info').map((l) => l.msg)).toContain(
      'screened-call log: 7 records the last run could not write are written first',
    );
  });

  test('close while reading the spill file back keeps only what is not written yet', async () => {
    below.mode = 'down';
    const first = buffered({ bufferRecords: 2 });
    for (const n of range(1, 6)) void first.append(record(n));
    await until(() => spillLines().length === 4);
    // 1 and 2 written, 3 and 4 read back into memory and not written yet
    let writes = 0;
    const slow: CallLog = {
      append: (r) => {
        writes += 1;
        return writes <= 2 ? below.append(r) : Promise.reject(new Error('down again'));
      },
      recent: (count) => below.recent(count),
    };
    await first.close();
    below.mode = 'up';
    const second = buffered({ bufferRecords: 2 }, slow);
    await until(() => writes >= 3);
    await second.close();
    expect(ids(below.written)).toEqual(callIds(1, 2));
    expect(spillLines().map((l) => (JSON.parse(l) as ScreenedCallRecord).callId)).toEqual(callIds(3, 6));
  });

  test('close with nothing waiting leaves no spill file, and starts and stops the retention of the log below', async () => {
    const b = buffered();
    b.startRetention();
    void b.append(record(1));
    await b.close();
    expect(below.retentionStarted).toBe(true);
    expect(below.closed).toBe(true);
    expect(ids(below.written)).toEqual(callIds(1, 1));
    expect(existsSync(spillFile)).toBe(false);
  });

  test('a call screened after close goes straight to the log below while nothing waits, else after the rest in the spill file', async () => {
    const b = buffered();
    await b.close();
    await b.append(record(1));
    await until(() => below.written.length === 1);

    below.mode = 'down';
    const c = buffered();
    void c.append(record(2));
    await c.close();
    void c.append(record(3));
    expect(spillLines().map((l) => (JSON.parse(l) as ScreenedCallRecord).callId)).toEqual(callIds(2, 3));
  });

  test('a spill file cut short by a crash: the whole records are written, the cut one is counted dropped', async () => {
    const whole = [1, 2, 3].map((n) => JSON.stringify(record(n))).join('\n');
    writeFileSync(spillFile, `${whole}\n${JSON.stringify(record(4)).slice(0, 40)}`);
    buffered();
    await until(() => below.written.length === 3 && metrics.droppedTotal === 1);
    expect(ids(below.written)).toEqual(callIds(1, 3));
    await until(() => !existsSync(spillFile));
  });
});

/**
 * The little of a Redis client the daemon's call log uses: the append script (registered with
 * defineCommand) on a stream in memory, keeping a record once like the real script, and 'ready'.
 */
class FakeLogRedis extends EventEmitter {
  up = true;
  readonly stream: string[] = [];
  private readonly written = new Set<string>();

  defineCommand(name: string): void {
    const append = (...args: string[]): Promise<number> => {
      if (!this.up) return Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
      const [, , writtenId, , , , , ...fields] = args;
      if (this.written.has(writtenId as string)) return Promise.resolve(0);
      this.written.add(writtenId as string);
      this.stream.push((JSON.parse(fields[7] as string) as ScreenedCallRecord).callId);
      return Promise.resolve(1);
    };
    Object.assign(this, { [name]: append });
  }
}

describe("the daemon's call log (realDaemonParts.createCallLog)", () => {
  test('records appended while Redis is down are written when it is ready again, and no append fails', async () => {
    const redis = new FakeLogRedis();
    const config = configSchema.parse({ callLog: { bufferRecords: 100 } });
    const daemonLog = realDaemonParts.createCallLog(redis as unknown as RedisClient, config, log.logger, {
      configFile: path.join(dir, 'callscreen.yaml'),
      metrics,
    });
    try {
      await daemonLog.append(record(1));
      await until(() => redis.stream.length === 1);
      redis.up = false;
      for (const n of range(2, 6)) await daemonLog.append(record(n)); // resolves: the screener never sees a failure
      await until(() => metrics.queuedNow === 5);
      redis.up = true;
      redis.emit('ready');
      await until(() => redis.stream.length === 6);
      expect(redis.stream).toEqual(callIds(1, 6));
      expect(metrics.queuedNow).toBe(0);
    } finally {
      await daemonLog.close();
    }
  });
});

describe('RedisCallLog.append: once per record', () => {
  const calls: string[][] = [];
  const client = (isCluster: boolean): RedisClient => {
    const fake = {
      isCluster,
      defineCommand(name: string, definition: { numberOfKeys: number }) {
        expect(definition.numberOfKeys).toBe(2);
        Object.assign(fake, {
          [name]: (...args: string[]) => {
            calls.push(args);
            return Promise.resolve(calls.length === 1 ? 1 : 0);
          },
        });
      },
    };
    return fake as unknown as RedisClient;
  };

  test('sends the stream, the written-records set and the record id (callId@at) to the script', async () => {
    calls.length = 0;
    const redisLog = new RedisCallLog(client(false), 'cs:', 'calls', 1000);
    expect(await redisLog.append(record(1))).toBe(true);
    expect(await redisLog.append(record(1))).toBe(false); // the script found it written
    expect(calls[0]?.slice(0, 3)).toEqual(['cs:calls', 'cs:calls:written', writtenId(record(1))]);
    expect(writtenId(record(1))).toBe(`${record(1).callId}@${record(1).at}`);
  });

  test("on a Cluster the written-records set shares the stream's hash slot", () => {
    expect(new RedisCallLog(client(true), 'cs:', 'calls', 1000).writtenKey).toBe('{cs:calls}:written');
    expect(new RedisCallLog(client(true), 'cs:{log}', 'calls', 1000).writtenKey).toBe('cs:{log}calls:written');
    expect(new RedisCallLog(client(false), 'cs:', 'calls', 1000).writtenKey).toBe('cs:calls:written');
  });
});

describe('the call-log metrics', () => {
  test('callscreen_call_log_queued, _spilled_total and _dropped_total are exposed with what the buffer reports', async () => {
    const m = new CallscreenMetrics({ defaultMetrics: false });
    m.callLogQueued(12);
    m.callLogSpilled(7);
    m.callLogSpilled(1);
    m.callLogDropped(3);
    const text = await m.text();
    expect(text).toContain('# TYPE callscreen_call_log_queued gauge\ncallscreen_call_log_queued 12\n');
    expect(text).toContain('# TYPE callscreen_call_log_spilled_total counter\ncallscreen_call_log_spilled_total 8\n');
    expect(text).toContain('# TYPE callscreen_call_log_dropped_total counter\ncallscreen_call_log_dropped_total 3\n');
  });
});
