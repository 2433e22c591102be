/**
 * A man in the middle for ARI, used by the contract suite only to inject bad event frames: REST
 * requests are passed through to the real Asterisk untouched, and each events websocket is relayed
 * frame by frame to a websocket the relay opens to the real Asterisk (same path, query and
 * credentials), so the apps are registered in Asterisk and its real events flow. `inject()` slips a
 * text frame of the test's choosing into every relayed stream, between two real events.
 * `answerWith(503)` makes it answer every request and upgrade itself with that status, the way
 * Asterisk's HTTP server answers while it starts or stops; `answerWith(undefined)` relays again.
 */
import http from 'node:http';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export class AriEventRelay {
  private readonly server = http.createServer((req, res) => this.forwardRest(req, res));
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly streams = new Set<{ down: WebSocket; up: WebSocket }>();
  private boundPort = 0;
  private failStatus: number | undefined;

  private constructor(private readonly target: URL) {
    this.server.on('upgrade', (req, socket, head) => this.relayEvents(req, socket as net.Socket, head));
  }

  static async start(targetUrl: string): Promise<AriEventRelay> {
    const relay = new AriEventRelay(new URL(targetUrl));
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    relay.boundPort = (relay.server.address() as net.AddressInfo).port;
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** event streams currently relayed */
  get streamCount(): number {
    return this.streams.size;
  }

  answerWith(status: number | undefined): void {
    this.failStatus = status;
  }

  inject(frame: string): void {
    for (const { down } of this.streams) down.send(frame);
  }

  async close(): Promise<void> {
    for (const { down, up } of this.streams) {
      down.terminate();
      up.terminate();
    }
    this.streams.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forwardRest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.failStatus !== undefined) {
      res.writeHead(this.failStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: http.STATUS_CODES[this.failStatus] ?? 'error' }));
      return;
    }
    const upstream = http.request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  /** Opens the upstream websocket first, and completes the adapter's upgrade only once Asterisk accepted. */
  private relayEvents(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    if (this.failStatus !== undefined) {
      socket.end(
        `HTTP/1.1 ${this.failStatus} ${http.STATUS_CODES[this.failStatus] ?? 'error'}\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    const upUrl = `${this.target.protocol === 'https:' ? 'wss' : 'ws'}://${this.target.host}${req.url ?? '/'}`;
    const headers = req.headers.authorization ? { authorization: req.headers.authorization } : undefined;
    const up = new WebSocket(upUrl, { headers, perMessageDeflate: false });
    up.on('error', () => {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
    up.once('open', () => {
      this.wss.handleUpgrade(req, socket, head, (down) => {
        const stream = { down, up };
        this.streams.add(stream);
        up.on('message', (data, isBinary) => down.send(data, { binary: isBinary }));
        const end = (): void => {
          this.streams.delete(stream);
          down.terminate();
          up.terminate();
        };
        up.on('close', end);
        down.on('close', end);
        down.on('error', end);
      });
    });
  }
}
