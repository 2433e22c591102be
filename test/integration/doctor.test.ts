/**
 * `callscreen doctor` against the test bed (real Asterisk, AMI, Redis): a correct setup passes with exit 0;
 * each mistake an admin makes is planted on its own and found, as a failing line with its fix and exit 1.
 * The test bed has a FreePBX-shaped dialplan beside its own (freepbx.conf), so doctor finds FreePBX there.
 */
import { randomBytes } from 'node:crypto';
import { AsteriskManagerAmi } from '../../src/adapters/ami/asterisk-manager-ami';
import { testbedAmiEnv, runCli, writeConfigDir } from '../support/daemon-process';
import { testbed } from '../support/testbed';

jest.setTimeout(60_000);

interface DoctorJson {
  checks: Array<{ area: string; name: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }>;
  failed: number;
}

const AMI_ENV = testbedAmiEnv();
const GOOD = 'numbers:\n  defaultRegion: US\nami:\n  enabled: true\n';

async function doctor(
  config: string,
  env: Record<string, string> = {},
  rules = 'allow: []\ndeny: []\n',
): Promise<{ code: number | null; json: DoctorJson }> {
  const dir = writeConfigDir(config, rules);
  const result = await runCli(dir, ['doctor', '--json', '--config', 'callscreen.yaml'], { ...AMI_ENV, ...env });
  return { code: result.code, json: JSON.parse(result.stdout) as DoctorJson };
}
const failing = (json: DoctorJson) => json.checks.filter((c) => c.status === 'fail');

test('a correct setup: every check passes (warnings allowed), exit 0', async () => {
  const { code, json } = await doctor(GOOD);
  expect(failing(json)).toEqual([]);
  expect(code).toBe(0);
  const passed = json.checks.filter((c) => c.status === 'ok').map((c) => `${c.area} ${c.name}`);
  expect(passed).toEqual(
    expect.arrayContaining([
      'config configuration',
      'redis reachable',
      'redis version',
      'ari reachable',
      'ari routing', // Asterisk 22.10 takes REST requests over the websocket
      'asterisk res_ari.so',
      'asterisk app_stasis.so',
      'dialplan Stasis app name',
      'ami login',
      'dialplan callscreen-inbound',
      'dialplan routing.agents',
      'dialplan CALLSCREEN_AGENTS_CONTEXT',
      // the test bed's FreePBX-shaped dialplan (test/testbed/asterisk/freepbx.conf) is found and set up right
      'freepbx custom destination',
      'freepbx inbound routes',
    ]),
  );
  // the test bed's Redis keeps nothing on disk: said, not failed
  expect(json.checks.find((c) => c.name === 'persistence')).toMatchObject({
    status: 'warn',
    fix: expect.stringMatching(/appendonly/),
  });
});

test.each([
  ['a wrong ARI password', GOOD, { CALLSCREEN_ARI_PASSWORD: 'not-the-password' }, 'ari credentials', /ari\.password/],
  [
    'Redis on a port where none listens',
    GOOD,
    { CALLSCREEN_REDIS_URL: 'redis://127.0.0.1:1' },
    'redis reachable',
    /redis\.url/,
  ],
  ['a wrong AMI password', GOOD, { CALLSCREEN_AMI_PASSWORD: 'not-the-password' }, 'ami login', /ami\.password/],
  [
    'a Stasis app name the dialplan does not use',
    `${GOOD}ari:\n  app: callscreen-elsewhere\n`,
    {},
    'dialplan Stasis app name',
    /CALLSCREEN_APP/,
  ],
  [
    'a routing target context that does not exist',
    `${GOOD}routing:\n  agents: { context: no-such-agents }\n`,
    {},
    'dialplan routing.agents',
    /create \[no-such-agents\]/,
  ],
])('%s is found, with its fix, exit 1', async (_mistake, config, env, check, fix) => {
  const { code, json } = await doctor(config, env);
  expect(code).toBe(1);
  expect(failing(json).map((c) => `${c.area} ${c.name}`)).toContain(check);
  expect(failing(json).find((c) => `${c.area} ${c.name}` === check)?.fix).toMatch(fix);
});

test('a configuration file with a problem is named with its line (nothing else can be tried); a rules file with one fails its line', async () => {
  const bad = await doctor(`${GOOD}screening:\n  thresholds: { challenge: lots }\n`);
  expect(bad.code).toBe(1);
  expect(bad.json.checks).toEqual([
    expect.objectContaining({
      area: 'config',
      status: 'fail',
      detail: expect.stringMatching(/callscreen\.yaml:\d+:\d+/),
    }),
  ]);
  const rules = await doctor(GOOD, {}, 'deny:\n  - "+1 212 5"\n');
  expect(failing(rules.json)).toEqual([
    expect.objectContaining({ area: 'config', name: 'rules', detail: expect.stringMatching(/rules\.yaml:2:\d+/) }),
  ]);
});

test('the human output: one line per check with the fix under a failure, and a verdict line', async () => {
  const dir = writeConfigDir(GOOD, 'allow: []\ndeny: []\n');
  const result = await runCli(dir, ['doctor', '--config', 'callscreen.yaml'], {
    ...AMI_ENV,
    CALLSCREEN_ARI_PASSWORD: 'x',
  });
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/^FAIL {2}ari credentials .*\(401\)$/m);
  expect(result.stdout).toMatch(/^\s+fix: set ari\.username and ari\.password/m);
  expect(result.stdout).toMatch(/^\d+ failed, \d+ warnings$/m);
});

test('FreePBX: a Custom Destination whose target does not hand over the number dialled is found, with its fix', async () => {
  // planted for the test's own length: one more Custom Destination, which no inbound route and no call uses
  const dest = `dest-cstest-${randomBytes(3).toString('hex')}`;
  const ami = new AsteriskManagerAmi({
    host: testbed.amiHost,
    port: testbed.amiPort,
    username: testbed.amiUser,
    password: testbed.amiPassword,
  });
  ami.on('error', () => undefined);
  await ami.start();
  try {
    await ami.action({
      action: 'DialplanExtensionAdd',
      context: 'customdests',
      extension: dest,
      priority: 1,
      application: 'Goto',
      applicationdata: 'callscreen-inbound,s,1',
      replace: 'yes',
    });
    const { code, json } = await doctor(GOOD);
    expect(code).toBe(1);
    expect(failing(json)).toEqual([
      expect.objectContaining({
        area: 'freepbx',
        name: 'custom destination',
        detail: expect.stringContaining(`${dest} targets callscreen-inbound,s,1`),
        fix: expect.stringContaining('callscreen-inbound,${FROM_DID},1'),
      }),
    ]);
    // the test bed's own inbound route still goes to dest-1, the right one
    expect(json.checks.find((c) => c.name === 'inbound routes')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^2125550180 goes to callscreen/),
    });
  } finally {
    await ami
      .action({ action: 'DialplanExtensionRemove', context: 'customdests', extension: dest })
      .catch(() => undefined);
    await ami.close();
  }
});
