/**
 * `callscreen log`, `log export` and `log prune` as users run them (bin/callscreen.js), against a
 * private redis-server holding records appended through RedisCallLog: the table, JSON lines, filters,
 * --since/--until ranges, --limit, --follow (also across a Redis restart), CSV/JSONL export in
 * batches, retention by age and by count (the CLI and the daemon's periodic job), and the exit codes
 * for bad input (2) and Redis down (1). No calls are placed: the shared test bed is not involved.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type Redis from 'ioredis';
import { entryFields, RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import { CSV_COLUMNS } from '../../src/call-log/call-log-render';
import type { Decision, Verdict } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { runCli, spawnDaemon, writeConfigDir, type DaemonProcess } from '../support/daemon-process';
import { PrivateRedis } from '../support/redis-server';

jest.setTimeout(30_000);

const server = new PrivateRedis(16411);
const DAY = 86_400_000;
const HOUR = 3_600_000;
let admin: Redis;
let prefixSeq = 0;

beforeAll(async () => {
  await server.start();
  admin = server.client();
});
afterAll(async () => {
  admin?.disconnect();
  await server.kill();
});

let callSeq = 0;
function record(
  caller: string,
  verdict: Verdict,
  extra: { did?: string; score?: number; shadowVerdict?: Verdict; captcha?: ScreenedCallRecord['captcha'] } = {},
): ScreenedCallRecord {
  const at = new Date().toISOString();
  const decision: Decision = {
    verdict,
    score: extra.score ?? 10,
    reasons: [
      { code: 'reputation.listed', text: 'listed by "feed", score 0.8', points: 40 },
      { code: 'attestation', text: 'attestation A', points: -15 },
      { code: 'caller.number-type', text: 'a toll-free number', points: 15 },
      { code: 'velocity.number', text: '3 calls in 60 s', points: 5 },
    ],
    degraded: false,
    policies: [],
    caller: normalisePhoneNumber(caller, 'US'),
    did: normalisePhoneNumber(extra.did ?? '+1 212 555 0100', 'US'),
    at,
    ...(extra.shadowVerdict ? { shadowVerdict: extra.shadowVerdict } : {}),
  };
  callSeq += 1;
  return {
    callId: `17000000${callSeq}.1`,
    at,
    channel: `PJSIP/trunk-${callSeq}`,
    decision,
    routedTo: verdict === 'allow' ? 'agents' : verdict,
    decisionMs: 3,
    host: 'pbx1',
    ...(extra.captcha ? { captcha: extra.captcha } : {}),
  };
}

interface Fixture {
  prefix: string;
  dir: string;
  log: RedisCallLog;
  key: string;
}

/** A config folder and a RedisCallLog of its own key prefix. */
function fixture(callLog = ''): Fixture {
  const prefix = `log-it-${++prefixSeq}:`;
  const dir = writeConfigDir(
    `numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "${prefix}"\n${callLog ? `callLog:\n${callLog}` : ''}`,
    'allow: []\ndeny: []\n',
  );
  const log = new RedisCallLog(admin, prefix, 'calls', 100_000, { maxAgeDays: 30 });
  return { prefix, dir, log, key: `${prefix}calls` };
}

/** An entry as if appended at `ms` (the stream id carries the time; older entries must go in first). */
async function appendAt(f: Fixture, ms: number, r: ScreenedCallRecord): Promise<string> {
  return (await admin.xadd(
    f.key,
    `${ms}-0`,
    ...entryFields({
      ...r,
      at: new Date(ms).toISOString(),
      decision: { ...r.decision, at: new Date(ms).toISOString() },
    }),
  )) as string;
}

const cli = (f: Fixture, ...args: string[]) =>
  runCli(f.dir, [...args, '--config', 'callscreen.yaml'], { CALLSCREEN_REDIS_URL: server.url, TZ: 'America/New_York' });
const lines = (text: string): string[] => text.split('\n').filter((l) => l.length > 0);
const cells = (line: string): string[] => line.trim().split(/ {2,}/);

