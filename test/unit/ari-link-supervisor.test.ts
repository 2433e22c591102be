import {
  type EventLink,
  type LinkHandlers,
  LinkSupervisor,
  type SupervisorOptions,
} from '../../src/adapters/ari/link-supervisor';
import { ariDefaults } from '../../src/adapters/ari/ari-options';
import { AriUnavailableError } from '../../src/errors/ari-unavailable-error';
import type { AriConnectionState, AriStateChange } from '../../src/ports/ari';

/** A scripted transport: each open() attempt succeeds or fails as the test says. */
class FakeTransport {
  up = true;
  /** connects are accepted but never answered (a blackholed network): the attempt ends when aborted */
  silent = false;
  answerPings = true;
  /** the pong comes this long after the ping (a timer) instead of at once */
  pongAfterMs: number | undefined;
  opened = 0;
  current: { handlers: LinkHandlers; link: EventLink & { terminated: boolean; closed: boolean } } | undefined;

  readonly open = (handlers: LinkHandlers, signal: AbortSignal): Promise<EventLink> => {
    this.opened += 1;
    if (!this.up) return Promise.reject(new Error('connect ECONNREFUSED'));
    if (signal.aborted) return Promise.reject(new Error('aborted'));
    if (this.silent)
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
    const link = {
      terminated: false,
      closed: false,
      ping: (): void => {
        if (!this.answerPings) return;
        const after = this.pongAfterMs;
        if (after === undefined) queueMicrotask(() => handlers.onPong());
        // a promise job (never faked), so the answer's timer comes after the supervisor's pong timeout
        else void Promise.resolve().then(() => setTimeout(() => handlers.onPong(), after));
      },
      terminate: (): void => {
        link.terminated = true;
      },
      close: async (): Promise<void> => {
        link.closed = true;
      },
    };
    this.current = { handlers, link };
    return Promise.resolve(link);
  };

  /** the server side drops the connection */
  drop(reason = 'websocket closed (code 1006)'): void {
    this.current?.handlers.onDown(reason);
  }
}

const options: SupervisorOptions = {
  connectTimeoutMs: 3000,
  reconnectTimeoutMs: 3000,
  reconnectMinDelayMs: 100,
  reconnectMaxDelayMs: 1000,
  quickReconnectForMs: 60_000,
  quickReconnectMaxDelayMs: 1000,
  pingIntervalMs: 1000,
  pongTimeoutMs: 500,
  random: () => 0.5,
};

function supervise(
  transport: FakeTransport,
  overrides: Partial<SupervisorOptions> = {},
): { sup: LinkSupervisor; states: AriStateChange[] } {
  const states: AriStateChange[] = [];
  let current: AriConnectionState = 'idle';
  const sup = new LinkSupervisor(transport.open, { ...options, ...overrides }, (state, details) => {
    states.push({ state, previous: current, ...details });
    current = state;
  });
  return { sup, states };
}

