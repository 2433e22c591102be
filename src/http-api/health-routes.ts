/**
 * Health, readiness and metrics on the daemon's HTTP server:
 *
 *   GET /healthz   public   200 { status: 'ok' } while the process runs and serves HTTP
 *   GET /readyz    public   200 { ready: true, ari: 'connected', redis: 'ready' } when the Stasis app is
 *                           registered and the Redis connection is ready; else 503 { ready: false, ari, redis }
 *                           with each one's state (e.g. redis: 'reconnecting'), so the one that is not
 *                           ready shows
 *                           Either answer carries `warnings` (strings) when something is wrong that
 *                           does not stop screening, e.g. "reputation list vanished: robocall (feed, had
 *                           1375 numbers): ..." (Redis lost the list; calls are screened without it)
 *   GET /metrics   authenticated (like every other route): Prometheus text format, see metrics.ts
 *
 * Readiness is "can screen calls in full": without ARI no call reaches the daemon (the dialplan falls
 * back to the agents), without Redis calls are screened degraded. A vanished reputation list is a
 * warning, not unreadiness: the daemon screens as well as it can without it (rules, CAPTCHA, history),
 * and a 503 would only make an orchestrator restart or drain a daemon that a restart does not mend. Neither answer is cached: each request
 * reads the current state. Every request to the server is counted in callscreen_http_requests_total.
 */
import type { FastifyInstance } from 'fastify';
import type { CallscreenMetrics } from './metrics';

export const HEALTHZ_PATH = '/healthz';
export const READYZ_PATH = '/readyz';
export const METRICS_PATH = '/metrics';

/** The states readiness is read from: the ARI adapter's (AriPort.state) and the Redis client's (ioredis `status`). */
export interface ReadinessState {
  ari: string;
  redis: string;
  /** what is wrong without making the daemon unready (in the answer only when there is one) */
  warnings?: readonly string[];
}

export type ReadinessSource = () => ReadinessState;

export interface HealthRoutesDeps {
  metrics: CallscreenMetrics;
  readiness: ReadinessSource;
}

export function isReady(state: ReadinessState): boolean {
  return state.ari === 'connected' && state.redis === 'ready';
}

export function registerHealthRoutes(app: FastifyInstance, deps: HealthRoutesDeps): void {
  const { metrics, readiness } = deps;
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest(request.routeOptions.url ?? 'unmatched', reply.statusCode);
  });
  app.get(HEALTHZ_PATH, { config: { public: true } }, async (_request, reply) =>
    reply.code(200).header('cache-control', 'no-store').send({ status: 'ok' }),
  );
  app.get(READYZ_PATH, { config: { public: true } }, async (_request, reply) => {
    const state = readiness();
    const ready = isReady(state);
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({
        ready,
        ari: state.ari,
        redis: state.redis,
        ...(state.warnings && state.warnings.length > 0 ? { warnings: state.warnings } : {}),
      });
  });
  app.get(METRICS_PATH, async (_request, reply) => {
    const text = await metrics.text();
    return reply.code(200).header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
