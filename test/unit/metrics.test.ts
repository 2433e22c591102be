/**
 * CallscreenMetrics: what each daemon event does to the counters, histograms and gauges, the bound on
 * the `did` label, and the text exposition Prometheus scrapes.
 */
import type { Decision } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { CallscreenMetrics, MAX_DID_LABELS, OTHER_DID } from '../../src/http-api/metrics';
import type { ScreenedCallRecord } from '../../src/ports/call-log';

const AT = '2026-11-23T14:05:09.250Z';

function record(
  over: { verdict?: Decision['verdict']; did?: string; call?: Partial<ScreenedCallRecord> } = {},
): ScreenedCallRecord {
  const decision: Decision = {
    verdict: over.verdict ?? 'allow',
    score: 0,
    reasons: [],
    degraded: false,
    policies: [],
    caller: normalisePhoneNumber('+1 212 555 0147', 'US'),
    did: normalisePhoneNumber(over.did ?? '+1 212 555 0100', 'US'),
    at: AT,
  };
  return {
    callId: '1700000000.42',
    at: AT,
    channel: 'PJSIP/trunk-00000001',
    decision,
    routedTo: 'agents',
    decisionMs: 3,
    host: 'pbx1',
    ...over.call,
  };
}

/** a histogram value's series name (_bucket, _sum, _count); prom-client's MetricValue type leaves it out */
const nameOf = (v: object): string | undefined => (v as { metricName?: string }).metricName;

/** the value of one series (undefined when it does not exist); histogram series by their _count/_sum/_bucket name */
async function value(
  metrics: CallscreenMetrics,
  series: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const name = series.replace(/_(count|sum|bucket)$/, '');
  const metric = metrics.registry.getSingleMetric(metrics.registry.getSingleMetric(series) ? series : name);
  if (!metric) throw new Error(`no metric ${series}`);
  const { values } = await metric.get();
  const found = values.find(
    (v) =>
      (nameOf(v) ?? series) === series &&
      Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l),
  );
  return found?.value;
}

let metrics: CallscreenMetrics;
beforeEach(() => {
  metrics = new CallscreenMetrics({ defaultMetrics: false });
});

