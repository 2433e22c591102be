/**
 * Helpers for the AriPort contract suite: a recorder for what an adapter reports, waits with a
 * deadline (nothing in the suite can hang), and a few direct ARI calls (plain fetch, not through the
 * adapter under test) for set-up and clean-up.
 */
import net from 'node:net';
import type { AriConnectionState, AriEvent, AriPort, AriStateChange } from '../../src/ports/ari';
import { testbed } from '../support/testbed';

export interface Stamped<T> {
  /** order of recording, shared with mark(): later means greater */
  seq: number;
  /** Date.now() when recorded */
  at: number;
  value: T;
}

/** Everything an adapter emits, time-stamped, in order. */
export class AriRecorder {
  readonly events: Array<Stamped<AriEvent>> = [];
  readonly states: Array<Stamped<AriStateChange>> = [];
  readonly errors: Array<Stamped<Error>> = [];
  private seq = 0;
  private readonly onEvent = (e: AriEvent): void => void this.events.push(this.stamp(e));
  private readonly onState = (s: AriStateChange): void => void this.states.push(this.stamp(s));
  private readonly onError = (e: Error): void => void this.errors.push(this.stamp(e));

  constructor(
    private readonly port: AriPort,
    options: { errors?: boolean } = {},
  ) {
    port.on('event', this.onEvent);
    port.on('state', this.onState);
    if (options.errors !== false) port.on('error', this.onError);
  }

  listenForErrors(): void {
    this.port.on('error', this.onError);
  }

  /** A point to wait from: only what is recorded after it counts (a sequence number, not a clock). */
  mark(): number {
    this.seq += 1;
    return this.seq;
  }

  async waitEvent(since: number, match: (e: AriEvent) => boolean, timeoutMs: number, what: string): Promise<AriEvent> {
    const hit = await waitFor(() => this.events.find((s) => s.seq > since && match(s.value)), timeoutMs, what);
    return hit.value;
  }

  async waitState(
    since: number,
    state: AriConnectionState,
    timeoutMs: number,
    match: (s: AriStateChange) => boolean = () => true,
  ): Promise<Stamped<AriStateChange>> {
    return waitFor(
      () => this.states.find((s) => s.seq > since && s.value.state === state && match(s.value)),
      timeoutMs,
      `state '${state}'`,
    );
  }

  statesSince(since: number): AriStateChange[] {
    return this.states.filter((s) => s.seq > since).map((s) => s.value);
  }

  private stamp<T>(value: T): Stamped<T> {
    this.seq += 1;
    return { seq: this.seq, at: Date.now(), value };
  }
}

/** Polls `probe` until it returns something; rejects with `what` in the message after timeoutMs. */
export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Like waitFor, for an async condition (each check may take a request). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Settles how `promise` settles, with the time it took; never rejects. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = Date.now();
  try {
    const value = await promise;
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

let serial = 0;
/** A caller number and a DID no other test used: +49 30 5550 xxxx, 4930777xxxxx */
export function uniqueCall(): { caller: string; did: string } {
  serial += 1;
  const n = (Date.now() % 100_000) * 10 + (serial % 10);
  return { caller: `+49305550${String(n).padStart(6, '0')}`, did: `4930777${String(n).padStart(6, '0')}` };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ------------------------------------------------------------------ direct ARI (not the adapter under test)

const auth = 'Basic ' + Buffer.from(`${testbed.ariUser}:${testbed.ariPassword}`).toString('base64');

async function admin(method: string, path: string): Promise<Response> {
  return fetch(`${testbed.ariUrl}/ari${path}`, {
    method,
    headers: { authorization: auth },
    signal: AbortSignal.timeout(3000),
  });
}

export async function adminApps(): Promise<string[]> {
  const res = await admin('GET', '/applications');
  return ((await res.json()) as Array<{ name: string }>).map((a) => a.name);
}

/** Hangs up channels by id, ignoring the ones already gone (and an Asterisk that is down). */
export async function adminHangup(ids: Iterable<string>): Promise<void> {
  await Promise.allSettled([...ids].map((id) => admin('DELETE', `/channels/${encodeURIComponent(id)}`)));
}
