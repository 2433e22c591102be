/**
 * A vanished reputation list is loud: the source table's watch (src/adapters/redis/reputation-source-table.ts)
 * tells this alarm when a source that had numbers is gone from Redis (src/domain/vanished-sources.ts), and
 * the alarm says it three ways: one error line per source when it is found gone (an info line when it is
 * back), the gauge callscreen_reputation_source_vanished{source}, and a warning in GET /readyz. The
 * expectation is kept in reputation-expected.json beside callscreen.yaml, so a Redis that comes back empty
 * together with the daemon (a host reboot) is noticed too. Calls are screened meanwhile without the list
 * (failing open): listed numbers are not recognised until the source is imported again.
 */
import type { SourceTableWatch } from '../adapters/redis/reputation-source-table';
import type { LoadedConfig } from '../config/load-config';
import { describeVanished, type VanishedSource } from '../domain/vanished-sources';
import type { CallscreenMetrics } from '../http-api/metrics';
import type { Logger } from '../ports/logger';
import { ExpectedSourcesFile, expectedSourcesPath, readExpectedSources } from '../reputation/expected-sources-file';

export interface VanishedListAlarm {
  /** handed to the source table */
  watch: SourceTableWatch;
  /** the readiness warnings: one per vanished source */
  warnings(): string[];
}

export function vanishedListAlarm(
  loaded: Pick<LoadedConfig, 'file'>,
  logger: Logger,
  metrics: Pick<CallscreenMetrics, 'reputationSourcesVanished'>,
): VanishedListAlarm {
  const path = expectedSourcesPath(loaded);
  const { expected, problem } = readExpectedSources(path);
  if (problem)
    logger.warn(
      { file: path, problem },
      'reputation: the expected sources file is not readable; starting from what Redis holds now',
    );
  const file = new ExpectedSourcesFile(path, logger, expected);
  let open: readonly VanishedSource[] = [];
  return {
    watch: {
      expected,
      onExpected: (next) => void file.write(next),
      onIncidents: (step) => {
        open = step.open;
        metrics.reputationSourcesVanished(open.map((s) => s.name));
        for (const s of step.opened)
          logger.error(
            {
              source: s.name,
              kind: s.kind,
              entries: s.entries,
              gen: s.gen,
              importedAt: new Date(s.importedAt).toISOString(),
              vanishedAt: new Date(s.vanishedAt).toISOString(),
              reason: s.reason,
            },
            `reputation list vanished: ${describeVanished(s)}; its numbers are not recognised until it is imported again (callscreen import); see docs/operations.md, "Redis persistence"`,
          );
        for (const s of step.resolved)
          logger.info({ source: s.name, kind: s.kind }, `reputation source ${s.name} is back`);
      },
    },
    warnings: () => open.map((s) => `reputation list vanished: ${describeVanished(s)}`),
  };
}