describe('callScreened', () => {
  test('counts calls by verdict and E.164 DID', async () => {
    metrics.callScreened(record());
    metrics.callScreened(record());
    metrics.callScreened(record({ verdict: 'voicemail', did: '(212) 555-0101' }));
    expect(await value(metrics, 'callscreen_calls_total', { verdict: 'allow', did: '+12125550100' })).toBe(2);
    expect(await value(metrics, 'callscreen_calls_total', { verdict: 'voicemail', did: '+12125550101' })).toBe(1);
    expect(
      await value(metrics, 'callscreen_calls_total', { verdict: 'voicemail', did: '+12125550100' }),
    ).toBeUndefined();
  });

  test('observes the decision time and the Redis round trip in seconds; no round trip, no observation', async () => {
    metrics.callScreened(record({ call: { decisionMs: 4, historyMs: 0.8 } }));
    metrics.callScreened(record({ call: { decisionMs: 120 } }));
    expect(await value(metrics, 'callscreen_decision_duration_seconds_count')).toBe(2);
    expect(await value(metrics, 'callscreen_decision_duration_seconds_sum')).toBeCloseTo(0.124, 9);
    expect(await value(metrics, 'callscreen_decision_duration_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(await value(metrics, 'callscreen_decision_duration_seconds_bucket', { le: '0.5' })).toBe(2);
    expect(await value(metrics, 'callscreen_history_duration_seconds_count')).toBe(1);
    expect(await value(metrics, 'callscreen_history_duration_seconds_bucket', { le: '0.001' })).toBe(1);
  });

  test('the histogram buckets run from 0.5 ms to 0.5 s', async () => {
    const { values } = await metrics.registry.getSingleMetric('callscreen_decision_duration_seconds')!.get();
    const bounds = values
      .filter((v) => nameOf(v) === 'callscreen_decision_duration_seconds_bucket')
      .map((v) => v.labels.le);
    expect(bounds[0]).toBe(0.0005);
    expect(bounds.at(-2)).toBe(0.5);
    expect(bounds.at(-1)).toBe('+Inf');
  });

  test('counts CAPTCHA outcomes only for challenged calls', async () => {
    metrics.callScreened(record());
    metrics.callScreened(
      record({ verdict: 'challenge', call: { captcha: { outcome: 'passed', attempts: 1, ms: 8000 } } }),
    );
    metrics.callScreened(
      record({
        verdict: 'challenge',
        call: { captcha: { outcome: 'failed', attempts: 3, ms: 20000, failure: 'wrong' } },
      }),
    );
    metrics.callScreened(
      record({ verdict: 'challenge', call: { captcha: { outcome: 'passed', attempts: 2, ms: 12000 } } }),
    );
    expect(await value(metrics, 'callscreen_captcha_outcomes_total', { outcome: 'passed' })).toBe(2);
    expect(await value(metrics, 'callscreen_captcha_outcomes_total', { outcome: 'failed' })).toBe(1);
    expect(await value(metrics, 'callscreen_captcha_outcomes_total', { outcome: 'timeout' })).toBeUndefined();
  });

  test('counts a route Asterisk refused as a route failure, a caller who hung up first not', async () => {
    metrics.callScreened(record({ call: { routedTo: 'none', routeError: 'caller hung up before routing' } }));
    metrics.callScreened(record({ call: { routedTo: 'none', routeError: 'caller hung up during the CAPTCHA' } }));
    expect(await value(metrics, 'callscreen_route_failures_total')).toBe(0);
    metrics.callScreened(record({ call: { routedTo: 'none', routeError: 'ARI request timed out after 2000 ms' } }));
    expect(await value(metrics, 'callscreen_route_failures_total')).toBe(1);
  });

  test(`after ${MAX_DID_LABELS} distinct DIDs further ones count as "${OTHER_DID}"; known ones keep their label`, async () => {
    for (let i = 0; i < MAX_DID_LABELS; i++) metrics.callScreened(record({ did: `+1212555${String(1000 + i)}` }));
    metrics.callScreened(record({ did: '+13125550100' }));
    metrics.callScreened(record({ did: '+13125550101' }));
    metrics.callScreened(record({ did: '+12125551000' }));
    expect(await value(metrics, 'callscreen_calls_total', { verdict: 'allow', did: OTHER_DID })).toBe(2);
    expect(await value(metrics, 'callscreen_calls_total', { verdict: 'allow', did: '+12125551000' })).toBe(2);
    expect(await value(metrics, 'callscreen_calls_total', { verdict: 'allow', did: '+13125550100' })).toBeUndefined();
  });
});

describe('state gauges and reload counters', () => {
  test('redis_up and ari_connected start at 0 and follow the reported state', async () => {
    expect(await value(metrics, 'callscreen_redis_up')).toBe(0);
    expect(await value(metrics, 'callscreen_ari_connected')).toBe(0);
    metrics.redisState(true);
    metrics.ariState(true);
    expect(await value(metrics, 'callscreen_redis_up')).toBe(1);
    expect(await value(metrics, 'callscreen_ari_connected')).toBe(1);
    metrics.redisState(false);
    expect(await value(metrics, 'callscreen_redis_up')).toBe(0);
    expect(await value(metrics, 'callscreen_ari_connected')).toBe(1);
  });

  test('reload errors of the rules and of callscreen.yaml are counted apart', async () => {
    metrics.rulesReloadFailed();
    metrics.rulesReloadFailed();
    metrics.configReloadFailed();
    expect(await value(metrics, 'callscreen_rules_reload_errors_total')).toBe(2);
    expect(await value(metrics, 'callscreen_config_reload_errors_total')).toBe(1);
  });

  test('HTTP requests by route pattern and status', async () => {
    metrics.httpRequest('/api/v1/feedback', 200);
    metrics.httpRequest('/api/v1/feedback', 200);
    metrics.httpRequest('/api/v1/feedback', 401);
    expect(await value(metrics, 'callscreen_http_requests_total', { route: '/api/v1/feedback', status: '200' })).toBe(
      2,
    );
    expect(await value(metrics, 'callscreen_http_requests_total', { route: '/api/v1/feedback', status: '401' })).toBe(
      1,
    );
  });
});

describe('text exposition', () => {
  test('names every callscreen metric with HELP and TYPE, the series with their labels', async () => {
    metrics.callScreened(
      record({ verdict: 'challenge', call: { captcha: { outcome: 'passed', attempts: 1, ms: 8000 } } }),
    );
    const text = await metrics.text();
    for (const [name, type] of [
      ['callscreen_calls_total', 'counter'],
      ['callscreen_decision_duration_seconds', 'histogram'],
      ['callscreen_history_duration_seconds', 'histogram'],
      ['callscreen_captcha_outcomes_total', 'counter'],
      ['callscreen_route_failures_total', 'counter'],
      ['callscreen_redis_up', 'gauge'],
      ['callscreen_ari_connected', 'gauge'],
      ['callscreen_rules_reload_errors_total', 'counter'],
      ['callscreen_config_reload_errors_total', 'counter'],
      ['callscreen_http_requests_total', 'counter'],
    ]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(text).toContain('callscreen_calls_total{verdict="challenge",did="+12125550100"} 1\n');
    expect(text).toContain('callscreen_captcha_outcomes_total{outcome="passed"} 1\n');
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  test('the process metrics carry the callscreen_ prefix and live on this registry only', async () => {
    const withProcess = new CallscreenMetrics();
    const text = await withProcess.text();
    expect(text).toContain('# TYPE callscreen_process_cpu_seconds_total counter');
    expect(text).toContain('callscreen_nodejs_heap_size_used_bytes');
    expect(await metrics.text()).not.toContain('callscreen_process_cpu_seconds_total');
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('callscreen_calls_total')).toBeUndefined();
  });
});
