/**
 * The connection URLs in callscreen.yaml (ari.url, redis.url, the Redis node lists) are checked whole when
 * the file loads, before anything connects: a wrong scheme, port or database number is a ConfigError naming
 * the setting and its line, or the environment variable the value came from.
 */
import { loadConfigText } from '../../src/config/load-config';
import { problemsOf } from '../support/config-problems';

const load = (text: string, env: NodeJS.ProcessEnv = {}) =>
  loadConfigText(text, 'callscreen.yaml', env, { path: '/etc/callscreen/callscreen.yaml' }).config;

/** The one problem loading `text` gives (fails the test if there are more). */
function problemOf(text: string, env: NodeJS.ProcessEnv = {}) {
  const problems = problemsOf(() => load(text, env));
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe('ari.url is checked when the file loads', () => {
  test.each(['http://127.0.0.1:8088', 'https://pbx.example/asterisk/ari', 'HTTP://PBX:8088/', 'http://[::1]:8088'])(
    '%s is accepted',
    (url) => {
      expect(load(`ari:\n  url: "${url}"\n`).ari.url).toBe(url);
    },
  );

  test('a file: URL is refused at its line, naming the setting and the schemes it takes', () => {
    const p = problemOf('ari:\n  username: cs\n  url: "file:///etc/passwd"\n');
    expect(p).toMatchObject({ file: 'callscreen.yaml', line: 3 });
    expect(p.reason).toMatch(/^ari\.url: /);
    expect(p.reason).toContain('http:// or https://');
  });

  test.each(['ws://pbx:8088', 'ftp://pbx', 'redis://pbx:8088'])('another scheme (%s) is refused', (url) => {
    expect(problemOf(`ari:\n  url: "${url}"\n`).reason).toContain('ari.url: ');
  });

  test.each(['not a url', 'pbx:8088', 'http://', 'http://pbx:99999', ''])('"%s" is not a URL and is refused', (url) => {
    expect(problemOf(`ari:\n  url: "${url}"\n`).reason).toMatch(/^ari\.url: /);
  });

  test('the message does not repeat credentials written in the URL', () => {
    const p = problemOf('ari:\n  url: "ftp://admin:s3cret@pbx"\n');
    expect(p.reason).not.toContain('s3cret');
  });

  test('CALLSCREEN_ARI_URL with a wrong scheme is reported as coming from the environment', () => {
    const p = problemOf('ari:\n  url: http://pbx:8088\n', { CALLSCREEN_ARI_URL: 'file:///etc/passwd' });
    expect(p).toMatchObject({ file: '(environment)', line: 0 });
    expect(p.reason).toContain('CALLSCREEN_ARI_URL');
    expect(p.reason).toContain('ari.url');
  });
});

describe('redis.url is checked completely when the file loads', () => {
  test.each([
    'redis://127.0.0.1:6379',
    'redis://127.0.0.1:6379/0',
    'redis://cache:6379/15',
    'rediss://cache.example:6380/3',
    'redis://:pa%40ss@cache:6379/1',
    'redis://user:pass@cache',
    'redis://[fd00::5]:6379/2',
    'redis://cache:6379/',
  ])('%s is accepted', (url) => {
    expect(load(`redis:\n  url: "${url}"\n`).redis.url).toBe(url);
  });

  test('an upper-case scheme is accepted and written lower-case (the Redis client turns TLS on only for rediss://)', () => {
    expect(load('redis:\n  url: REDISS://cache:6380/2\n').redis.url).toBe('rediss://cache:6380/2');
    expect(load('', { CALLSCREEN_REDIS_URL: 'Redis://cache:6379' }).redis.url).toBe('redis://cache:6379');
  });

  test('a database past 15 is refused (it would silently be database 0), saying Redis has 16 by default', () => {
    const p = problemOf('redis:\n  keyPrefix: "cs:"\n  url: redis://cache:6379/99\n');
    expect(p).toMatchObject({ file: 'callscreen.yaml', line: 3 });
    expect(p.reason).toMatch(/^redis\.url: /);
    expect(p.reason).toContain('0..15');
    expect(p.reason).toContain('16 databases');
  });

  test.each(['redis://cache:6379/abc', 'redis://cache:6379/1.5', 'redis://cache:6379/-1', 'redis://cache:6379/1/2'])(
    'a database that is not a whole number 0..15 (%s) is refused',
    (url) => {
      const p = problemOf(`redis:\n  url: "${url}"\n`);
      expect(p.reason).toMatch(/^redis\.url: .*database/);
    },
  );

  test.each(['redis://cache:notaport', 'redis://cache:0', 'redis://cache:65536', 'redis://cache:99999/0'])(
    'a port outside 1..65535 (%s) is refused, naming the setting',
    (url) => {
      const p = problemOf(`redis:\n  url: "${url}"\n`);
      expect(p).toMatchObject({ line: 2 });
      expect(p.reason).toMatch(/^redis\.url: .*port/);
      expect(p.reason).toContain('1..65535');
    },
  );

  test.each(['http://cache:6379', 'cache:6379', 'unix:///run/redis.sock'])(
    'a scheme other than redis(s) (%s) is refused',
    (url) => {
      expect(problemOf(`redis:\n  url: "${url}"\n`).reason).toMatch(/^redis\.url: .*redis:\/\/ or rediss:\/\//);
    },
  );

  test.each(['notaurl', 'redis://', 'redis:///0', 'redis://cache:6379?db=3', 'redis://cache:6379#x'])(
    '"%s" is refused as not a Redis URL',
    (url) => {
      expect(problemOf(`redis:\n  url: "${url}"\n`).reason).toMatch(/^redis\.url: /);
    },
  );

  test('the message does not repeat the password written in the URL', () => {
    const p = problemOf('redis:\n  url: "redis://:s3cret@cache:99999/0"\n');
    expect(p.reason).not.toContain('s3cret');
  });

  test('CALLSCREEN_REDIS_URL=notaurl is reported from the environment, not at the valid URL in the file', () => {
    const p = problemOf('ari:\n  url: http://pbx:8088\nredis:\n  url: redis://cache:6379\n', {
      CALLSCREEN_REDIS_URL: 'notaurl',
    });
    expect(p).toMatchObject({ file: '(environment)', line: 0, column: 0 });
    expect(p.reason).toContain('CALLSCREEN_REDIS_URL');
    expect(p.reason).toContain('redis.url');
  });

  test('CALLSCREEN_REDIS_URL with database 99 is reported from the environment', () => {
    const p = problemOf('', { CALLSCREEN_REDIS_URL: 'redis://cache:6379/99' });
    expect(p.file).toBe('(environment)');
    expect(p.reason).toContain('CALLSCREEN_REDIS_URL');
    expect(p.reason).toContain('0..15');
  });

  test('every environment override is located the same way: CALLSCREEN_AMI_PORT=abc', () => {
    const p = problemOf('ami:\n  port: 5038\n', { CALLSCREEN_AMI_PORT: 'abc' });
    expect(p).toMatchObject({ file: '(environment)', line: 0 });
    expect(p.reason).toContain('CALLSCREEN_AMI_PORT');
    expect(p.reason).toContain('ami.port');
  });

  test('a problem in the file is still located in the file when an override is set elsewhere', () => {
    const p = problemOf('redis:\n  url: redis://cache:6379/99\n', { CALLSCREEN_ARI_URL: 'http://pbx:8088' });
    expect(p).toMatchObject({ file: 'callscreen.yaml', line: 2 });
  });
});

describe('Redis node lists take ports 1..65535', () => {
  test('a sentinel node with port 99999 is refused at its list item', () => {
    const p = problemOf('redis:\n  sentinel:\n    name: m\n    nodes:\n      - "a:26379"\n      - "b:99999"\n');
    expect(p).toMatchObject({ line: 6 });
    expect(p.reason).toContain('redis.sentinel.nodes.1');
    expect(p.reason).toContain('1..65535');
  });

  test('a cluster node with port 0 is refused', () => {
    expect(problemOf('redis:\n  cluster:\n    nodes: ["redis://a:0"]\n').reason).toContain('1..65535');
  });

  test('valid sentinel and cluster nodes still load', () => {
    expect(
      load('redis:\n  cluster:\n    nodes: ["a:7000", "redis://[fd00::1]:65535/"]\n').redis.cluster?.nodes,
    ).toHaveLength(2);
  });
});
