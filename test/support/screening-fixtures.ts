/**
 * Fixtures for unit tests of the screening core: a screening model compiled from a config the way the
 * loader compiles it (US numbers, UTC unless the config says otherwise), and a history Redis "found".
 */
import { configSchema } from '../../src/config/schema';
import type { CallerHistory, HistoryLookup } from '../../src/domain/caller-history';
import { compileScreening, type ScreeningModel } from '../../src/domain/screening-policy';

/** The model of `config` (callscreen.yaml's shape): defaultRegion US, screening.timeZone UTC unless given. */
export function compileTestModel(config: Record<string, unknown> = {}): ScreeningModel {
  const parsed = configSchema.parse({
    numbers: { defaultRegion: 'US' },
    ...config,
    screening: { timeZone: 'UTC', ...(config.screening as object | undefined) },
  });
  const { model, problems } = compileScreening(parsed);
  if (problems.length) throw new Error(JSON.stringify(problems));
  return model;
}

/** A history Redis answered with: nothing listed, this call the only one in its windows, plus `h`. */
export function foundHistory(h: Partial<CallerHistory> = {}): HistoryLookup {
  return {
    status: 'found',
    history: {
      reputation: { entries: [] },
      numberCalls: [
        { windowSeconds: 60, calls: 1 },
        { windowSeconds: 3600, calls: 1 },
      ],
      blockCalls: [{ windowSeconds: 60, calls: 1 }],
      captcha: { failures: 0 },
      didsCalled: 1,
      ...h,
    },
  };
}
