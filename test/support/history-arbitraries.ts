/**
 * Whatever Redis may hand the core for one call, including nonsense scores and times in the future: the
 * property tests of the decision (screen-call-robustness) and of the call-log records it becomes
 * (fuzz-call-log-records) draw from here.
 */
import fc from 'fast-check';
import type { HistoryLookup } from '../../src/domain/caller-history';

export const ms = fc.integer({ min: 0, max: 4_000_000_000_000 });
const count = (windowSeconds: number) =>
  fc.record({ windowSeconds: fc.constant(windowSeconds), calls: fc.integer({ min: 0, max: 1_000_000 }) });
export const histories: fc.Arbitrary<HistoryLookup> = fc.oneof(
  fc.constant<HistoryLookup>({ status: 'unavailable', reason: 'down' }),
  fc.record({
    status: fc.constant('found' as const),
    history: fc.record({
      reputation: fc.record({
        entries: fc.array(
          fc.record({
            score: fc.double(),
            reports: fc.integer(),
            source: fc.option(fc.constantFrom('robocall', 'manual', 'x'), { nil: undefined }),
            lastSeenAt: fc.option(ms, { nil: undefined }),
          }),
          { maxLength: 3 },
        ),
        feedback: fc.option(
          fc.record({
            spam: fc.integer({ min: 0, max: 1000 }),
            ok: fc.integer({ min: 0, max: 1000 }),
            last: fc.constantFrom('spam' as const, 'ok' as const),
            firstAt: ms,
            lastAt: ms,
          }),
          { nil: undefined },
        ),
      }),
      numberCalls: fc.tuple(count(60), count(3600)),
      blockCalls: fc.tuple(count(60)),
      captcha: fc.record({
        lastPassedAt: fc.option(ms, { nil: undefined }),
        lastFailedAt: fc.option(ms, { nil: undefined }),
        failures: fc.integer({ min: 0, max: 1000 }),
      }),
      previousCallToDidAt: fc.option(ms, { nil: undefined }),
    }),
  }),
);
// caller IDs as trunks send them: digits and separators, mixed with anything at all
