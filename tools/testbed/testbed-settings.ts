/**
 * Where the test bed (scripts/testbed) listens. The values match scripts/testbed; the CALLSCREEN_*
 * variables (the same names the daemon reads) override them. Used by the demo and the tests.
 */
export const testbedSettings = {
  ariUrl: process.env.CALLSCREEN_ARI_URL ?? 'http://127.0.0.1:18088',
  ariUser: process.env.CALLSCREEN_ARI_USER ?? 'callscreen',
  ariPassword: process.env.CALLSCREEN_ARI_PASSWORD ?? 'callscreen-test-secret',
  amiHost: process.env.CALLSCREEN_AMI_HOST ?? '127.0.0.1',
  amiPort: Number(process.env.CALLSCREEN_AMI_PORT ?? 15038),
  amiUser: process.env.CALLSCREEN_AMI_USER ?? 'callscreen',
  amiPassword: process.env.CALLSCREEN_AMI_PASSWORD ?? 'callscreen-test-secret',
  redisUrl: process.env.CALLSCREEN_REDIS_URL ?? 'redis://127.0.0.1:16379',
  sipPort: Number(process.env.TESTBED_SIP_PORT ?? 15060),
} as const;
