/**
 * A private redis-server for tests that stop, pause and restart Redis under a running daemon
 * (the shared test-bed Redis stays untouched). Uses the redis-server binary scripts/testbed installs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

export interface PrivateRedisOptions {
  /**
   * Keep the data across a kill and restart, as a production Redis does (append-only file, fsync on
   * every write, in a directory of its own). Off: a restarted server starts empty.
   */
  durable?: boolean;
}

export class PrivateRedis {
  private child: ChildProcess | undefined;
  private readonly persistence: string[];

  constructor(
    readonly port: number,
    options: PrivateRedisOptions = {},
  ) {
    this.persistence = options.durable
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', mkdtempSync(join(tmpdir(), 'callscreen-redis-'))]
      : ['--appendonly', 'no'];
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', ...this.persistence],
      { stdio: 'ignore' },
    );
    const client = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await client.connect();
        await client.ping();
        break;
      } catch {
        client.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    client.disconnect();
  }

  client(): Redis {
    return new Redis(this.url);
  }

  /** freeze the server: connections stay open, nothing answers (a hung Redis) */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** kill without a goodbye (a crashed Redis) */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}
