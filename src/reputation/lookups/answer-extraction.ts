/**
 * From a provider's HTTP answer to a ProviderOutcome: where the score, reports, category and name are
 * (dotted paths, array items by index), how the provider says it does not know a number, and how its
 * score maps to 0 (clean) .. 1 (certainly spam). Pure functions of the answer and the settings.
 */
import type { LookupProviderConfig } from '../../config/lookups-schema';
import type { ProviderOutcome } from './provider-outcome';

/** What the extraction reads of a provider's settings. */
export type AnswerSettings = Pick<LookupProviderConfig, 'answer' | 'score' | 'unknown'>;

/** texts from a third party end up in logs, CDRs and the console: printable, and short */
const MAX_TEXT = 80;

/** The value at a dotted path ("tellows.score", "results.0.name"); undefined when any step is missing. */
export function valueAt(json: unknown, path: string): unknown {
  let here: unknown = json;
  for (const step of path.split('.')) {
    if (Array.isArray(here)) {
      if (!/^\d+$/.test(step)) return undefined;
      here = here[Number(step)];
    } else if (typeof here === 'object' && here !== null && Object.hasOwn(here, step)) {
      here = (here as Record<string, unknown>)[step];
    } else {
      return undefined;
    }
  }
  return here;
}

/** A number, or a string that is one ("7", " 0.8 "); else undefined. */
export function numberFrom(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/** The provider's score on its own scale -> 0..1 (clamped; inverted when the provider counts upwards for good). */
export function scaleScore(raw: number, score: AnswerSettings['score']): number {
  const linear = (raw - score.min) / (score.max - score.min);
  const clamped = Math.min(1, Math.max(0, linear));
  return score.invert ? 1 - clamped : clamped;
}

/** The provider's HTTP status and body text -> what it said. */
export function interpretAnswer(httpStatus: number, text: string, settings: AnswerSettings): ProviderOutcome {
  if (settings.unknown.httpStatus.includes(httpStatus)) return { status: 'unknown' };
  if (httpStatus < 200 || httpStatus > 299) return { status: 'failed', kind: 'http', detail: `HTTP ${httpStatus}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { status: 'failed', kind: 'garbage', detail: 'the answer is not JSON' };
  }
  const { unknown, answer } = settings;
  if (unknown.path !== undefined) {
    const marker = valueAt(json, unknown.path);
    if (unknown.equals.some((v) => v === marker || (marker !== null && String(v) === String(marker))))
      return { status: 'unknown' };
  }
  const category = answer.category !== undefined ? textAt(json, answer.category) : undefined;
  const score = mappedScore(json, category, settings);
  if (score === undefined) {
    if (unknown.missing) return { status: 'unknown' };
    const where = answer.score ?? answer.category ?? '?';
    return { status: 'failed', kind: 'garbage', detail: `no score at ${where}` };
  }
  const outcome: ProviderOutcome = { status: 'answered', score };
  const reports = answer.reports !== undefined ? numberFrom(valueAt(json, answer.reports)) : undefined;
  if (reports !== undefined && reports >= 0) outcome.reports = Math.round(reports);
  if (category !== undefined) outcome.category = category;
  const name = answer.name !== undefined ? textAt(json, answer.name) : undefined;
  if (name !== undefined) outcome.name = name;
  return outcome;
}

function mappedScore(json: unknown, category: string | undefined, settings: AnswerSettings): number | undefined {
  const { categories } = settings.score;
  if (category !== undefined && Object.hasOwn(categories, category)) return categories[category];
  if (settings.answer.score === undefined) return undefined;
  const raw = numberFrom(valueAt(json, settings.answer.score));
  return raw === undefined ? undefined : scaleScore(raw, settings.score);
}

/** A short printable text at the path (numbers as written), or undefined. */
function textAt(json: unknown, path: string): string | undefined {
  const value = valueAt(json, path);
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value)
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .trim();
  if (text === '') return undefined;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
