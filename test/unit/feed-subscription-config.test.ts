/**
 * The `feeds:` section of callscreen.yaml: what loads, its defaults, and every refusal located at its
 * line with a reason (src/config/feeds-schema.ts); the commented example in config/callscreen.yaml loads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load-config';
import { problemsOf } from '../support/config-problems';

const load = (yaml: string) => loadConfigText(yaml, 'callscreen.yaml', {});
const oneFeed = (lines: string): string => `feeds:\n  - name: robocall\n${lines}`;

describe('feeds: in callscreen.yaml', () => {
  test('no feeds by default', () => {
    expect(load('').config.feeds).toEqual([]);
  });

  test('an https feed gets the defaults: daily, 256 MB, 10 minutes, shrink guard 0.5, no headers', () => {
    const [feed] = load(oneFeed('    url: https://lists.example.org/robocall.csv\n')).config.feeds;
    expect(feed).toEqual({
      name: 'robocall',
      url: 'https://lists.example.org/robocall.csv',
      allowInsecureHttp: false,
      headersEnv: {},
      intervalMinutes: 1440,
      map: [],
      skip: [],
      complaints: false,
      maxBytes: 268435456,
      timeoutSeconds: 600,
      shrinkGuard: { minRatio: 0.5 },
    });
  });

  test('the import options are taken as `callscreen import` takes them', () => {
    const [feed] = load(
      oneFeed(
        '    url: file:///var/lib/callscreen/list.csv\n    format: csv\n    region: ch\n    map: ["1=Number", "3=category"]\n' +
          '    skip: ["likely_admin=yes"]\n    score: 0.8\n    complaints: true\n    maxAgeDays: 30\n',
      ),
    ).config.feeds;
    expect(feed).toMatchObject({
      format: 'csv',
      region: 'ch',
      map: ['1=Number', '3=category'],
      skip: ['likely_admin=yes'],
      score: 0.8,
      complaints: true,
      maxAgeDays: 30,
    });
  });

  test('plain http is refused at the url line unless allowInsecureHttp', () => {
    const [p] = problemsOf(() => load(oneFeed('    url: http://lists.example.org/robocall.csv\n')));
    expect(p).toMatchObject({ file: 'callscreen.yaml', line: 3 });
    expect(p?.reason).toMatch(/^feeds\.0\.url: plain http:\/\/ can be changed on the way/);
    expect(
      load(oneFeed('    url: http://10.0.0.5/robocall.csv\n    allowInsecureHttp: true\n')).config.feeds[0]?.url,
    ).toBe('http://10.0.0.5/robocall.csv');
  });

  test.each([
    ['ftp://lists.example.org/list.csv', /an https:\/\/ URL or a file: URL/],
    ['not a url', /an https:\/\/ URL or a file: URL/],
    ['https://user:secret@lists.example.org/list.csv', /credentials in the URL would be logged/],
  ])('url %s is refused, naming why', (url, reason) => {
    const [p] = problemsOf(() => load(oneFeed(`    url: "${url}"\n`)));
    expect(p?.line).toBe(3);
    expect(p?.reason).toMatch(reason);
  });

  test.each([
    ['    map: ["1=phone_number"]\n', 4, /COLUMN=FIELD with FIELD one of number, score/],
    ['    skip: ["likely_admin"]\n', 4, /COLUMN=VALUE/],
    ['    region: XX\n', 4, /not a region libphonenumber knows/],
    ['    intervalMinutes: 1\n', 4, /intervalMinutes/],
    ['    headersEnv: { Authorization: "Bearer abc" }\n', 4, /an environment variable name/],
    ['    shrinkGuard: { minRatio: 2 }\n', 4, /minRatio/],
    ['    maxBytes: 10\n', 4, /maxBytes/],
  ])('%s is refused at its line', (line, at, reason) => {
    const problems = problemsOf(() => load(oneFeed(`    url: https://lists.example.org/x.csv\n${line}`)));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.line).toBe(at);
    expect(problems[0]?.reason).toMatch(reason);
  });

  test('a feed cannot take the name of a live source, nor the name of another feed', () => {
    const live = problemsOf(() => load('feeds:\n  - name: manual\n    url: https://a.example/x\n'));
    expect(live[0]).toMatchObject({ line: 2 });
    expect(live[0]?.reason).toMatch(/live sources, not feeds/);
    const twice = problemsOf(() =>
      load('feeds:\n  - name: a\n    url: https://a.example/x\n  - name: a\n    url: https://a.example/y\n'),
    );
    expect(twice[0]).toMatchObject({ line: 4 });
    expect(twice[0]?.reason).toMatch(/a second feed named a/);
  });

  test('an unknown key in a feed is named at its line', () => {
    const [p] = problemsOf(() => load(oneFeed('    url: https://a.example/x\n    intervall: 60\n')));
    expect(p?.line).toBe(4);
    expect(p?.reason).toMatch(/unknown key "intervall"/);
  });

  test("config/callscreen.yaml's commented feeds example loads when uncommented", () => {
    const shipped = readFileSync(path.join(__dirname, '../../config/callscreen.yaml'), 'utf8').split('\n');
    const start = shipped.indexOf('# feeds:');
    expect(start).toBeGreaterThan(0);
    const block: string[] = [];
    for (const line of shipped.slice(start)) {
      if (!line.startsWith('#')) break;
      block.push(line.slice(2));
    }
    const feeds = load(block.join('\n')).config.feeds;
    expect(feeds).toHaveLength(1);
    expect(feeds[0]).toMatchObject({ name: 'robocall', intervalMinutes: 1440, shrinkGuard: { minRatio: 0.5 } });
  });
});
