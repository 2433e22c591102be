/**
 * A loopback TCP proxy the ARI contract suite puts between an adapter and the real Asterisk, to break
 * connections the ways networks break them:
 * - reset(): every open connection gets a TCP RST (socket.resetAndDestroy), no websocket close frame;
 * - blackhole(): open connections stop forwarding in both directions but stay open (a dead NAT entry,
 *   a pulled cable); with `{ newConnections: true }` new connections are accepted and never forwarded;
 *   with `{ holdUpstream: true }` a blackholed connection the client gives up stays open towards the
 *   server until heal(), as across a real partition (Asterisk goes on writing into it, unaware);
 * - refuse(): stop listening and reset everything, so the next connect is refused;
 * - heal(): forward new connections normally again (and let go of the held server sides).
 */
import net from 'node:net';

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
  blackholed: boolean;
  holdUpstream: boolean;
}

export class TcpFaultProxy {
  private readonly pairs = new Set<Pair>();
  private blackholeNew = false;
  /** server sides of blackholed connections whose client gave up, kept open until heal() */
  private readonly held = new Set<net.Socket>();
  private readonly server = net.createServer((client) => this.accept(client));
  private listening = false;
  private boundPort = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  /** Starts on an ephemeral loopback port in front of `targetUrl` (http://host:port). */
  static async start(targetUrl: string): Promise<TcpFaultProxy> {
    const url = new URL(targetUrl);
    const target = { host: url.hostname, port: Number(url.port || 80) };
    const proxy = new TcpFaultProxy(target);
    await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** connections currently open through the proxy */
  get connections(): number {
    return this.pairs.size;
  }

  reset(): void {
    for (const pair of [...this.pairs]) this.drop(pair, true);
  }

  blackhole(options: { newConnections?: boolean; holdUpstream?: boolean } = {}): void {
    for (const pair of this.pairs) {
      pair.blackholed = true;
      pair.holdUpstream = options.holdUpstream === true;
    }
    if (options.newConnections) this.blackholeNew = true;
  }

  heal(): void {
    this.blackholeNew = false;
    this.releaseHeld();
  }

  /** Stop listening and reset every connection: later connects are refused. */
  async refuse(): Promise<void> {
    const stopped = this.stopListening(); // completes once the last connection is gone
    this.reset();
    await stopped;
  }

  async close(): Promise<void> {
    this.releaseHeld();
    const stopped = this.stopListening();
    for (const pair of [...this.pairs]) this.drop(pair, false);
    await stopped;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.boundPort = (this.server.address() as net.AddressInfo).port;
  }

  private async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, upstream: undefined, blackholed: this.blackholeNew, holdUpstream: false };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => this.drop(pair, false));
    if (pair.blackholed) return; // accepted, never forwarded, never answered
    const upstream = net.connect(this.target);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => this.drop(pair, false));
    client.on('data', (chunk) => {
      if (!pair.blackholed) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.blackholed) client.write(chunk);
    });
  }

  private releaseHeld(): void {
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  private drop(pair: Pair, rst: boolean): void {
    if (!this.pairs.delete(pair)) return;
    if (pair.holdUpstream && pair.upstream && !pair.upstream.destroyed) {
      this.held.add(pair.upstream); // still read (and dropped): the server sees nothing wrong
      pair.client.destroy();
      return;
    }
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (rst) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
