/**
 * The lookups: section as the loader takes it: off by default, the budget inside the decision deadline
 * (a clear error naming the line), templates with known placeholders only, and secrets read from the
 * environment when the providers are built (a missing one names the key; its value never in a message).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load-config';
import { ConfigError } from '../../src/errors/config-error';
import { HttpJsonProvider } from '../../src/reputation/lookups/http-json-provider';

const load = (text: string) => loadConfigText(text, 'callscreen.yaml', {});

function problems(text: string): string {
  try {
    load(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('loaded');
}

describe('lookups configuration', () => {
  test('off by default: no provider, and the decision deadline is the 200 ms of a decision without them', () => {
    const { config } = load('{}');
    expect(config.lookups.providers).toEqual([]);
    expect(config.lookups.budgetMs).toBe(1000);
    expect(config.screening.deadlineMs).toBe(200);
  });

  test('with a provider and no deadline written, the deadline makes room for the budget', () => {
    const provider = '  providers:\n    - name: p\n      url: https://api.example/{e164}\n      answer: { score: s }\n';
    expect(load(`lookups:\n${provider}`).config.screening.deadlineMs).toBe(1050);
    expect(load(`lookups:\n  budgetMs: 300\n${provider}`).config.screening.deadlineMs).toBe(350);
    const written = load(`screening:\n  deadlineMs: 400\nlookups:\n  budgetMs: 300\n${provider}`);
    expect(written.config.screening.deadlineMs).toBe(400);
    // a budget that is not a number is named by the schema, not papered over
    expect(problems(`lookups:\n  budgetMs: soon\n${provider}`)).toContain('lookups.budgetMs');
  });

  test('with a provider, a budget that is not less than screening.deadlineMs is refused, naming its line', () => {
    const provider = '  providers:\n    - name: p\n      url: https://api.example/{e164}\n      answer: { score: s }\n';
    const text = `screening:\n  deadlineMs: 100\nlookups:\n  budgetMs: 100\n${provider}`;
    expect(problems(text)).toBe(
      'callscreen.yaml:4:13 lookups.budgetMs: must be less than screening.deadlineMs (100): a call is decided by its deadline, lookups or not',
    );
  });

  test('config/callscreen.yaml with its commented lookups example uncommented loads, the deadline making room', () => {
    const shipped = readFileSync(path.join(__dirname, '../../config/callscreen.yaml'), 'utf8').split('\n');
    const start = shipped.indexOf('# lookups:');
    expect(start).toBeGreaterThan(0);
    let end = start;
    while (shipped[end]?.startsWith('#')) end++;
    const text = [
      ...shipped.slice(0, start),
      ...shipped.slice(start, end).map((line) => line.slice(2)),
      ...shipped.slice(end),
    ].join('\n');
    const { config } = load(text);
    expect(config.lookups.providers.map((p) => [p.name, p.weight])).toEqual([['tellows', 60]]);
    expect(config.lookups.budgetMs).toBe(1000);
    expect(config.screening.deadlineMs).toBe(1050);
  });

  test('without a provider the budget is never spent: a short decision deadline loads', () => {
    expect(() => load('screening:\n  deadlineMs: 100\n')).not.toThrow();
  });

  test('a template with an unknown placeholder, or a URL that is not http(s), is refused', () => {
    const provider = (url: string) =>
      `lookups:\n  providers:\n    - name: p\n      url: "${url}"\n      answer: { score: s }\n`;
    expect(problems(provider('https://api.example/{number}'))).toContain('{number} is not a number placeholder');
    expect(problems(provider('ftp://api.example/{e164}'))).toContain('an http:// or https:// URL');
    expect(() => load(provider('https://api.example/{e164}?key=${API_KEY}'))).not.toThrow();
  });

  test('a provider whose answer cannot map to a score is refused', () => {
    const text = 'lookups:\n  providers:\n    - name: p\n      url: https://api.example/{e164}\n';
    expect(problems(text)).toContain('lookups.providers.0.answer.score: give answer.score');
  });

  test('two providers with one name are refused', () => {
    const one = '    - name: p\n      url: https://api.example/{e164}\n      answer: { score: s }\n';
    expect(problems(`lookups:\n  providers:\n${one}${one}`)).toContain('provider name p is used twice');
  });

  test('a secret the environment does not hold stops the provider, naming the key and not any value', () => {
    const { config } = load(
      'lookups:\n  providers:\n    - name: tellows\n      url: https://api.example/{e164}\n' +
        '      headers: { X-Auth-Token: { env: TELLOWS_KEY } }\n      answer: { score: s }\n',
    );
    const settings = config.lookups.providers[0];
    if (!settings) throw new Error('no provider');
    expect(() => new HttpJsonProvider(settings, {})).toThrow(
      'lookups.providers.tellows.headers.X-Auth-Token.env names TELLOWS_KEY, which is not set or empty',
    );
    expect(() => new HttpJsonProvider(settings, { TELLOWS_KEY: 'sekrit' })).not.toThrow();
  });
});
