/**
 * redis.sentinel: the daemon finds its master through three sentinels and follows a failover
 * (SENTINEL FAILOVER) while calls keep coming. Private master/replica/sentinels on this file's ports;
 * calls go through the shared test bed's Asterisk (run under flock /tmp/callscreen-testbed.lock).
 *
 * What is asserted, and why only that:
 * - every call reaches the agents (each caller is new and clean; a call decided without Redis during
 *   the switch is degraded and fails open to the agents) — none is lost;
 * - no call's record is in the stream twice;
 * - the calls screened before the failover (replica caught up before it starts) and the calls placed
 *   after the daemon reconnected to the new master are each in the new master's stream exactly once;
 * - the calls placed during the switch may be missing from it: a record appended to the old master in
 *   its last moments as master is dropped when it resyncs as a replica, and a call decided while Redis
 *   is unreachable is logged by the daemon but cannot be appended. Redis replication is asynchronous;
 *   this test does not pretend otherwise;
 * - after the failover the daemon writes to the new master (INFO replication says role:master there,
 *   role:slave on the old one, and the daemon logs the new master's address);
 * - master and replica require a password (from the variable passwordEnv names), which the daemon
 *   never writes to its log.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { connectInBackground, createRedisClient } from '../../src/adapters/redis/redis-connection';
import { loadConfigText } from '../../src/config/load-config';
import { CallHarness, type PlacedCall } from '../../tools/testbed/call-harness';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { freshCallers, startDaemon, type DaemonProcess, type LogLine } from '../support/daemon-process';
import { MASTER_NAME, SentinelTopology } from '../support/redis-topology';

jest.setTimeout(180_000);

const PORTS = { master: 16420, replica: 16421, sentinels: [26420, 26421, 26422] as [number, number, number] };
const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
// master and replica require a password; the daemon reads it from the variable passwordEnv names
const PASSWORD = `pw-${randomUUID()}`;
const nextCaller = freshCallers(640);

let topology: SentinelTopology;
let daemon: DaemonProcess;
let harness: CallHarness;

beforeAll(async () => {
  topology = new SentinelTopology(PORTS, PASSWORD);
  await topology.start();
  harness = await CallHarness.open();
  const config = `
numbers:
  defaultRegion: US
redis:
  keyPrefix: "${prefix}"
  commandTimeoutMs: 150
  sentinel:
    name: ${MASTER_NAME}
    nodes: [${topology.sentinelNodes.map((n) => `"${n}"`).join(', ')}]
    passwordEnv: CS_TEST_REDIS_PASSWORD
screening:
  deadlineMs: 500
  timeZone: UTC
`;
  // CALLSCREEN_REDIS_URL would select the url form: empty, the file's sentinel block is used
  daemon = await startDaemon({ config, env: { CALLSCREEN_REDIS_URL: '', CS_TEST_REDIS_PASSWORD: PASSWORD } });
  await daemon.waitForLog((l) => l.msg === 'redis connected', 15_000);
});

afterAll(async () => {
  await daemon?.stop();
  await harness?.close();
  await topology?.stop();
});

async function streamRecords(port: number): Promise<ScreenedCallRecord[]> {
  const entries = (await topology.data(port, (r: Redis) => r.xrange(`${prefix}calls`, '-', '+'))) as Array<
    [string, string[]]
  >;
  return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('record') + 1] ?? '{}') as ScreenedCallRecord);
}

async function replicaCaughtUp(): Promise<void> {
  const offset = (info: string, key: string) => Number(new RegExp(`${key}:(\\d+)`).exec(info)?.[1] ?? -1);
  for (let i = 0; i < 100; i++) {
    const master = offset(await topology.data(PORTS.master, (r) => r.info('replication')), 'master_repl_offset');
    const replica = offset(await topology.data(PORTS.replica, (r) => r.info('replication')), 'slave_repl_offset');
    if (master === replica) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the replica did not catch up with the master');
}

async function placeAndRoute(
  count: number,
  gapMs: number,
): Promise<Array<{ call: PlacedCall; destination: Promise<string> }>> {
  const calls: Array<{ call: PlacedCall; destination: Promise<string> }> = [];
  for (let i = 0; i < count; i++) {
    const call = await harness.placeCall({ caller: nextCaller(), did: '+12125550100' });
    calls.push({ call, destination: harness.waitForDestination(call, 20_000) });
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return calls;
}

const screened = (call: PlacedCall) => (l: LogLine) => l.callId === call.screenedUniqueId;

test('calls keep reaching the agents through a Sentinel failover, and the daemon follows it to the new master', async () => {
  expect(await topology.role(PORTS.master)).toBe('master');

  // 1. before: the daemon writes to the first master; the replica has every record
  const before = await placeAndRoute(6, 100);
  for (const { call, destination } of before) {
    expect(await destination).toBe('agents');
    expect(await daemon.screenedLine(screened(call))).toMatchObject({ verdict: 'allow', degraded: false });
  }
  await replicaCaughtUp();

  // 2. during: SENTINEL FAILOVER, calls keep coming while the sentinels switch the master
  await topology.failover();
  const during = await placeAndRoute(8, 150);
  await topology.waitForMaster(PORTS.replica);
  await daemon.waitForLog((l) => l.msg === 'redis connected' && l.at === `127.0.0.1:${PORTS.replica}`, 20_000);

  // 3. after: the daemon is on the new master
  const after = await placeAndRoute(6, 100);

  for (const { destination } of [...during, ...after]) expect(await destination).toBe('agents');
  for (const { call } of after)
    expect(await daemon.screenedLine(screened(call))).toMatchObject({ verdict: 'allow', degraded: false });

  expect(await topology.role(PORTS.replica)).toBe('master');
  await topology.waitForRole(PORTS.master, 'slave'); // the sentinels demote the old master a moment later

  // the records are written just after the log lines: wait until the last call's is there
  let records = await streamRecords(PORTS.replica);
  for (const until = Date.now() + 5000; Date.now() < until; records = await streamRecords(PORTS.replica)) {
    if (records.some((r) => r.callId === after.at(-1)!.call.screenedUniqueId)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const countOf = (call: PlacedCall) => records.filter((r) => r.callId === call.screenedUniqueId).length;
  for (const { call } of [...before, ...after])
    expect({ call: call.testId, records: countOf(call) }).toEqual({ call: call.testId, records: 1 });
  for (const { call } of during) expect(countOf(call)).toBeLessThanOrEqual(1);
  // the newest entry on the new master is the last call: the daemon writes there now
  expect(records.at(-1)?.callId).toBe(after.at(-1)!.call.screenedUniqueId);

  // the daemon said which Redis it uses, and never the password
  expect(daemon.lines.find((l) => l.msg === 'redis connected')).toMatchObject({
    redis: `sentinel ${MASTER_NAME} via ${topology.sentinelNodes.join(',')} (db 0)`,
  });
  expect(JSON.stringify(daemon.lines) + daemon.stderr).not.toContain(PASSWORD);
});

test('with no sentinel answering, connectInBackground gives up at once instead of holding up the start', async () => {
  const settings = loadConfigText(
    `redis:\n  sentinel:\n    name: ${MASTER_NAME}\n    nodes: ["127.0.0.1:26429", "127.0.0.1:26428"]\n`,
    'callscreen.yaml',
    {},
  ).config.redis;
  const client = createRedisClient(settings, { connectionName: 'scale-out-no-sentinel' });
  client.on('error', () => undefined);
  try {
    expect(await connectInBackground(client)).toBe(false);
    await expect(client.get('anything')).rejects.toThrow(/enableOfflineQueue/);
  } finally {
    client.disconnect();
  }
});