describe('callscreen log (table)', () => {
  test('prints one line per call, oldest first, with local time, verdict, shadow verdict, top reasons, IVR outcome and route', async () => {
    const f = fixture();
    await f.log.append(
      record('+1 212 555 0147', 'challenge', {
        score: 45,
        captcha: { outcome: 'failed', attempts: 3, ms: 20_000, failure: 'wrong' },
      }),
    );
    await f.log.append(record('anonymous', 'allow', { score: 40, shadowVerdict: 'voicemail' }));
    await f.log.append(record('+1 900 555 0199', 'reject', { score: 120 }));
    const { code, stdout, stderr } = await cli(f, 'log');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(cells(out[0] as string)).toEqual([
      'TIME',
      'CALLER',
      'DID',
      'VERDICT',
      'SCORE',
      'REASONS',
      'IVR',
      'MS',
      'ROUTED',
    ]);
    expect(out.slice(1).map((l) => cells(l).slice(1, 5))).toEqual([
      ['+12125550147', '+12125550100', 'challenge', '45'],
      ['withheld', '+12125550100', 'allow (shadow: voicemail)', '40'],
      ['+19005550199', '+12125550100', 'reject', '120'],
    ]);
    const first = cells(out[1] as string);
    expect(first[5]).toBe('reputation.listed +40, attestation -15, caller.number-type +15');
    expect(first.slice(6)).toEqual(['failed', '3', 'challenge']);
    expect(cells(out[2] as string)[6]).toBe('-');
    expect(out).toHaveLength(4);
    expect(stdout).not.toContain('\x1b['); // not a terminal: no colours
  });

  test('shows the call time in the host time zone', async () => {
    const f = fixture();
    const at = Date.parse('2026-11-23T14:05:09Z');
    await appendAt(f, at, record('+1 212 555 0147', 'allow'));
    const { code, stdout } = await cli(f, 'log', '--since', '2026-11-23T14:00:00Z', '--until', '2026-11-23T14:10:00Z');
    expect(code).toBe(0);
    expect(cells(lines(stdout)[1] as string)[0]).toBe('2026-11-23 09:05:09'); // TZ=America/New_York
  });

  test('--json prints each stored record with its stream id, one object per line, oldest first', async () => {
    const f = fixture();
    const a = record('+1 212 555 0147', 'challenge');
    const b = record('+1 212 555 0148', 'reject');
    await f.log.append(a);
    await f.log.append(b);
    const { code, stdout } = await cli(f, 'log', '--json');
    expect(code).toBe(0);
    const objects = lines(stdout).map((l) => JSON.parse(l) as ScreenedCallRecord & { id: string });
    expect(objects.map((o) => o.callId)).toEqual([a.callId, b.callId]);
    expect(objects[0]?.id).toMatch(/^\d+-\d+$/);
    const { id: _id, ...stored } = objects[1] as ScreenedCallRecord & { id: string };
    expect(stored).toEqual(JSON.parse(JSON.stringify(b)));
  });

  test('--verdict, --number and --did keep only matching calls; numbers are normalised like live callers', async () => {
    const f = fixture();
    await f.log.append(record('+1 212 555 0147', 'challenge', { did: '+1 212 555 0100' }));
    await f.log.append(record('+1 212 555 0147', 'reject', { did: '+1 212 555 0200' }));
    await f.log.append(record('+1 212 555 0199', 'reject', { did: '+1 212 555 0100' }));
    await f.log.append(record('+1 212 555 0199', 'allow', { did: '+1 212 555 0200' }));
    const json = async (...args: string[]) => {
      const { code, stdout, stderr } = await cli(f, 'log', '--json', ...args);
      expect({ code, stderr: stderr.replace(/^no screened calls.*\n/, '') }).toEqual({ code: 0, stderr: '' });
      return lines(stdout).map((l) => JSON.parse(l) as ScreenedCallRecord);
    };
    const sig = (rs: ScreenedCallRecord[]) =>
      rs.map(
        (r) =>
          `${(r.decision.caller as { e164: string }).e164}>${(r.decision.did as { e164: string }).e164}:${r.decision.verdict}`,
      );
    expect(sig(await json('--verdict', 'reject'))).toEqual([
      '+12125550147>+12125550200:reject',
      '+12125550199>+12125550100:reject',
    ]);
    expect(sig(await json('--verdict', 'allow,challenge'))).toEqual([
      '+12125550147>+12125550100:challenge',
      '+12125550199>+12125550200:allow',
    ]);
    expect(sig(await json('--number', '(212) 555-0147'))).toEqual([
      '+12125550147>+12125550100:challenge',
      '+12125550147>+12125550200:reject',
    ]);
    expect(sig(await json('--did', '212.555.0200', '--number', '2125550199'))).toEqual([
      '+12125550199>+12125550200:allow',
    ]);
    expect(await json('--number', '+1 212 555 0100')).toEqual([]);
  });

  test('--since and --until select by time: durations and ISO times', async () => {
    const f = fixture();
    const now = Date.now();
    await appendAt(f, now - 3 * DAY, record('+1 212 555 0101', 'allow'));
    await appendAt(f, now - 3 * HOUR, record('+1 212 555 0102', 'allow'));
    await appendAt(f, now - 30 * 60_000, record('+1 212 555 0103', 'allow'));
    await f.log.append(record('+1 212 555 0104', 'allow'));
    const callers = async (...args: string[]) => {
      const { code, stdout } = await cli(f, 'log', '--json', ...args);
      expect(code).toBe(0);
      return lines(stdout).map((l) => (JSON.parse(l) as ScreenedCallRecord).decision.caller.raw.slice(-4));
    };
    expect(await callers()).toEqual(['0102', '0103', '0104']); // default: the last 24 hours
    expect(await callers('--since', '1h')).toEqual(['0103', '0104']);
    expect(await callers('--since', '7d')).toEqual(['0101', '0102', '0103', '0104']);
    expect(await callers('--since', '4h', '--until', '1h')).toEqual(['0102']);
    expect(
      await callers('--since', new Date(now - 4 * DAY).toISOString(), '--until', new Date(now - 2 * DAY).toISOString()),
    ).toEqual(['0101']);
    expect(await callers('--since', '90s', '--until', '60s')).toEqual([]);
  });

  test('--limit shows the last N matching calls and says in a footer that more matched', async () => {
    const f = fixture();
    for (let i = 1; i <= 5; i++) await f.log.append(record(`+1 212 555 010${i}`, 'allow'));
    const { code, stdout } = await cli(f, 'log', '--limit', '2');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out.slice(1, 3).map((l) => cells(l)[1])).toEqual(['+12125550104', '+12125550105']);
    expect(out[3]).toMatch(/^only the last 2 matching calls are shown; more matched since /);
    expect(out).toHaveLength(4);
  });

  test('says so when no call matched', async () => {
    const f = fixture();
    const { code, stdout } = await cli(f, 'log', '--verdict', 'reject');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^no screened calls matching since \d{4}-/);
  });
});

