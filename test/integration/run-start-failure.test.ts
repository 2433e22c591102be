/**
 * `callscreen run` whose start fails exits by itself, non-zero, with the problem in one message on stderr
 * and no stack trace: it must not stay alive (holding Redis, watching files) until someone sends SIGTERM.
 * Needs no Asterisk: every start here fails before ARI is contacted.
 */
import { spawnDaemon, writeConfigDir, type DaemonProcess } from '../support/daemon-process';

const RULES = 'allow: []\ndeny: []\n';

/** The exit code, or the test fails if the process is still running after `ms` (it is then killed). */
async function exitWithin(daemon: DaemonProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  const outcome = await Promise.race([daemon.exitCode(), late]);
  clearTimeout(timer);
  if (outcome === 'still running') await daemon.stop('SIGKILL');
  expect(outcome).not.toBe('still running');
  return outcome === 'still running' ? null : outcome;
}

describe('callscreen run: a failed start exits non-zero', () => {
  test('ari.url file:///etc/passwd: exit 2 before anything connects, naming the file, line and setting', async () => {
    const dir = writeConfigDir('numbers:\n  defaultRegion: US\nari:\n  url: "file:///etc/passwd"\n', RULES);
    const daemon = spawnDaemon(dir, undefined, { CALLSCREEN_ARI_URL: '' });
    expect(await exitWithin(daemon, 10_000)).toBe(2);
    expect(daemon.stderr).toContain('callscreen.yaml:4:');
    expect(daemon.stderr).toContain('ari.url: must be an http:// or https:// URL');
    expect(daemon.stderr).not.toMatch(/^\s+at /m);
    expect(daemon.lines.map((l) => l.msg)).not.toContain('redis connected');
  });

  test('CALLSCREEN_REDIS_URL=notaurl: exit 2, reported from the environment', async () => {
    const dir = writeConfigDir('numbers:\n  defaultRegion: US\nredis:\n  url: redis://127.0.0.1:6379\n', RULES);
    const daemon = spawnDaemon(dir, undefined, { CALLSCREEN_REDIS_URL: 'notaurl' });
    expect(await exitWithin(daemon, 10_000)).toBe(2);
    expect(daemon.stderr).toContain('(environment): redis.url from CALLSCREEN_REDIS_URL');
    expect(daemon.stderr).not.toContain('callscreen.yaml:4');
  });

  test('a configuration error found after the start began (passwordEnv not set): the process still exits 2', async () => {
    const config =
      'numbers:\n  defaultRegion: US\nredis:\n  cluster:\n    nodes: ["127.0.0.1:7000"]\n' +
      '    passwordEnv: CALLSCREEN_TEST_UNSET_PASSWORD\n';
    const daemon = spawnDaemon(writeConfigDir(config, RULES), undefined, { CALLSCREEN_REDIS_URL: '' });
    expect(await exitWithin(daemon, 10_000)).toBe(2);
    expect(daemon.stderr).toContain('CALLSCREEN_TEST_UNSET_PASSWORD');
    expect(daemon.stderr).not.toMatch(/^\s+at /m);
    expect(daemon.lines.find((l) => l.msg === 'start failed')).toMatchObject({ level: 'error' });
  });
});
