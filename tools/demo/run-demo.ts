/**
 * `npm run demo`: the daemon on the example config against the test bed's real Asterisk and Redis.
 * Loads the sample reputation feed, starts `callscreen run`, places one call of each kind into
 * Asterisk (challenged callers pass or fail the CAPTCHA: the demo types the code the daemon logs under
 * the test-only switch CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1, or wrong codes, or nothing), and prints where each call ended as Asterisk reported it (AMI UserEvents in the agents and
 * voicemail contexts), next to the daemon's verdict, reasons and timings. Exits 1 if any call did not
 * end where the configuration says it should.
 * scripts/demo brings the test bed up first and takes it down afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import { CallHarness, type CallDestination, type PlacedCall } from '../testbed/call-harness';
import { placeSipCall } from '../testbed/sip-call';
import { testbedSettings } from '../testbed/testbed-settings';
import { DEMO_CALLS, DEMO_DID, type DemoCall } from './demo-calls';
import { FEEDBACK_SOURCE, sourcesKey } from '../../src/adapters/redis/reputation-layout';
import { repoRoot } from '../repo-root';

type LogLine = Record<string, unknown> & { msg?: string; callId?: string };
interface Row {
  call: DemoCall;
  seen: CallDestination | 'not seen';
  line?: LogLine;
  stasisMs?: number;
}

const root = repoRoot;
const bin = path.join(root, 'bin', 'callscreen.js');
const env = {
  ...process.env,
  CALLSCREEN_ARI_URL: testbedSettings.ariUrl,
  CALLSCREEN_ARI_USER: testbedSettings.ariUser,
  CALLSCREEN_ARI_PASSWORD: testbedSettings.ariPassword,
  CALLSCREEN_REDIS_URL: testbedSettings.redisUrl,
};
const configFile = path.join(root, 'config', 'callscreen.yaml');

async function main(): Promise<number> {
  // the robocall list (a sample of the public-domain list; pass the whole list's path as the first
  // argument to import it instead), leaving out the FTC's own office numbers marked likely_admin=yes
  const robocallList = process.argv[2] ?? path.join(root, 'test', 'fixtures', 'robocall-caller-ids-sample.csv');
  const feeds = [
    ['import', robocallList, '--source', 'robocall', '--skip', 'likely_admin=yes'],
    ['import', path.join(root, 'config', 'sample-reputation.csv'), '--source', 'sample'],
  ];
  for (const args of feeds) {
    console.log(`\n== callscreen ${args.map((a) => (a.startsWith(root) ? path.relative(root, a) : a)).join(' ')}`);
    if (cli(args) !== 0) return 1;
  }

  // a fresh start for the callers' history (calls, CAPTCHA outcomes) from an earlier demo run: a robocaller
  // that passed the CAPTCHA last time would be trusted now and the table would differ from run to run
  console.log(`== forgetting earlier demo calls and feedback: ${await forgetCallerHistory('callscreen:')} keys`);
  console.log('== starting the daemon: callscreen run --config config/callscreen.yaml');
  const lines: LogLine[] = [];
  // CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1 (test and demo only, never in production): the daemon logs each
  // CAPTCHA code it says, so the demo can type it as the caller
  const daemon = spawn(process.execPath, [bin, 'run', '--config', configFile], {
    env: { ...env, CALLSCREEN_LOG_LEVEL: 'debug', CALLSCREEN_TEST_LOG_CAPTCHA_CODE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  daemon.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      try {
        lines.push(JSON.parse(buffer.slice(0, nl)) as LogLine);
      } catch {
        /* not a log line */
      }
      buffer = buffer.slice(nl + 1);
    }
  });
  const waitFor = async (pred: (l: LogLine) => boolean, ms: number): Promise<LogLine | undefined> => {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
      const hit = lines.find(pred);
      if (hit) return hit;
    }
    return undefined;
  };
  if (!(await waitFor((l) => l.msg === 'ARI connected; Stasis app registered', 15_000))) {
    console.error('the daemon did not connect to ARI within 15 s');
    daemon.kill('SIGKILL');
    return 1;
  }

  const harness = await CallHarness.open();
  const rows: Row[] = [];
  try {
    console.log(`== placing ${DEMO_CALLS.length} calls (to ${DEMO_DID} unless the table says otherwise)\n`);
    for (const call of DEMO_CALLS) {
      if (call.before) {
        console.log(`== callscreen ${call.before.join(' ')}`);
        if (cli(call.before) !== 0) return 1;
      }
      let seen: Row['seen'];
      let callId: string | undefined;
      if (call.sip) {
        const reached = harness.waitForEvent(
          (e) =>
            ['AgentReached', 'VoicemailReached'].includes(e.userevent ?? '') &&
            (e.calleridnum ?? e.callerid ?? '') === call.caller,
          15_000,
        );
        const sip = await placeSipCall({
          caller: call.caller,
          callerName: call.label,
          did: call.did ?? DEMO_DID,
          holdMs: 1000,
        });
        const event = await reached.catch(() => undefined);
        seen = event ? (event.userevent === 'AgentReached' ? 'agents' : 'voicemail') : 'not seen';
        callId = event?.uniqueid;
        if (sip.exitCode !== 0) console.error(`sipp exited ${sip.exitCode}: ${sip.stderr.slice(0, 300)}`);
      } else {
        const channelVars = call.attestation ? { CALLSCREEN_ATTESTATION: call.attestation } : undefined;
        const placed = await harness.placeCall({
          caller: call.caller,
          did: call.did ?? DEMO_DID,
          callerName: call.label,
          ...(channelVars ? { channelVars } : {}),
        });
        if (call.captcha) await answerCaptcha(harness, placed, call.captcha, waitFor);
        seen = await harness.waitForDestination(placed, 30_000).catch(() => 'not seen' as const);
        callId = placed.screenedUniqueId;
      }
      const line = await waitFor((l) => l.callId === callId && String(l.msg).startsWith('call screened'), 2000);
      const left = await waitFor((l) => l.callId === callId && l.msg === 'call left screening', 2000);
      const row: Row = { call, seen };
      if (line) row.line = line;
      if (typeof left?.stasisMs === 'number') row.stasisMs = left.stasisMs;
      rows.push(row);
      await harness.hangupAll((ch) => harness.ownsChannel(ch));
    }
  } finally {
    await harness.close();
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  printTable(rows);
  console.log('\n== callscreen log --since 10m --limit 8 (the screened-call log, newest last)');
  cli(['log', '--since', '10m', '--limit', '8']);
  const wrong = rows.filter((r) => r.seen !== r.call.expected);
  console.log(
    wrong.length === 0
      ? `\nall ${rows.length} calls ended where the configuration sends them`
      : `\n${wrong.length} of ${rows.length} calls did NOT end where expected`,
  );
  return wrong.length === 0 ? 0 : 1;
}

