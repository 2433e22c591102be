/**
 * redis.cluster: a real three-master Redis Cluster (private, on this file's ports). The client the
 * daemon builds from the cluster form connects, writes and reads the screened-call log, and fails fast
 * (does not hang) when the cluster is gone.
 *
 * Covered here: the connection, the call log (one stream key), keys spread over all masters,
 * `callscreen check` (history consulted through the per-call script) and one daemon decision on a call
 * placed through the test bed (its own Stasis app, picked by CALLSCREEN_APP). Run under
 * flock /tmp/callscreen-testbed.lock. Velocity, reputation sources, feedback and CAPTCHA results on a
 * cluster: redis-cluster-screening.test.ts. Not covered: a cluster master failing over.
 */
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { createRedisClient, type RedisClient } from '../../src/adapters/redis/redis-connection';
import { RedisCallLog } from '../../src/adapters/redis/redis-call-log';
import { loadConfigText } from '../../src/config/load-config';
import type { Decision } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import type { ScreenedCallRecord } from '../../src/ports/call-log';
import { CallHarness } from '../../tools/testbed/call-harness';
import { runCli, startDaemon, writeConfigDir } from '../support/daemon-process';
import { ClusterTopology, withRedis } from '../support/redis-topology';

jest.setTimeout(90_000);

const PORTS: [number, number, number] = [16430, 16431, 16432];
const BUS_PORTS: [number, number, number] = [17030, 17031, 17032];

const prefix = `cstest-${randomUUID().slice(0, 8)}:`;
let cluster: ClusterTopology;
let client: RedisClient;

const configText = () =>
  `numbers:\n  defaultRegion: US\nredis:\n  keyPrefix: "${prefix}"\n  cluster:\n    nodes: [${cluster.clusterNodes.map((n, i) => (i === 1 ? `"redis://${n}"` : `"${n}"`)).join(', ')}]\n`;
const config = () => loadConfigText(configText(), 'callscreen.yaml', {}).config;

function record(callId: string, caller: string): ScreenedCallRecord {
  const at = new Date().toISOString();
  const decision: Decision = {
    verdict: 'allow',
    score: 0,
    reasons: [],
    degraded: false,
    policies: [],
    caller: normalisePhoneNumber(caller, 'US'),
    did: normalisePhoneNumber('+1 212 555 0100', 'US'),
    at,
  };
  return { callId, at, channel: `PJSIP/trunk-${callId}`, decision, routedTo: 'agents', decisionMs: 3, host: 'pbx-a' };
}

beforeAll(async () => {
  cluster = new ClusterTopology(PORTS, BUS_PORTS);
  await cluster.start();
  client = createRedisClient(config().redis, { connectionName: 'scale-out-cluster-test' });
  client.on('error', () => undefined);
  await client.connect();
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

test('the cluster form connects to every master of the cluster', async () => {
  expect(client).toBeInstanceOf(Cluster);
  const masters = (client as Cluster).nodes('master');
  expect(masters.map((n) => n.options.port).sort()).toEqual([...PORTS].sort());
});

test('the call log written through the cluster client is read back whole, newest first', async () => {
  const log = new RedisCallLog(client, prefix, 'calls', 1000);
  const ids = ['c1', 'c2', 'c3'].map((n) => `${n}-${randomUUID().slice(0, 6)}`);
  for (const [i, id] of ids.entries()) await log.append(record(id, `+1312555010${i}`));
  const recent = await log.recent(10);
  expect(recent.map((r) => r.callId)).toEqual([...ids].reverse());
  // the stream lives on exactly one master (the one owning its slot), as a stream
  const holders = await Promise.all(
    PORTS.map((port) => withRedis(port, (r) => r.call('EXISTS', `${prefix}calls`).catch(() => 0))),
  );
  expect(holders.filter((n) => n === 1)).toHaveLength(1);
});

test('keys spread over the three masters are all reachable through the one client', async () => {
  const keys = Array.from({ length: 30 }, (_, i) => `${prefix}spread:${i}`);
  for (const k of keys) await client.set(k, k);
  const values = await Promise.all(keys.map((k) => client.get(k)));
  expect(values).toEqual(keys);
  const perNode = await Promise.all(PORTS.map((port) => withRedis(port, (r) => r.dbsize())));
  expect(perNode.every((n) => n > 0)).toBe(true);
});

test("callscreen check consults the cluster for a number's history", async () => {
  const dir = writeConfigDir(configText(), 'allow: []\ndeny: []\n');
  const { code, stdout, stderr } = await runCli(
    dir,
    ['check', '+13125550111', '--json', '--config', 'callscreen.yaml'],
    { CALLSCREEN_REDIS_URL: '' },
  );
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  const result = JSON.parse(stdout) as { redis: { status: string; url: string } };
  expect(result.redis).toMatchObject({
    status: 'consulted',
    url: `cluster ${cluster.clusterNodes[0]!},redis://${cluster.clusterNodes[1]!},${cluster.clusterNodes[2]!}`,
  });
});

test('a daemon on the cluster screens a call with its history and logs it there', async () => {
  const app = 'cs-scale-cluster';
  const daemon = await startDaemon({
    config: `${configText()}ari:\n  app: ${app}\nscreening:\n  deadlineMs: 500\n  timeZone: UTC\n`,
    env: { CALLSCREEN_REDIS_URL: '' },
  });
  const harness = await CallHarness.open();
  try {
    const call = await harness.placeCall({
      caller: '+13126609911',
      did: '+12125550100',
      channelVars: { CALLSCREEN_APP: app },
    });
    expect(await harness.waitForDestination(call, 15_000)).toBe('agents');
    const line = await daemon.screenedLine((l) => l.callId === call.screenedUniqueId);
    expect(line).toMatchObject({ verdict: 'allow', degraded: false });
    const log = new RedisCallLog(client, prefix, 'calls', 1000);
    const deadline = Date.now() + 5000;
    while (!(await log.recent(20)).some((r) => r.callId === call.screenedUniqueId) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect((await log.recent(20)).filter((r) => r.callId === call.screenedUniqueId)).toHaveLength(1);
  } finally {
    await daemon.stop();
    await harness.close();
  }
});

test('with the cluster gone a command fails instead of waiting for it to come back', async () => {
  const offline = createRedisClient(config().redis, { connectionName: 'scale-out-cluster-offline', reconnect: false });
  offline.on('error', () => undefined);
  await offline.connect();
  client.disconnect(); // the shared client has done its work; it would only retry in the background
  await cluster.stop();
  await expect(offline.get(`${prefix}anything`)).rejects.toThrow();
  offline.disconnect();
});
