/**
 * A provider's answer -> what it said: the facts read at dotted paths, the score mapped to 0..1 (scale,
 * invert, categories), "unknown" told by status or by a value, and every kind of bad answer a failure.
 */
import { providerSchema } from '../../src/config/lookups-schema';
import { interpretAnswer, scaleScore, valueAt } from '../../src/reputation/lookups/answer-extraction';

const provider = (extra: Record<string, unknown>) =>
  providerSchema.parse({ name: 'p', url: 'https://api.example/{e164}', ...extra });

const tellowsLike = provider({
  answer: { score: 'tellows.score', reports: 'tellows.comments', category: 'tellows.callerType', name: 'tellows.name' },
  score: { min: 5, max: 9 },
  unknown: { path: 'tellows.comments', equals: [0] },
});

describe('answer extraction', () => {
  test('dotted paths reach into objects and arrays; a missing step gives nothing', () => {
    const json = { a: { b: [{ c: 7 }] } };
    expect(valueAt(json, 'a.b.0.c')).toBe(7);
    expect(valueAt(json, 'a.b.1.c')).toBeUndefined();
    expect(valueAt(json, 'a.x.c')).toBeUndefined();
    expect(valueAt(json, 'a.b.c')).toBeUndefined();
    // inherited names are not the answer's
    expect(valueAt(json, 'a.constructor')).toBeUndefined();
  });

  test('a score on the provider scale maps to 0..1, clamped, inverted when asked', () => {
    const scale = { min: 5, max: 9, invert: false, categories: {} };
    expect(scaleScore(9, scale)).toBe(1);
    expect(scaleScore(7, scale)).toBe(0.5);
    expect(scaleScore(1, scale)).toBe(0);
    expect(scaleScore(12, scale)).toBe(1);
    expect(scaleScore(0, { min: 0, max: 100, invert: true, categories: {} })).toBe(1);
  });

  test('an answer gives its score, reports, category and name', () => {
    const text = JSON.stringify({ tellows: { score: '8', comments: '12', callerType: 'telemarketer', name: 'ACME' } });
    expect(interpretAnswer(200, text, tellowsLike)).toEqual({
      status: 'answered',
      score: 0.75,
      reports: 12,
      category: 'telemarketer',
      name: 'ACME',
    });
  });

  test('the value that marks an unknown number gives unknown, not a score', () => {
    const text = JSON.stringify({ tellows: { score: 5, comments: '0' } });
    expect(interpretAnswer(200, text, tellowsLike)).toEqual({ status: 'unknown' });
  });

  test('HTTP 404 means unknown by default; other statuses are failures', () => {
    expect(interpretAnswer(404, 'not found', tellowsLike)).toEqual({ status: 'unknown' });
    expect(interpretAnswer(503, '', tellowsLike)).toEqual({ status: 'failed', kind: 'http', detail: 'HTTP 503' });
    expect(interpretAnswer(401, '{}', tellowsLike)).toMatchObject({ status: 'failed', kind: 'http' });
  });

  test('a body that is not JSON, or JSON without the score, is a failure', () => {
    expect(interpretAnswer(200, '<html>', tellowsLike)).toMatchObject({ status: 'failed', kind: 'garbage' });
    expect(interpretAnswer(200, '{"tellows":{"comments":3}}', tellowsLike)).toEqual({
      status: 'failed',
      kind: 'garbage',
      detail: 'no score at tellows.score',
    });
    expect(interpretAnswer(200, '{"tellows":{"score":"high","comments":3}}', tellowsLike)).toMatchObject({
      status: 'failed',
    });
  });

  test('unknown.missing turns an answer without a score into unknown', () => {
    const lenient = provider({ answer: { score: 'score' }, unknown: { missing: true } });
    expect(interpretAnswer(200, '{}', lenient)).toEqual({ status: 'unknown' });
  });

  test('a category the settings map gives its score, whatever the scale says', () => {
    const phoneblockLike = provider({
      answer: { category: 'rating', reports: 'votes' },
      score: { categories: { G_FRAUD: 1, A_LEGITIMATE: 0 } },
    });
    expect(interpretAnswer(200, '{"rating":"G_FRAUD","votes":40}', phoneblockLike)).toEqual({
      status: 'answered',
      score: 1,
      reports: 40,
      category: 'G_FRAUD',
    });
    expect(interpretAnswer(200, '{"rating":"Z_NEW","votes":1}', phoneblockLike)).toMatchObject({
      status: 'failed',
      kind: 'garbage',
    });
  });

  test('texts from the provider are made printable and short', () => {
    const named = provider({ answer: { score: 's', name: 'n' } });
    const outcome = interpretAnswer(200, JSON.stringify({ s: 1, n: `A\u0007B\n${'x'.repeat(200)}` }), named);
    expect(outcome.status).toBe('answered');
    const name = outcome.status === 'answered' ? (outcome.name ?? '') : '';
    expect(name).not.toMatch(/\p{Cc}/u);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name.startsWith('A B')).toBe(true);
  });
});
