/**
 * Private Redis topologies for the scale-out tests, from the installed redis-server binary (Redis 7):
 *
 *   SentinelTopology: a master, one replica (REPLICAOF) and three sentinels (quorum 2), config files in
 *     a temp dir, started and waited for until the sentinels agree and the replica is in sync.
 *   ClusterTopology: three masters with `cluster-enabled yes`, joined by `redis-cli --cluster create`,
 *     waited for until every node says cluster_state:ok.
 *
 * Ports come from the caller (each test file its own); cluster buses use `cluster-port` so they stay
 * out of the sentinel range. stop() is idempotent and kills only the processes this object started.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';

const run = promisify(execFile);

export const MASTER_NAME = 'mymaster';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One short-lived connection: run fn, always disconnect. Rejects if the server does not answer. */
export async function withRedis<T>(port: number, fn: (r: Redis) => Promise<T>, password?: string): Promise<T> {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    ...(password ? { password } : {}),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 1000,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not ready within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(100);
  }
}

/** A redis-server (or sentinel) process started from a config file in `dir`. */
class ServerProcess {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly config: string,
    private readonly sentinel = false,
    private readonly password?: string,
  ) {}

  async start(): Promise<void> {
    await shutdownLeftover(this.port, this.password);
    const file = path.join(this.dir, `${this.sentinel ? 'sentinel' : 'redis'}-${this.port}.conf`);
    writeFileSync(file, this.config);
    const child = spawn('redis-server', this.sentinel ? [file, '--sentinel'] : [file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    await waitFor(`redis-server on ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${this.output}`);
      return (await withRedis(this.port, (r) => r.ping(), this.password)) === 'PONG';
    });
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

/** A server of ours left on one of our ports by an aborted earlier run: ask it to go. */
async function shutdownLeftover(port: number, password?: string): Promise<void> {
  try {
    await withRedis(port, (r) => r.call('SHUTDOWN', 'NOSAVE').catch(() => undefined), password);
  } catch {
    return; // nothing there
  }
  await waitFor(
    `leftover on ${port} to go`,
    async () => withRedis(port, () => Promise.resolve(false)).catch(() => true),
    5000,
  );
}

const serverConfig = (port: number, dir: string, extra: string[] = []): string =>
  [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'daemonize no',
    `logfile ""`,
    ...extra,
  ].join('\n') + '\n';

export interface SentinelPorts {
  master: number;
  replica: number;
  /** three sentinel ports */
  sentinels: [number, number, number];
}

export class SentinelTopology {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'callscreen-sentinel-'));
  readonly servers: ServerProcess[];
  readonly sentinels: ServerProcess[];
  private stopping: Promise<void> | undefined;

  /** `password`: requirepass (and masterauth) on master and replica; the sentinels get it as auth-pass */
  constructor(
    readonly ports: SentinelPorts,
    readonly password?: string,
  ) {
    const auth = password ? [`requirepass ${password}`, `masterauth ${password}`] : [];
    this.servers = [
      new ServerProcess(ports.master, this.dir, serverConfig(ports.master, this.dir, auth), false, password),
      new ServerProcess(
        ports.replica,
        this.dir,
        serverConfig(ports.replica, this.dir, [...auth, `replicaof 127.0.0.1 ${ports.master}`]),
        false,
        password,
      ),
    ];
    this.sentinels = ports.sentinels.map(
      (port) =>
        new ServerProcess(
          port,
          this.dir,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${this.dir}`,
            'daemonize no',
            'logfile ""',
            `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${ports.master} 2`,
            `sentinel down-after-milliseconds ${MASTER_NAME} 2000`,
            `sentinel failover-timeout ${MASTER_NAME} 10000`,
            `sentinel parallel-syncs ${MASTER_NAME} 1`,
            ...(password ? [`sentinel auth-pass ${MASTER_NAME} ${password}`] : []),
          ].join('\n') + '\n',
          true,
        ),
    );
  }

  /** the `redis.sentinel.nodes` list for callscreen.yaml */
  get sentinelNodes(): string[] {
    return this.ports.sentinels.map((p) => `127.0.0.1:${p}`);
  }

  async start(): Promise<void> {
    for (const s of this.servers) await s.start();
    await waitFor('replica in sync', async () =>
      (await this.data(this.ports.replica, (r) => r.info('replication'))).includes('master_link_status:up'),
    );
    for (const s of this.sentinels) await s.start();
    // every sentinel knows the replica and the two other sentinels, and the quorum can be reached
    await waitFor(
      'sentinels agree',
      async () => {
        for (const port of this.ports.sentinels) {
          const ok = await withRedis(port, async (r) => {
            const master = flat((await r.call('SENTINEL', 'MASTER', MASTER_NAME)) as string[]);
            return (
              master['num-slaves'] === '1' &&
              master['num-other-sentinels'] === '2' &&
              String(await r.call('SENTINEL', 'CKQUORUM', MASTER_NAME)).startsWith('OK')
            );
          });
          if (!ok) return false;
        }
        return true;
      },
      30_000,
    );
  }

  /** The master's port as a sentinel reports it now. */
  async masterPort(sentinelPort = this.ports.sentinels[0]): Promise<number> {
    const [, port] = (await withRedis(sentinelPort, (r) =>
      r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME),
    )) as [string, string];
    return Number(port);
  }

  /** SENTINEL FAILOVER: promote the replica without waiting for the master to fail. */
  async failover(): Promise<void> {
    await withRedis(this.ports.sentinels[0], (r) => r.call('SENTINEL', 'FAILOVER', MASTER_NAME));
  }

  /** Resolves once every sentinel names `port` as the master and that server says role:master. */
  async waitForMaster(port: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `master on ${port}`,
      async () => {
        for (const s of this.ports.sentinels) if ((await this.masterPort(s)) !== port) return false;
        return (await this.data(port, (r) => r.info('replication'))).includes('role:master');
      },
      timeoutMs,
    );
  }

  /** `role:master` or `role:slave` from INFO replication of the server on `port`. */
  async role(port: number): Promise<string> {
    return /role:(\w+)/.exec(await this.data(port, (r) => r.info('replication')))?.[1] ?? 'unknown';
  }

  /** One short-lived, authenticated connection to the master or the replica. */
  data<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
    return withRedis(port, fn, this.password);
  }

  /** Resolves once the server on `port` reports that role (sentinels demote an old master a moment after the switch). */
  async waitForRole(port: number, role: 'master' | 'slave', timeoutMs = 30_000): Promise<void> {
    await waitFor(`role:${role} on ${port}`, async () => (await this.role(port)) === role, timeoutMs);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled([...this.sentinels, ...this.servers].map((s) => s.stop()));
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

export class ClusterTopology {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'callscreen-cluster-'));
  readonly nodes: ServerProcess[];
  private stopping: Promise<void> | undefined;

  /** `ports`: the three masters; `busPorts`: their cluster buses (cluster-port) */
  constructor(
    readonly ports: [number, number, number],
    busPorts: [number, number, number],
  ) {
    this.nodes = ports.map(
      (port, i) =>
        new ServerProcess(
          port,
          this.dir,
          serverConfig(port, this.dir, [
            'cluster-enabled yes',
            `cluster-config-file nodes-${port}.conf`,
            'cluster-node-timeout 2000',
            `cluster-port ${busPorts[i]!}`,
          ]),
        ),
    );
  }

  /** the `redis.cluster.nodes` list for callscreen.yaml */
  get clusterNodes(): string[] {
    return this.ports.map((p) => `127.0.0.1:${p}`);
  }

  async start(): Promise<void> {
    for (const n of this.nodes) await n.start();
    await run('redis-cli', ['--cluster', 'create', ...this.clusterNodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        for (const port of this.ports) {
          const info = String(await withRedis(port, (r) => r.call('CLUSTER', 'INFO')));
          if (!info.includes('cluster_state:ok') || !info.includes('cluster_known_nodes:3')) return false;
        }
        return true;
      },
      30_000,
    );
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled(this.nodes.map((n) => n.stop()));
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/** SENTINEL MASTER's flat [key, value, ...] reply as an object. */
function flat(reply: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
  return out;
}
