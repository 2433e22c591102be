/**
 * The `lookups:` section of callscreen.yaml: online reputation services asked about a caller while the
 * call waits, inside a hard budget (src/reputation/lookups/, docs/lookups.md). Off by default: a caller's
 * number goes to a third party only when the admin writes a provider here.
 *
 * Templates (url, body, header values) may hold the caller's number as {e164} (+4930123456), {digits}
 * (4930123456), {intl} (004930123456) or {national} (030123456), and secrets from the environment as
 * ${NAME}; a header value may also be written { env: NAME }. Secrets are read once, at start (a variable
 * that is not set stops the start naming the key), and never logged.
 */
import { z } from 'zod';

/** the number forms a template may hold */
export const NUMBER_PLACEHOLDERS = ['e164', 'digits', 'intl', 'national'] as const;
export type NumberPlaceholder = (typeof NUMBER_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{([A-Za-z0-9_]*)\}/g;
const ENV_REFERENCE = /\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What is wrong with a template's placeholders and ${ENV} references, if anything. */
export function templateProblem(text: string): string | undefined {
  for (const [, name] of text.matchAll(ENV_REFERENCE))
    if (!ENV_NAME.test(name ?? '')) return `\${${name}} is not an environment variable name`;
  const withoutEnv = text.replace(ENV_REFERENCE, '');
  for (const [, name] of withoutEnv.matchAll(PLACEHOLDER))
    if (!(NUMBER_PLACEHOLDERS as readonly string[]).includes(name ?? ''))
      return `{${name}} is not a number placeholder (${NUMBER_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`;
  return undefined;
}

const template = (what: string) =>
  z.string().superRefine((text, ctx) => {
    const problem = templateProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: `${what}: ${problem}` });
  });

const urlTemplate = template('url').superRefine((text, ctx) => {
  if (!/^https?:\/\/[^/?#\s]+/i.test(text))
    ctx.addIssue({
      code: 'custom',
      message: 'an http:// or https:// URL with a host, e.g. https://api.example/{e164}',
    });
});

/** a dotted path into the JSON answer: tellows.score, results.0.spam.score */
const answerPath = z
  .string()
  .regex(/^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$/, 'a dotted path into the JSON answer, e.g. tellows.score');

const jsonScalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const envVarName = z.string().regex(ENV_NAME, 'an environment variable name');

export const providerSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a provider name: lower case letters, digits, - and _ (at most 32)')
      .describe('names the provider in reasons, logs, metrics and cache keys'),
    url: urlTemplate.describe(
      'URL template: {e164}, {digits}, {intl} or {national} for the caller, ${NAME} for a secret from the environment',
    ),
    method: z.enum(['GET', 'POST']).default('GET').describe('HTTP method'),
    body: template('body')
      .optional()
      .describe('POST body template (same placeholders as url), e.g. {"number":"{e164}"}'),
    headers: z
      .record(
        z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name'),
        z.union([template('header'), z.object({ env: envVarName }).strict()]),
      )
      .default({})
      .describe('request headers; a value "${NAME}" or { env: NAME } is read from the environment (never logged)'),
    answer: z
      .object({
        score: answerPath.optional().describe("where the provider's score is (a number or a numeric string)"),
        reports: answerPath.optional().describe('where the number of reports is'),
        category: answerPath.optional().describe('where the category is (e.g. telemarketer)'),
        name: answerPath.optional().describe('where a caller name is (explains; never scores)'),
      })
      .strict()
      .prefault({})
      .describe('where in the JSON answer the facts are: dotted paths, array items by index (results.0.score)'),
    score: z
      .object({
        min: z.number().default(0).describe('the provider score that maps to 0 (clean); lower ones too'),
        max: z.number().default(1).describe('the provider score that maps to 1 (certainly spam); higher ones too'),
        invert: z.boolean().default(false).describe('the provider counts the other way round: a high score is good'),
        categories: z
          .record(z.string().min(1), z.number().min(0).max(1))
          .default({})
          .describe('category -> score 0..1; a category found here gives the score (before the scale)'),
      })
      .strict()
      .prefault({})
      .refine((s) => s.max !== s.min, { message: 'score.min and score.max must differ' })
      .describe("how the provider's answer maps to 0 (clean) .. 1 (certainly spam)"),
    unknown: z
      .object({
        httpStatus: z
          .array(z.number().int().min(200).max(599))
          .default([404])
          .describe('HTTP statuses that mean "number not known"'),
        path: answerPath.optional().describe('a place in the answer that tells an unknown number ...'),
        equals: z.array(jsonScalar).default([]).describe('... when it holds one of these values'),
        missing: z
          .boolean()
          .default(false)
          .describe('also unknown when the answer has no score (else: an answer without a score is a failure)'),
      })
      .strict()
      .prefault({})
      .describe('how the provider says it does not know the number'),
    weight: z
      .number()
      .min(0)
      .max(1000)
      .default(60)
      .describe(
        'points for a score of 1 (points = round(weight x score)); the lookups alone never take a caller past the CAPTCHA',
      ),
    timeoutMs: z
      .number()
      .int()
      .min(50)
      .max(30_000)
      .default(2000)
      .describe(
        'the request is given up after this long (an answer past lookups.budgetMs still counts for the next call)',
      ),
    maxResponseBytes: z
      .number()
      .int()
      .min(256)
      .max(10_000_000)
      .default(65_536)
      .describe('a longer answer is cut off and counts as a failure'),
    cache: z
      .object({
        answerTtlSeconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400)
          .default(86_400)
          .describe('keep an answer this long'),
        unknownTtlSeconds: z
          .number()
          .int()
          .min(1)
          .max(30 * 86_400)
          .default(21_600)
          .describe('keep "number not known" this long'),
        errorTtlSeconds: z
          .number()
          .int()
          .min(0)
          .max(86_400)
          .default(60)
          .describe('keep a failure this long, so a number is not asked again at once (0: not kept)'),
      })
      .strict()
      .prefault({})
      .describe('answers cached in Redis, shared by every daemon on it'),
    rateLimit: z
      .object({
        perSecond: z.number().min(0.01).max(10_000).default(5).describe('requests per second on average'),
        burst: z.number().int().min(1).max(10_000).default(10).describe('requests at once after a quiet spell'),
      })
      .strict()
      .prefault({})
      .describe('past it the call goes on without this provider (never queued)'),
    breaker: z
      .object({
        failures: z.number().int().min(1).max(1000).default(5).describe('this many failures in a row open the breaker'),
        openSeconds: z
          .number()
          .min(1)
          .max(3600)
          .default(30)
          .describe('no requests while open; then one trial request decides'),
      })
      .strict()
      .prefault({})
      .describe('circuit breaker: stop asking a provider that keeps failing'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.body !== undefined && p.method === 'GET')
      ctx.addIssue({ code: 'custom', path: ['body'], message: 'a body needs method: POST' });
    if (p.unknown.path !== undefined && p.unknown.equals.length === 0)
      ctx.addIssue({ code: 'custom', path: ['unknown', 'equals'], message: 'unknown.path needs the values in equals' });
    if (p.answer.score === undefined && Object.keys(p.score.categories).length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['answer', 'score'],
        message: 'give answer.score, or answer.category with score.categories: the answer must map to a score',
      });
    if (Object.keys(p.score.categories).length > 0 && p.answer.category === undefined)
      ctx.addIssue({ code: 'custom', path: ['answer', 'category'], message: 'score.categories needs answer.category' });
  });