describe('callscreen log --follow', () => {
  function follow(f: Fixture, env: Record<string, string> = {}, ...args: string[]): DaemonProcess {
    return spawnDaemon(f.dir, ['log', '--follow', '--config', 'callscreen.yaml', ...args], {
      CALLSCREEN_REDIS_URL: server.url,
      ...env,
    });
  }
  async function stderrContains(p: DaemonProcess, text: string): Promise<void> {
    for (let i = 0; i < 300 && !p.stderr.includes(text); i++) {
      if (p.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(p.stderr).toContain(text);
  }

  test('prints the range, then calls logged after it started, until SIGINT (exit 0)', async () => {
    const f = fixture();
    await f.log.append(record('+1 212 555 0111', 'allow'));
    const p = follow(f, {}, '--verdict', 'reject,allow');
    try {
      await p.waitForLog((l) => String(l.msg).includes('+12125550111'));
      await stderrContains(p, 'following new calls');
      await f.log.append(record('+1 212 555 0112', 'challenge')); // filtered out
      await f.log.append(record('+1 212 555 0113', 'reject', { shadowVerdict: 'reject' }));
      const line = await p.waitForLog((l) => String(l.msg).includes('+12125550113'));
      expect(String(line.msg)).toContain('reject (shadow: reject)');
      expect(p.lines.map((l) => String(l.msg)).join('\n')).not.toContain('+12125550112');
      expect(p.lines.filter((l) => String(l.msg).includes('+12125550111'))).toHaveLength(1); // the range entry once
    } finally {
      expect(await p.stop('SIGINT')).toBe(0);
    }
  });

  test('--json follows as JSON lines', async () => {
    const f = fixture();
    const p = follow(f, {}, '--json');
    try {
      await stderrContains(p, 'following new calls');
      const r = record('+1 212 555 0121', 'voicemail');
      await f.log.append(r);
      const line = await p.waitForLog((l) => l.callId === r.callId);
      expect(line.id).toMatch(/^\d+-\d+$/);
    } finally {
      expect(await p.stop('SIGTERM')).toBe(0);
    }
  });

  test('Redis going away: one message, retries, and calls logged after it is back are printed', async () => {
    const own = new PrivateRedis(16412);
    await own.start();
    const f = fixture();
    const p = follow(f, { CALLSCREEN_REDIS_URL: own.url });
    let client: Redis | undefined;
    try {
      await stderrContains(p, 'following new calls');
      await own.kill();
      await stderrContains(p, 'lost Redis at redis://127.0.0.1:16412');
      await new Promise((r) => setTimeout(r, 1500)); // several retries while it is down
      await own.start();
      client = own.client();
      const log = new RedisCallLog(client, f.prefix, 'calls', 1000);
      await log.append(record('+1 212 555 0131', 'reject'));
      await p.waitForLog((l) => String(l.msg).includes('+12125550131'), 20_000);
      expect(p.stderr.match(/lost Redis/g)).toHaveLength(1);
      expect(p.stderr).toContain('is back');
    } finally {
      client?.disconnect();
      expect(await p.stop('SIGINT')).toBe(0);
      await own.kill();
    }
  });
});

describe('callscreen log export', () => {
  test('CSV: a header, one record per call, reasons with points, quoting and formula defusing that survive a CSV parser', async () => {
    const f = fixture();
    const nasty = record('Smith, "Bob"\nsales', 'challenge');
    nasty.decision.reasons.push({ code: 'caller.unparseable', text: 'not a number: "Smith, \nBob"', points: 40 });
    const formula = record('=HYPERLINK("http://evil","x")', 'reject');
    await f.log.append(record('+1 212 555 0141', 'allow', { shadowVerdict: 'challenge' }));
    await f.log.append(nasty);
    await f.log.append(formula);
    const file = path.join(f.dir, 'export.csv');
    const { code, stdout, stderr } = await cli(f, 'log', 'export', '--since', '1h', '-o', file);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toBe(`exported 3 calls since ${stderr.split(' ')[4]} to ${file}\n`);
    const text = readFileSync(file, 'utf8');
    const rows = parse(text) as string[][];
    expect(text.startsWith(`${CSV_COLUMNS.join(',')}\r\n`)).toBe(true); // RFC 4180: CRLF after each record
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    const col = (row: number, name: (typeof CSV_COLUMNS)[number]) => rows[row]?.[CSV_COLUMNS.indexOf(name)];
    expect(rows).toHaveLength(4);
    expect(col(1, 'caller')).toBe("'+12125550141");
    expect(col(1, 'shadow_verdict')).toBe('challenge');
    expect(col(1, 'reasons')).toBe(
      'reputation.listed:+40; attestation:-15; caller.number-type:+15; velocity.number:+5',
    );
    expect(col(1, 'time')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(col(2, 'caller')).toBe('Smith, "Bob"\nsales');
    expect(col(2, 'explanation')).toContain('caller.unparseable: not a number: "Smith, \nBob"');
    expect(col(3, 'caller')).toBe(`'=HYPERLINK("http://evil","x")`);
    expect(col(3, 'verdict')).toBe('reject');
  });

  test('streams a log bigger than one batch to a file, every call once, in order; JSONL too', async () => {
    const f = fixture();
    const base = Date.now() - HOUR;
    const pipeline = admin.pipeline();
    const template = record('+1 212 555 0151', 'allow');
    for (let i = 0; i < 2500; i++)
      pipeline.xadd(
        f.key,
        `${base + Math.floor(i / 3)}-${i % 3}`,
        ...entryFields({ ...template, callId: `bulk-${i}` }),
      );
    await pipeline.exec();
    const file = path.join(f.dir, 'calls.csv');
    const csv = await cli(f, 'log', 'export', '--since', '2h', '--output', file, '--verdict', 'allow');
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe('');
    expect(existsSync(`${file}.partial`)).toBe(false);
    const rows = parse(readFileSync(file, 'utf8')) as string[][];
    expect(rows.slice(1).map((r) => r[1])).toEqual(Array.from({ length: 2500 }, (_, i) => `bulk-${i}`));

    const jsonl = await cli(f, 'log', 'export', '--since', '2h', '--format', 'jsonl');
    expect(jsonl.code).toBe(0);
    const ids = lines(jsonl.stdout).map((l) => (JSON.parse(l) as { callId: string }).callId);
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
  });
});

describe('retention', () => {
  test('log prune removes entries older than callLog.maxAgeDays and says how many', async () => {
    const f = fixture('  maxAgeDays: 30\n');
    const now = Date.now();
    await appendAt(f, now - 40 * DAY, record('+1 212 555 0161', 'allow'));
    await appendAt(f, now - 31 * DAY, record('+1 212 555 0162', 'allow'));
    await appendAt(f, now - 29 * DAY, record('+1 212 555 0163', 'allow'));
    await f.log.append(record('+1 212 555 0164', 'allow'));
    const { code, stdout, stderr } = await cli(f, 'log', 'prune');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(`${f.key}: pruned 2 entries (2 older than 30 days, 0 over the cap of 100000); 2 left`);
    const left = await admin.xrange(f.key, '-', '+');
    expect(
      left.map(([, fields]) => (JSON.parse(fields[7] as string) as ScreenedCallRecord).decision.caller.raw.slice(-4)),
    ).toEqual(['0163', '0164']);
  });

  test('log prune cuts the log to callLog.maxLength, oldest first', async () => {
    const f = fixture('  maxLength: 100\n');
    const pipeline = admin.pipeline();
    for (let i = 0; i < 150; i++)
      pipeline.xadd(f.key, '*', ...entryFields({ ...record('+1 212 555 0171', 'allow'), callId: `n-${i}` }));
    await pipeline.exec();
    const { code, stdout, stderr } = await cli(f, 'log', 'prune');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(`${f.key}: pruned 50 entries (0 older than 30 days, 50 over the cap of 100); 100 left`);
    const first = await admin.xrange(f.key, '-', '+', 'COUNT', 1);
    expect(JSON.parse(first[0]?.[1][7] as string)).toMatchObject({ callId: 'n-50' });
  });

  test('the daemon job trims by age at start and then periodically, exactly (also inside a stream node), until close()', async () => {
    const f = fixture();
    const now = Date.now();
    // ten old entries and a recent one share one stream node: an approximate (~) trim would keep them all
    for (let i = 0; i < 10; i++) await appendAt(f, now - 2 * DAY + i, record('+1 212 555 0181', 'allow'));
    await f.log.append(record('+1 212 555 0182', 'allow'));
    const trimmed: number[] = [];
    const log = new RedisCallLog(admin, f.prefix, 'calls', 1000, {
      maxAgeDays: 1,
      intervalMs: 100,
      onTrimmed: (n) => trimmed.push(n),
    });
    log.startRetention();
    log.startRetention(); // idempotent: one job
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => trimmed.length > 0);
    expect(trimmed).toEqual([10]);
    expect(await admin.xlen(f.key)).toBe(1);

    // a periodic run: an entry that is old by now goes too (older ids can only be added to an empty stream)
    await admin.del(f.key);
    await appendAt(f, now - 3 * DAY, record('+1 212 555 0183', 'allow'));
    await until(() => trimmed.length > 1);
    expect(trimmed).toEqual([10, 1]);
    expect(await admin.xlen(f.key)).toBe(0);

    await Promise.all([log.close(), log.close()]);
    await admin.del(f.key); // the emptied stream remembers its last id
    await appendAt(f, now - 3 * DAY, record('+1 212 555 0184', 'allow'));
    await new Promise((r) => setTimeout(r, 400)); // four intervals
    expect(await admin.xlen(f.key)).toBe(1); // closed: no more runs
  });
});

describe('retention in the daemon', () => {
  test('callscreen run trims entries past callLog.maxAgeDays at start (ARI unreachable: no Stasis app is registered)', async () => {
    const f = fixture('  maxAgeDays: 1\n');
    const now = Date.now();
    for (let i = 0; i < 5; i++) await appendAt(f, now - 2 * DAY + i, record('+1 212 555 0191', 'allow'));
    await f.log.append(record('+1 212 555 0192', 'allow'));
    const daemon = spawnDaemon(f.dir, undefined, {
      CALLSCREEN_REDIS_URL: server.url,
      CALLSCREEN_ARI_URL: 'http://127.0.0.1:9',
    });
    try {
      for (let i = 0; i < 200 && (await admin.xlen(f.key)) > 1; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await admin.xlen(f.key)).toBe(1);
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      expect(await daemon.stop('SIGTERM')).toBe(0);
    }
  });
});

describe('exit codes', () => {
  test.each([
    [['log', '--verdict', 'blocked'], '--verdict: "blocked" is not a verdict'],
    [['log', '--since', 'yesterday'], '--since: "yesterday" is neither a duration'],
    [['log', '--number', 'robocaller'], '--number: "robocaller" is not a phone number'],
    [['log', '--follow', '--until', '1h'], '--follow: cannot be combined with --until'],
    [['log', 'export', '--format', 'xlsx'], "argument 'xlsx' is invalid"],
  ])('bad input %j: exit 2 with a message, before Redis is asked', async (args, message) => {
    const f = fixture();
    const { code, stderr } = await runCli(f.dir, [...args, '--config', 'callscreen.yaml'], {
      CALLSCREEN_REDIS_URL: 'redis://127.0.0.1:16419',
    });
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  test.each([[['log']], [['log', '--follow']], [['log', 'export']], [['log', 'prune']]])(
    'Redis not reachable (%j): exit 1, one clear line, no stack trace',
    async (args) => {
      const f = fixture();
      const { code, stdout, stderr } = await runCli(f.dir, [...args, '--config', 'callscreen.yaml'], {
        CALLSCREEN_REDIS_URL: 'redis://127.0.0.1:16419',
      });
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(
        /^callscreen: Redis at redis:\/\/127\.0\.0\.1:16419 is not reachable \(.*ECONNREFUSED.*\)\n$/,
      );
    },
  );
});
