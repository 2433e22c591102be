/**
 * AmiPort contract, for AsteriskManagerAmi: against the test bed's real Asterisk, plus a fake AMI server
 * (for answers Asterisk never withholds) and a loopback TCP proxy (to cut a live connection).
 *
 * The test bed is shared with other suites that restart or stop Asterisk: tests that are not about
 * connection loss wait for the adapter to be connected and retry once on AmiDisconnectedError.
 */
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { AsteriskManagerAmi, type AsteriskManagerAmiOptions } from '../../src/adapters/ami/asterisk-manager-ami';
import { AmiActionError } from '../../src/errors/ami-action-error';
import { AmiDisconnectedError } from '../../src/errors/ami-disconnected-error';
import { AmiTimeoutError } from '../../src/errors/ami-timeout-error';
import { CallscreenError } from '../../src/errors/callscreen-error';
import type { AmiConnectionState, AmiMessage } from '../../src/ports/ami';
import { testbed, testbedCommand } from '../support/testbed';

jest.setTimeout(60_000);

const real: AsteriskManagerAmiOptions = {
  host: testbed.amiHost,
  port: testbed.amiPort,
  username: testbed.amiUser,
  password: testbed.amiPassword,
  // Asterisk may be stopped for up to a minute by another suite: start() keeps trying that long
  connectTimeoutMs: 90_000,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function waitForState(ami: AsteriskManagerAmi, state: AmiConnectionState, timeoutMs: number): Promise<void> {
  if (ami.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ami.off('state', onState);
      reject(new Error(`state stayed ${ami.state}, expected ${state} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onState = (change: { state: AmiConnectionState }) => {
      if (change.state !== state) return;
      clearTimeout(timer);
      ami.off('state', onState);
      resolve();
    };
    ami.on('state', onState);
  });
}

function nextEvent(ami: AsteriskManagerAmi, pred: (e: AmiMessage) => boolean, timeoutMs: number): Promise<AmiMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ami.off('event', onEvent);
      reject(new Error(`no matching AMI event within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (e: AmiMessage) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      ami.off('event', onEvent);
      resolve(e);
    };
    ami.on('event', onEvent);
  });
}

/** Asterisk went away under the test (another suite stopped or restarted it), or is on its way out. */
const isTransient = (error: unknown): boolean =>
  error instanceof AmiDisconnectedError ||
  (error instanceof AmiActionError && /shutting down/i.test(error.responseMessage));

/** Runs fn once connected; if another suite drops Asterisk under it, waits for the reconnect and runs it again. */
async function whenUp<T>(ami: AsteriskManagerAmi, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await waitForState(ami, 'connected', 90_000);
    try {
      return await fn();
    } catch (error) {
      if (!isTransient(error) || attempt >= 3) throw error;
      await sleep(500);
    }
  }
}

/** The error a promise rejects with (undefined if it resolves); transient errors are rethrown for whenUp. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (isTransient(error)) throw error;
    return error;
  }
}

/** Is Asterisk's AMI answering with its banner right now? */
function amiBanner(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: testbed.amiHost, port: testbed.amiPort });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('Asterisk Call Manager/')));
  });
}

// ---------------------------------------------------------------------------------------------------