/** lookups.budgetMs when not written: an answer in up to about a second still counts for the call itself */
export const DEFAULT_LOOKUP_BUDGET_MS = 1000;
/** screening.deadlineMs, when not written, is this much more than lookups.budgetMs once a provider is configured */
export const LOOKUP_DEADLINE_MARGIN_MS = 50;

export const lookupsSchema = z
  .object({
    budgetMs: z
      .number()
      .int()
      .min(1)
      .max(4950)
      .default(DEFAULT_LOOKUP_BUDGET_MS)
      .describe(
        'the longest the providers hold a call, from when it arrived to its route (the wait ends a little earlier: by what follows it, measured); ' +
          `with a provider configured, must be less than screening.deadlineMs (which is budgetMs + ${LOOKUP_DEADLINE_MARGIN_MS} when not written). A later answer is cached and counts for the next call from that number`,
      ),
    providers: z
      .array(providerSchema)
      .default([])
      .describe('the online services asked (none by default: no number leaves the machine)')
      .superRefine((providers, ctx) => {
        const seen = new Set<string>();
        providers.forEach((p, i) => {
          if (seen.has(p.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `provider name ${p.name} is used twice` });
          seen.add(p.name);
        });
      }),
  })
  .strict()
  .prefault({})
  .describe(
    "online lookup providers (docs/lookups.md): off until a provider is written here, since each caller's number is sent to it",
  );

export type LookupsConfig = z.output<typeof lookupsSchema>;
export type LookupProviderConfig = z.output<typeof providerSchema>;

/**
 * lookups.budgetMs must leave the decision deadline room: checked across sections when the file loads, and
 * only when a provider is configured (without one the budget is never spent, whatever the deadline).
 */
export function checkLookupBudget(
  config: { lookups: { budgetMs: number; providers: readonly unknown[] }; screening: { deadlineMs: number } },
  ctx: z.RefinementCtx,
): void {
  if (config.lookups.providers.length > 0 && config.lookups.budgetMs >= config.screening.deadlineMs)
    ctx.addIssue({
      code: 'custom',
      path: ['lookups', 'budgetMs'],
      message: `must be less than screening.deadlineMs (${config.screening.deadlineMs}): a call is decided by its deadline, lookups or not`,
    });
}