/**
 * Plays a challenged caller: reads each code the CAPTCHA says from the daemon's log (test-only switch)
 * and types it ('pass') or a wrong one ('wrong', on every attempt), or presses nothing ('silent').
 */
async function answerCaptcha(
  harness: CallHarness,
  placed: PlacedCall,
  how: 'pass' | 'wrong' | 'silent',
  waitFor: (pred: (l: LogLine) => boolean, ms: number) => Promise<LogLine | undefined>,
): Promise<void> {
  if (how === 'silent') return;
  const mine = (l: LogLine): boolean => l.callId === placed.screenedUniqueId;
  for (let attempt = 1; ; attempt++) {
    const line = await waitFor(
      (l) =>
        mine(l) && ((l.msg === 'captcha code' && l.attempt === attempt) || String(l.msg).startsWith('call screened')),
      20_000,
    );
    if (line?.msg !== 'captcha code') return; // screened: the CAPTCHA is over
    const code = String(line.code);
    await harness.pressDigits(
      placed,
      how === 'pass' ? code : [...code].map((d) => String((Number(d) + 1) % 10)).join(''),
    );
    if (how === 'pass') return;
  }
}

function printTable(rows: Row[]): void {
  const head = [
    '#',
    'call',
    'caller ID sent',
    'DID',
    'expected',
    'Asterisk saw',
    'verdict',
    'CAPTCHA',
    'score',
    'top reasons',
    'decide ms',
    'in Stasis ms',
  ];
  const body = rows.map((r, i) => [
    String(i + 1),
    r.call.label,
    JSON.stringify(r.call.caller),
    r.call.did ?? DEMO_DID,
    r.call.expected,
    r.seen === r.call.expected ? r.seen : `${r.seen} (!)`,
    `${String(r.line?.verdict ?? '?')}${r.line?.shadowVerdict ? ` (shadow: ${String(r.line.shadowVerdict)})` : ''}`,
    captchaCell(r.line?.captcha),
    String(r.line?.score ?? '?'),
    ((r.line?.top as string[] | undefined) ?? []).join(','),
    r.line?.decisionMs !== undefined ? String(r.line.decisionMs) : '?',
    r.stasisMs !== undefined ? String(r.stasisMs) : '?',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((row) => [...(row[c] ?? '')].length)));
  const fmt = (cells: string[]): string =>
    cells.map((cell, c) => cell + ' '.repeat((widths[c] ?? 0) - [...cell].length)).join('  ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(fmt(row));
  const stats = (values: number[]): string => {
    if (values.length === 0) return 'n/a';
    const sorted = [...values].sort((a, b) => a - b);
    const median =
      sorted.length % 2
        ? sorted[(sorted.length - 1) / 2]!
        : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    return `median ${median.toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms (${values.length} calls)`;
  };
  console.log(
    `\nStasisStart -> StasisEnd (Asterisk's clock): ${stats(rows.flatMap((r) => (r.stasisMs !== undefined ? [r.stasisMs] : [])))}`,
  );
  console.log(
    `StasisStart received -> route accepted (daemon): ${stats(rows.flatMap((r) => (typeof r.line?.routeMs === 'number' ? [r.line.routeMs] : [])))}`,
  );
  console.log(
    `decision time (daemon): ${stats(rows.flatMap((r) => (typeof r.line?.decisionMs === 'number' ? [r.line.decisionMs] : [])))}`,
  );
}

/** Runs `callscreen ARGS --config config/callscreen.yaml` against the test bed, printing its output; returns the exit code. */
function cli(args: string[]): number {
  const run = spawnSync(process.execPath, [bin, ...args, '--config', configFile], { env, encoding: 'utf8' });
  process.stdout.write(run.stdout + run.stderr);
  return run.status ?? 1;
}

/**
 * Deletes the per-caller history keys (`<prefix>caller:*`) and the agents' feedback in the test bed's
 * Redis, so every demo run starts alike; the imported feeds stay (each run replaces them).
 */
async function forgetCallerHistory(prefix: string): Promise<number> {
  const redis = new Redis(testbedSettings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      const forget = keys.filter(
        (k) => k.startsWith(`${prefix}caller:`) || k.startsWith(`${prefix}rep:${FEEDBACK_SOURCE}.`),
      );
      if (forget.length > 0) deleted += await redis.del(...forget);
    } while (cursor !== '0');
    await redis.hdel(sourcesKey(prefix), FEEDBACK_SOURCE);
    return deleted;
  } finally {
    redis.disconnect();
  }
}

function captchaCell(captcha: unknown): string {
  if (typeof captcha !== 'object' || captcha === null) return '';
  const { outcome, attempts, failure } = captcha as { outcome?: string; attempts?: number; failure?: string };
  return `${outcome ?? '?'}${failure ? ` (${failure})` : ''}, ${attempts ?? '?'} tr${attempts === 1 ? 'y' : 'ies'}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error('demo failed:', e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