describe('LinkSupervisor: connect, reconnect forever, liveness, close', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('start() resolves once the first link is open', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport);
    await sup.start();
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected']);
    expect(sup.start()).toBe(sup.start()); // same promise while started
  });

  test('start() keeps trying until connectTimeoutMs, then rejects with AriUnavailableError and goes back to idle', async () => {
    const transport = new FakeTransport();
    transport.up = false;
    const { sup, states } = supervise(transport);
    const started = sup.start();
    const outcome = started.catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(3500);
    const error = await outcome;
    expect(error).toBeInstanceOf(AriUnavailableError);
    expect((error as Error).message).toMatch(/within 3000 ms \(connect ECONNREFUSED\)/);
    expect(transport.opened).toBeGreaterThan(3);
    expect(states.at(-1)).toMatchObject({ state: 'idle', previous: 'connecting' });
    expect(states.filter((s) => s.state === 'connecting' && s.attempt).length).toBe(transport.opened - 1);
  });

  test('reconnects without limit after a drop, numbering attempts and resetting them once connected', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport);
    await sup.start();
    transport.up = false;
    transport.drop();
    await jest.advanceTimersByTimeAsync(60_000); // 60 s with delays of at most 1 s
    const retries = states.filter((s) => s.state === 'reconnecting');
    expect(retries.length).toBeGreaterThan(60);
    expect(retries.map((s) => s.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(retries[0]).toMatchObject({ previous: 'connected', reason: 'websocket closed (code 1006)', delayMs: 150 });
    expect(retries.every((s) => (s.delayMs ?? 0) >= 100 && (s.delayMs ?? 0) <= 1000)).toBe(true);

    transport.up = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(states.at(-1)).toMatchObject({ state: 'connected', previous: 'reconnecting' });
    transport.drop();
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1 });
    await sup.close();
  });

  test('a link that stops answering pings is terminated and replaced', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport);
    await sup.start();
    await jest.advanceTimersByTimeAsync(3000);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected']); // pongs came back

    const silent = transport.current?.link;
    transport.answerPings = false;
    await jest.advanceTimersByTimeAsync(1000 + 500 + 1); // the verdict comes a tick after the timeout
    expect(silent?.terminated).toBe(true);
    expect(states.find((s) => s.state === 'reconnecting')).toMatchObject({
      reason: 'no pong within 500 ms',
      attempt: 1,
    });
    transport.answerPings = true;
    await jest.advanceTimersByTimeAsync(1000);
    expect(states.at(-1)?.state).toBe('connected');
    await sup.close();
  });

  test('a late onDown from a link already replaced is ignored', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport);
    await sup.start();
    const old = transport.current;
    transport.drop();
    await jest.advanceTimersByTimeAsync(1000);
    old?.handlers.onDown('late close of the old socket');
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    await sup.close();
  });

  test('close() is idempotent, closes the link and stops every timer', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport);
    await sup.start();
    const link = transport.current?.link;
    const first = sup.close();
    expect(sup.close()).toBe(first);
    await first;
    expect(link?.closed).toBe(true);
    expect(states.at(-1)).toMatchObject({ state: 'closed', previous: 'connected' });
    expect(jest.getTimerCount()).toBe(0);
    await expect(sup.start()).rejects.toBeInstanceOf(AriUnavailableError);
  });

  test('close() while reconnecting stops the retries', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport);
    await sup.start();
    transport.up = false;
    transport.drop();
    await jest.advanceTimersByTimeAsync(2000);
    await sup.close();
    const opened = transport.opened;
    const reported = states.length;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(transport.opened).toBe(opened);
    expect(states.length).toBe(reported);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('close() during start() rejects the pending start', async () => {
    const transport = new FakeTransport();
    transport.up = false;
    const { sup } = supervise(transport);
    const started = sup.start();
    await sup.close();
    await expect(started).rejects.toBeInstanceOf(AriUnavailableError);
  });

  test('a reconnect attempt into a dead network is given up after reconnectTimeoutMs, not the first connect deadline', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport, { connectTimeoutMs: 10_000, reconnectTimeoutMs: 1000 });
    await sup.start();
    transport.silent = true;
    transport.drop();
    await jest.advanceTimersByTimeAsync(150 + 1000); // the first delay, then the attempt's own timeout
    expect(states.at(-1)).toMatchObject({
      state: 'reconnecting',
      attempt: 2,
      reason: 'websocket not open after 1000 ms',
    });
    transport.silent = false;
    await jest.advanceTimersByTimeAsync(1000);
    expect(states.at(-1)?.state).toBe('connected');
    await sup.close();
  });

  test('reconnect delays stay within quickReconnectMaxDelayMs early in an outage, then grow to reconnectMaxDelayMs', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport, {
      reconnectMaxDelayMs: 5000,
      quickReconnectForMs: 10_000,
      quickReconnectMaxDelayMs: 1000,
      random: () => 0.999,
    });
    await sup.start();
    transport.up = false;
    const lost = Date.now();
    transport.drop();
    await jest.advanceTimersByTimeAsync(60_000);
    const retries = states.filter((s) => s.state === 'reconnecting');
    const early = retries.slice(0, 9); // within the first 10 s: attempts ~1 s apart
    expect(early.every((s) => (s.delayMs ?? 0) <= 1000)).toBe(true);
    expect(Date.now() - lost).toBeGreaterThan(10_000);
    expect(retries.at(-1)?.delayMs).toBeGreaterThan(4000); // a long outage is not hammered
    await sup.close();
  });

  test('with the default timing a dead link is noticed within about a second', async () => {
    const transport = new FakeTransport();
    const { sup, states } = supervise(transport, {
      pingIntervalMs: ariDefaults.pingIntervalMs,
      pongTimeoutMs: ariDefaults.pongTimeoutMs,
    });
    await sup.start();
    await jest.advanceTimersByTimeAsync(ariDefaults.pingIntervalMs + 1); // a ping answered
    transport.answerPings = false; // dead from now on
    await jest.advanceTimersByTimeAsync(1200);
    expect(states.find((s) => s.state === 'reconnecting')).toMatchObject({ reason: /no pong within/ });
    await sup.close();
  });

  test('a pong that is read only when its timeout fires (the event loop was busy) keeps the link', async () => {
    const transport = new FakeTransport();
    transport.pongAfterMs = 500; // ready at the very moment the 500 ms timeout fires
    const { sup, states } = supervise(transport);
    await sup.start();
    await jest.advanceTimersByTimeAsync(5000);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'connected']);
    await sup.close();
  });
});
