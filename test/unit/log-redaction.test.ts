/**
 * No secret reaches a log line: the one redaction (src/ports/log-redaction.ts), the logger that applies
 * it to every line (src/adapters/logging/pino-logger.ts), the texts that name a Redis or an ARI URL,
 * and the daemon's whole output on fakes greped for every configured secret. The daemon as a process
 * on the test bed: test/integration/feedback-daemon.test.ts greps its output for the HTTP token.
 */
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/adapters/logging/pino-logger';
import { resolveAriOptions } from '../../src/adapters/ari/ari-options';
import { describeRedis } from '../../src/adapters/redis/redis-connection';
import { loadConfig, loadConfigText, type LoadedConfig } from '../../src/config/load-config';
import { CallscreenDaemon } from '../../src/daemon/callscreen-daemon';
import { startHttpEndpoint } from '../../src/daemon/start-http';
import { REDACTED, redactFields, redactUrl } from '../../src/ports/log-redaction';
import type { Logger } from '../../src/ports/logger';
import { fakeDaemonParts } from '../support/fake-daemon-parts';
import { fakeChannel } from '../support/fakes';

/** The real logger (createLogger) writing into an array: each line as written, and parsed. */
function logToArray(level = 'debug'): { logger: Logger; text: string[]; lines: Array<Record<string, unknown>> } {
  const text: string[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(level, {
    write(line: string): void {
      text.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, text, lines };
}

describe('the one redaction', () => {
  test('a URL keeps its scheme, host, port and path; its user and password go', () => {
    expect(redactUrl('http://asterisk:ari-secret@10.0.0.5:8088/ari')).toBe('http://[redacted]@10.0.0.5:8088/ari');
    expect(redactUrl('redis://:hunter2@cache:6379/1')).toBe('redis://[redacted]@cache:6379/1');
    expect(redactUrl('rediss://user:p@ss@cache:6380')).toBe('rediss://[redacted]@cache:6380'); // an @ in the password
    expect(redactUrl('http://127.0.0.1:8088')).toBe('http://127.0.0.1:8088');
  });

  test('in a free text, every URL in it; secret query values too; caller IDs and mail addresses stay', () => {
    expect(redactUrl('connect http://u:pw1@a:1 failed, then redis://:pw2@b:2/0 too')).toBe(
      'connect http://[redacted]@a:1 failed, then redis://[redacted]@b:2/0 too',
    );
    expect(redactUrl('ws://h:8088/ari/events?app=callscreen&api_key=asterisk:ari-secret')).toBe(
      'ws://h:8088/ari/events?app=callscreen&api_key=[redacted]',
    );
    expect(redactUrl('GET /api/v1/calls?token=abc&limit=5')).toBe('GET /api/v1/calls?token=[redacted]&limit=5');
    expect(redactUrl('sip:+12015550123@pbx.example.com from ops@example.com')).toBe(
      'sip:+12015550123@pbx.example.com from ops@example.com',
    );
  });

  test('a field named like a secret is hidden whole, at any depth and in lists; its copy, never the original', () => {
    const fields = {
      ari: { url: 'http://u:pw@h:8088', password: 'ari-secret' },
      http: { auth: { tokens: ['tok-one', 'tok-two'], tokenEnv: 'CS_TOKEN' } },
      deep: { a: { b: { c: { redisPassword: 'hunter2', authorization: 'Bearer x', apiKey: 'k' } } } },
      summary: { tokens: 2 }, // a count, not a secret
      passwordEnv: 'CS_PASSWORD', // the name of a variable, not its value
    };
    const before = JSON.stringify(fields);
    expect(redactFields(fields)).toEqual({
      ari: { url: `http://${REDACTED}@h:8088`, password: REDACTED },
      http: { auth: { tokens: [REDACTED, REDACTED], tokenEnv: 'CS_TOKEN' } },
      deep: { a: { b: { c: { redisPassword: REDACTED, authorization: REDACTED, apiKey: REDACTED } } } },
      summary: { tokens: 2 },
      passwordEnv: 'CS_PASSWORD',
    });
    expect(JSON.stringify(fields)).toBe(before);
    const clean = { callId: 'c1', decision: { verdict: 'allow', reasons: ['rule.allow'] } };
    expect(redactFields(clean)).toBe(clean); // nothing to hide: no copy
  });
});

describe('the logger hides secrets whatever a caller logs', () => {
  test('a URL with credentials: in a field of any name and depth, the message, a child logger and an error', () => {
    const { logger, text } = logToArray();
    logger.info({ url: 'http://asterisk:ari-secret@h:8088' }, 'connecting');
    logger.info({ target: { callbackUrl: 'https://u:cb-secret@hook.example/x' } }, 'nested');
    logger.warn('lost redis://:hunter2@cache:6379/0, retrying');
    logger.warn({ at: 'x' }, 'failed at %s', 'http://u:fmt-secret@h');
    logger.child({ redis: 'redis://:child-secret@cache:6379' }).info('from a child');
    logger.error(new Error('GET http://u:err-secret@h:8088/ari/applications refused'));
    logger.error({ err: new Error('ws://h/ari/events?api_key=u:key-secret closed') }, 'websocket');
    logger.warn({ err: new Error('no answer from http://u:msg-secret@h:8088') }); // pino takes err's message
    const output = text.join('');
    for (const secret of [
      'ari-secret',
      'cb-secret',
      'hunter2',
      'fmt-secret',
      'child-secret',
      'err-secret',
      'key-secret',
      'msg-secret',
    ])
      expect(output).not.toContain(secret);
    expect(output).toContain(`http://${REDACTED}@h:8088`);
    expect(output).toContain('refused'); // the rest of the error stays
  });

  test('a field named like a secret is [redacted] at any depth', () => {
    const { logger, lines } = logToArray();
    logger.info(
      {
        password: 'p1',
        ari: { password: 'p2' },
        config: { redis: { sentinel: { password: 'p3' } }, http: { auth: { tokens: ['t-123'] } } },
        headers: { authorization: 'Bearer t-456' },
        secret: 's1',
        token: 't-789',
      },
      'settings',
    );
    expect(lines[0]).toMatchObject({
      password: REDACTED,
      ari: { password: REDACTED },
      config: { redis: { sentinel: { password: REDACTED } }, http: { auth: { tokens: [REDACTED] } } },
      headers: { authorization: REDACTED },
      secret: REDACTED,
      token: REDACTED,
    });
  });
});

describe('texts that name a Redis or an ARI', () => {
  test('describeRedis hides the whole password, an @ in it included', () => {
    const loaded = loadConfigText('redis:\n  url: "redis://user:p@ss-secret@cache:6379/1"\n', 'callscreen.yaml', {});
    expect(describeRedis(loaded.config.redis)).toBe(`redis://${REDACTED}@cache:6379/1`);
  });

  test('an ARI url that is not http(s) is refused without repeating its credentials', () => {
    const options = { url: 'ftp://asterisk:ari-secret@h:21', username: 'a', password: 'b', apps: ['callscreen'] };
    expect(() => resolveAriOptions(options)).toThrow(`ARI url must be http(s), got ftp://${REDACTED}@h:21`);
  });
});

describe("the daemon's whole output", () => {
  const SECRETS = {
    ariPassword: 'ari-password-5f1c',
    ariUrlPassword: 'ari-url-password-77d0',
    redisUrlPassword: 'redis-url-password-03b9',
    fileToken: 'file-token-0123456789abcdef',
    envToken: 'env-token-0123456789abcdef',
    basicPassword: 'basic-password-9a2e',
    wrongToken: 'wrong-token-0123456789abcdef',
  };
  const ARI_URL = `http://ariuser:${SECRETS.ariUrlPassword}@127.0.0.1:8088`;
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'callscreen-redaction-'));
    writeFileSync(path.join(folder, 'rules.yaml'), 'deny: ["+1 201 555 0123"]\n');
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  function configWith(extra = ''): LoadedConfig {
    const file = path.join(folder, 'callscreen.yaml');
    writeFileSync(
      file,
      'numbers:\n  defaultRegion: US\nscreening:\n  timeZone: UTC\n' +
        `ari:\n  url: "${ARI_URL}"\n  username: asterisk\n  password: "${SECRETS.ariPassword}"\n` +
        `redis:\n  url: "redis://:${SECRETS.redisUrlPassword}@127.0.0.1:6379/0"\n` +
        'log:\n  level: debug\n' +
        extra,
    );
    return loadConfig(file, {});
  }

  test('"connecting to ARI" names the ARI URL without its credentials', async () => {
    const fake = fakeDaemonParts();
    const { logger, lines } = logToArray();
    const daemon = await CallscreenDaemon.start(configWith(), logger, fake.parts);
    await daemon.close();
    const connecting = lines.find((l) => l.msg === 'connecting to ARI');
    expect(connecting).toMatchObject({ url: `http://${REDACTED}@127.0.0.1:8088` });
    // the adapter itself still gets the URL as configured
    expect(fake.ariOptions[0]?.url).toBe(ARI_URL);
  });

  test('no configured secret appears anywhere in a start, a challenged call, HTTP requests and a close', async () => {
    const fake = fakeDaemonParts({ redisReachable: false });
    const env = { CS_TOKEN: SECRETS.envToken, CS_BASIC_PASSWORD: SECRETS.basicPassword };
    const loaded = configWith(
      `http:\n  enabled: true\n  port: ${await freePort()}\n  auth:\n` +
        `    tokens: ["${SECRETS.fileToken}"]\n    tokenEnv: CS_TOKEN\n` +
        '    basic:\n      user: admin\n      passwordEnv: CS_BASIC_PASSWORD\n',
    );
    let port = 0;
    fake.parts.startHttp = async (l, redis, logger, options) => {
      const server = await startHttpEndpoint(l, redis, logger, env, options);
      port = server?.address().port ?? 0;
      return server;
    };
    // an adapter's error that names the URL it was given (the logger's net under every caller)
    fake.ari.fail('start', new Error(`GET ${ARI_URL}/ari/applications: connect ECONNREFUSED`));
    fake.history.returns({
      reputation: { entries: [{ score: 0.5, reports: 3, source: 'feed', lastSeenAt: Date.now() }] },
    });
    const { logger, text, lines } = logToArray();
    const daemon = await CallscreenDaemon.start(loaded, logger, fake.parts);
    fake.redis.emit('ready'); // Redis back: "redis connected" names it

    // a challenged caller types the code the CAPTCHA says
    const channel = fakeChannel('challenged', '+14155552671');
    fake.ari.onRequest = (r) => {
      if (r.method !== 'play') return;
      const said = [r.args[1].media].flat().find((m) => m.startsWith('digits:'));
      if (said) setImmediate(() => fake.ari.press(channel, said.slice('digits:'.length)));
    };
    fake.ari.startCall(channel, ['inbound', '+12125550100']);
    await until(() => fake.callLog.records.length === 1);

    // HTTP: the right tokens, Basic, a wrong token, a token in the query
    expect(port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${port}`;
    const basic = `Basic ${Buffer.from(`admin:${SECRETS.basicPassword}`).toString('base64')}`;
    for (const authorization of [`Bearer ${SECRETS.fileToken}`, `Bearer ${SECRETS.envToken}`, basic])
      expect((await fetch(`${base}/metrics`, { headers: { authorization } })).status).toBe(200);
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${SECRETS.wrongToken}` } })).status,
    ).toBe(401);
    expect((await fetch(`${base}/metrics?token=${SECRETS.wrongToken}`)).status).toBe(401);
    await daemon.close();

    const output = text.join('');
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'redis not reachable at start; screening degraded until it is',
        'redis connected',
        'ARI not reachable; retrying',
        'connecting to ARI',
        'http listening',
        'http request',
        'stopped',
      ]),
    );
    expect(fake.callLog.records[0]).toMatchObject({ captcha: { outcome: 'passed' } });
    for (const [name, secret] of Object.entries(SECRETS))
      expect({ name, found: output.includes(secret) }).toEqual({ name, found: false });
    expect(output).not.toContain(Buffer.from(`admin:${SECRETS.basicPassword}`).toString('base64'));
  });
});

/** a port nothing listens on right now (http.port must be given) */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}