describe('AsteriskManagerAmi against the real Asterisk', () => {
  let ami: AsteriskManagerAmi;

  beforeAll(async () => {
    ami = new AsteriskManagerAmi(real);
    ami.on('error', () => undefined); // other suites restart Asterisk: refused reconnects are expected
    await ami.start();
  }, 120_000);

  afterAll(async () => {
    await ami?.close();
  });

  test('start() logs in: state is connected', () => {
    expect(ami.state).toBe('connected');
  });

  test('Ping is answered with Pong, correlated by an ActionID the adapter set', async () => {
    const response = await whenUp(ami, () => ami.action({ action: 'Ping', actionid: 'ignored-by-the-adapter' }));
    expect(response).toMatchObject({ response: 'Success', ping: 'Pong' });
    expect(response.actionid).toMatch(/^cs\d+-[0-9a-f]{6}\.\d+$/);
  });

  test("Command 'core show version' returns the output lines: Asterisk 22", async () => {
    const response = await whenUp(ami, () => ami.action({ action: 'Command', command: 'core show version' }));
    expect(response.response).toBe('Success');
    expect(response.output).toMatch(/^Asterisk 22\.\d+/);
  });

  test('concurrent actions each get their own response', async () => {
    const results = await whenUp(ami, () =>
      Promise.all([
        ami.action({ action: 'Command', command: 'core show version' }),
        ami.action({ action: 'Ping' }),
        ami.action({ action: 'Command', command: 'ari show apps' }),
        ami.action({ action: 'Ping' }),
      ]),
    );
    expect(results[0]!.output).toMatch(/^Asterisk 22/);
    expect(results[1]!.ping).toBe('Pong');
    expect(results[2]!.output).toMatch(/Application Name/);
    expect(results[3]!.ping).toBe('Pong');
    expect(new Set(results.map((r) => r.actionid)).size).toBe(4);
  });

  test('a list action (DBGet) resolves with its EventList events, collected by ActionID until the Complete event', async () => {
    const key = `k${randomUUID().slice(0, 8)}`;
    const value = `v-${randomUUID()}`;
    const result = await whenUp(ami, async () => {
      await ami.action({ action: 'DBPut', family: 'callscreen-contract', key, val: value });
      try {
        return await ami.listAction({ action: 'DBGet', family: 'callscreen-contract', key });
      } finally {
        await ami.action({ action: 'DBDel', family: 'callscreen-contract', key }).catch(() => undefined);
      }
    });
    expect(result.response.eventlist?.toLowerCase()).toBe('start');
    expect(result.events).toHaveLength(1);
    expect(result.events[0]).toMatchObject({
      event: 'DBGetResponse',
      family: 'callscreen-contract',
      key,
      val: value,
      actionid: result.response.actionid,
    });
  });

  test('two list actions in flight at once do not mix their events', async () => {
    const [endpoints, channels] = await whenUp(ami, () =>
      Promise.all([ami.listAction({ action: 'PJSIPShowEndpoints' }), ami.listAction({ action: 'CoreShowChannels' })]),
    );
    expect(endpoints.events.map((e) => e.objectname)).toContain('pstn-trunk');
    expect(
      endpoints.events.every((e) => e.event === 'EndpointList' && e.actionid === endpoints.response.actionid),
    ).toBe(true);
    expect(
      channels.events.every((e) => e.event === 'CoreShowChannel' && e.actionid === channels.response.actionid),
    ).toBe(true);
  });

  test("a failing action rejects with AmiActionError carrying the action name and Asterisk's message", async () => {
    const failure = await whenUp(ami, () =>
      rejection(ami.listAction({ action: 'DBGet', family: 'callscreen-contract', key: `missing-${randomUUID()}` })),
    );
    expect(failure).toBeInstanceOf(AmiActionError);
    expect(failure).toBeInstanceOf(CallscreenError);
    const error = failure as AmiActionError;
    expect(error.code).toBe('CS_ERR_AMI_ACTION');
    expect(error.action).toBe('DBGet');
    expect(error.responseMessage).toBe('Database entry not found');
    expect(error.response?.response).toBe('Error');
  });

  test('an action whose header would break the protocol is refused before sending', async () => {
    await expect(
      ami.action({ action: 'Command', command: 'core show version\r\nAction: Logoff' }),
    ).rejects.toBeInstanceOf(AmiActionError);
  });

  test('manager events arrive flat with lower-cased keys (a UserEvent sent through the adapter)', async () => {
    const marker = randomUUID();
    const event = nextEvent(ami, (e) => e.event === 'UserEvent' && e.marker === marker, 5000);
    await whenUp(ami, () => ami.action({ action: 'UserEvent', userevent: 'CallscreenContractProbe', marker }));
    expect(await event).toMatchObject({ event: 'UserEvent', userevent: 'CallscreenContractProbe', marker });
  });

  test('a refused login rejects start() with AmiActionError and leaves the adapter idle', async () => {
    await waitForState(ami, 'connected', 90_000); // Asterisk is up
    const wrong = new AsteriskManagerAmi({ ...real, password: 'not-the-secret', connectTimeoutMs: 10_000 });
    try {
      const failure = await whenUp(ami, () => rejection(wrong.start()));
      expect(failure).toBeInstanceOf(AmiActionError);
      expect((failure as AmiActionError).action).toBe('Login');
      expect((failure as AmiActionError).responseMessage).toMatch(/Authentication failed/i);
      expect(wrong.state).toBe('idle');
    } finally {
      await wrong.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('AsteriskManagerAmi lifecycle without a connection', () => {
  test('an action before start() rejects at once with AmiDisconnectedError', async () => {
    const ami = new AsteriskManagerAmi(real);
    const failure = await ami.action({ action: 'Ping' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(AmiDisconnectedError);
    expect((failure as AmiDisconnectedError).code).toBe('CS_ERR_AMI_DISCONNECTED');
    expect((failure as AmiDisconnectedError).reason).toMatch(/not connected \(idle\)/);
    await ami.close();
  });

  test('close() is idempotent: one promise, state closed once, later actions and start() rejected', async () => {
    const ami = new AsteriskManagerAmi(real);
    const states: AmiConnectionState[] = [];
    ami.on('state', (c) => states.push(c.state));
    await ami.start();
    const first = ami.close();
    const second = ami.close();
    expect(second).toBe(first);
    await first;
    await ami.close();
    expect(ami.state).toBe('closed');
    expect(states.filter((s) => s === 'closed')).toHaveLength(1);
    await expect(ami.action({ action: 'Ping' })).rejects.toBeInstanceOf(AmiDisconnectedError);
    await expect(ami.start()).rejects.toBeInstanceOf(AmiDisconnectedError);
  }, 120_000);

  test('close() during start() rejects start() with AmiDisconnectedError', async () => {
    const port = await closedPort();
    const ami = new AsteriskManagerAmi({ ...real, host: '127.0.0.1', port, connectTimeoutMs: 30_000 });
    const started = ami.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await sleep(300);
    await ami.close();
    expect(await started).toBeInstanceOf(AmiDisconnectedError);
  });

  test('start() with nothing listening rejects with AmiTimeoutError after connectTimeoutMs, cause ECONNREFUSED', async () => {
    const port = await closedPort();
    const ami = new AsteriskManagerAmi({ ...real, host: '127.0.0.1', port, connectTimeoutMs: 800 });
    const failure = await ami.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(AmiTimeoutError);
    expect((failure as AmiTimeoutError).action).toBe('Login');
    expect(((failure as AmiTimeoutError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(ami.state).toBe('idle');
    await ami.close();
  });
});

// ---------------------------------------------------------------------------------------------------

/** A port nothing listens on (bound, read, released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type FakeMode = 'silent' | 'login-only';

/** A fake AMI server: sends the banner; 'silent' never answers; 'login-only' answers Login and Ping, nothing else. */
class FakeAmi {
  private readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly mode: FakeMode) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('Asterisk Call Manager/9.0.0\r\n');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let end: number;
      while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        this.answer(socket, block);
      }
    });
  }

  /** While muted the server reads but answers nothing (a frozen Asterisk). */
  muted = false;

  private answer(socket: net.Socket, block: string): void {
    if (this.mode === 'silent' || this.muted) return;
    const headers = new Map(
      block.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const action = (headers.get('action') ?? '').toLowerCase();
    const id = headers.get('actionid') ?? '';
    if (action === 'login')
      socket.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
    if (action === 'ping') socket.write(`Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\nTimestamp: 0\r\n\r\n`);
  }

  /** Send raw AMI text to every client. */
  broadcast(text: string): void {
    for (const socket of this.sockets) socket.write(text);
  }

  /** Drop every client connection with a TCP reset. */
  reset(): void {
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('AsteriskManagerAmi against a fake AMI server', () => {
  let fake: FakeAmi | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  test('start() rejects with AmiTimeoutError when the server sends the banner and never answers Login', async () => {
    fake = new FakeAmi('silent');
    await fake.listen();
    const ami = new AsteriskManagerAmi({ ...real, host: '127.0.0.1', port: fake.port, connectTimeoutMs: 600 });
    const failure = await ami.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(AmiTimeoutError);
    expect(failure).toMatchObject({ code: 'CS_ERR_AMI_TIMEOUT', action: 'Login', timeoutMs: 600 });
    await ami.close();
  });

  test('an action with no answer rejects with AmiTimeoutError after its timeout; the connection stays usable', async () => {
    fake = new FakeAmi('login-only');
    await fake.listen();
    const ami = new AsteriskManagerAmi({ ...real, host: '127.0.0.1', port: fake.port, actionTimeoutMs: 400 });
    await ami.start();
    try {
      const byDefault = await ami.action({ action: 'Command', command: 'core show version' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(byDefault).toBeInstanceOf(AmiTimeoutError);
      expect(byDefault).toMatchObject({ action: 'Command', timeoutMs: 400 });
      await expect(ami.listAction({ action: 'CoreShowChannels' }, { timeoutMs: 150 })).rejects.toMatchObject({
        code: 'CS_ERR_AMI_TIMEOUT',
        timeoutMs: 150,
      });
      expect(ami.state).toBe('connected');
      expect((await ami.action({ action: 'Ping' })).ping).toBe('Pong');
    } finally {
      await ami.close();
    }
  });

  test('a connection reset rejects the pending action, is reported to error listeners, and the adapter reconnects', async () => {
    fake = new FakeAmi('login-only');
    await fake.listen();
    const ami = new AsteriskManagerAmi({
      ...real,
      host: '127.0.0.1',
      port: fake.port,
      actionTimeoutMs: 5000,
      reconnectMinDelayMs: 50,
      reconnectMaxDelayMs: 200,
    });
    const errors: Error[] = [];
    ami.on('error', (e) => errors.push(e));
    await ami.start();
    try {
      const pending = ami.action({ action: 'Command', command: 'never answered' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      await sleep(50);
      const reconnecting = waitForState(ami, 'reconnecting', 5000);
      fake.reset();
      const failure = await pending;
      expect(failure).toBeInstanceOf(AmiDisconnectedError);
      expect(failure).toMatchObject({ action: 'Command', reason: 'connection lost' });
      await reconnecting;
      await waitForState(ami, 'connected', 5000);
      expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toContain('ECONNRESET');
    } finally {
      await ami.close();
    }
  });

  test('TestEvent noise is dropped; other events are delivered, repeated keys joined', async () => {
    fake = new FakeAmi('login-only');
    await fake.listen();
    const ami = new AsteriskManagerAmi({ ...real, host: '127.0.0.1', port: fake.port });
    const seen: AmiMessage[] = [];
    ami.on('event', (e) => seen.push(e));
    await ami.start();
    try {
      const last = nextEvent(ami, (e) => e.userevent === 'Last', 2000);
      fake.broadcast('Event: TestEvent\r\nType: StateChange\r\nState: PLAYBACK\r\n\r\n');
      fake.broadcast(
        'Event: UserEvent\r\nChannel: PJSIP/a-1\r\nUserEvent: Probe\r\nChannel: PJSIP/a-1\r\nVia: x\r\nVia: y\r\n\r\n',
      );
      fake.broadcast('Event: UserEvent\r\nUserEvent: Last\r\n\r\n');
      await last;
      expect(seen.map((e) => e.event)).not.toContain('TestEvent');
      expect(seen.find((e) => e.userevent === 'Probe')).toEqual({
        event: 'UserEvent',
        userevent: 'Probe',
        channel: 'PJSIP/a-1',
        via: 'x\ny',
      });
    } finally {
      await ami.close();
    }
  });

  test('a connection that stops answering (no FIN) is found dead by the liveness Ping and rebuilt', async () => {
    fake = new FakeAmi('login-only');
    await fake.listen();
    const ami = new AsteriskManagerAmi({
      ...real,
      host: '127.0.0.1',
      port: fake.port,
      pingIntervalMs: 100,
      actionTimeoutMs: 200,
      reconnectMinDelayMs: 50,
      reconnectMaxDelayMs: 200,
    });
    const reasons: string[] = [];
    ami.on('state', (c) => reasons.push(`${c.state}: ${c.reason ?? ''}`));
    ami.on('error', () => undefined);
    await ami.start();
    try {
      fake.muted = true;
      await waitForState(ami, 'reconnecting', 5000);
      expect(reasons).toContain('reconnecting: no answer to Ping');
      fake.muted = false;
      await waitForState(ami, 'connected', 5000);
      expect((await ami.action({ action: 'Ping' })).ping).toBe('Pong');
    } finally {
      await ami.close();
    }
  });

  test('with no error listener, socket errors do not crash anything', async () => {
    fake = new FakeAmi('login-only');
    await fake.listen();
    const ami = new AsteriskManagerAmi({
      ...real,
      host: '127.0.0.1',
      port: fake.port,
      reconnectMinDelayMs: 50,
      reconnectMaxDelayMs: 200,
    });
    await ami.start();
    try {
      fake.reset();
      await waitForState(ami, 'reconnecting', 5000);
      await waitForState(ami, 'connected', 5000);
    } finally {
      await ami.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

/** Loopback TCP proxy to Asterisk's AMI that can cut its connections when the client sends a marker. */
class CuttingProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private cutOn: string | undefined;
  port = 0;

  constructor() {
    this.server = net.createServer((client) => {
      const upstream = net.connect({ host: testbed.amiHost, port: testbed.amiPort });
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.pairs.add(pair);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.on('data', (d) => client.write(d));
      client.on('data', (d) => {
        if (this.cutOn !== undefined && d.toString().includes(this.cutOn)) {
          this.cutOn = undefined;
          drop(); // the action never reaches Asterisk: it can only end by the disconnect
          return;
        }
        upstream.write(d);
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  cutWhenClientSends(marker: string): void {
    this.cutOn = marker;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('AsteriskManagerAmi when the connection to the real Asterisk is lost', () => {
  test('a pending action is rejected with AmiDisconnectedError when the connection drops, and the adapter logs in again', async () => {
    const proxy = new CuttingProxy();
    await proxy.listen();
    const ami = new AsteriskManagerAmi({
      ...real,
      host: '127.0.0.1',
      port: proxy.port,
      reconnectMinDelayMs: 50,
      reconnectMaxDelayMs: 500,
    });
    const states: string[] = [];
    ami.on('state', (c) => states.push(`${c.previous}->${c.state}`));
    try {
      await ami.start();
      const marker = `cs-cut-${randomUUID()}`;
      proxy.cutWhenClientSends(marker);
      const failure = await ami.action({ action: 'UserEvent', userevent: marker }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(AmiDisconnectedError);
      expect(failure).toMatchObject({ code: 'CS_ERR_AMI_DISCONNECTED', action: 'UserEvent' });
      await waitForState(ami, 'connected', 90_000);
      expect(states).toEqual(expect.arrayContaining(['connected->reconnecting', 'reconnecting->connected']));
      expect((await whenUp(ami, () => ami.action({ action: 'Ping' }))).ping).toBe('Pong');
    } finally {
      await ami.close();
      await proxy.close();
    }
  }, 120_000);

  test('after `scripts/testbed asterisk-restart` the adapter reconnects by itself and actions work again', async () => {
    const ami = new AsteriskManagerAmi({ ...real, reconnectMinDelayMs: 100, reconnectMaxDelayMs: 1000 });
    const states: { state: string; at: number }[] = [];
    ami.on('state', (c) => states.push({ state: c.state, at: Date.now() }));
    ami.on('error', () => undefined);
    let restarted = false;
    try {
      await ami.start();
      const reconnecting = waitForState(ami, 'reconnecting', 90_000);
      await testbedCommand('asterisk-restart');
      restarted = true;
      const scriptDone = Date.now();
      await reconnecting;
      await waitForState(ami, 'connected', 90_000);
      const down = states.find((s) => s.state === 'reconnecting')!.at;
      const up = states.filter((s) => s.state === 'connected').pop()!.at;
      console.log(
        `AMI reconnect after asterisk-restart: ${up - down} ms from drop to logged in, ${up - scriptDone} ms after the restart script returned`,
      );
      const version = await whenUp(ami, () => ami.action({ action: 'Command', command: 'core show version' }));
      expect(version.output).toMatch(/^Asterisk 22/);
    } finally {
      await ami.close();
      await leaveAsteriskRunning(restarted);
    }
  }, 180_000);
});

/**
 * Asterisk must be running when this suite ends. If it is down (our restart failed, or another suite
 * stopped it on purpose), give that suite its minute first, then start Asterisk ourselves.
 */
async function leaveAsteriskRunning(restartedByUs: boolean): Promise<void> {
  const deadline = Date.now() + (restartedByUs ? 5_000 : 90_000);
  while (Date.now() < deadline) {
    if (await amiBanner()) return;
    await sleep(1000);
  }
  if (!(await amiBanner())) await testbedCommand('asterisk-start');
}
