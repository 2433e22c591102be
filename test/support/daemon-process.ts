/**
 * The real daemon as a child process (`node bin/callscreen.js run`), with a config written for the
 * test and the test bed's connection settings. Its JSON log lines are collected for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, testbed } from './testbed';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string; callId?: string };

export interface DaemonOptions {
  /** callscreen.yaml text (rules.file defaults to rules.yaml beside it) */
  config?: string;
  /** rules.yaml text */
  rules?: string;
  env?: Record<string, string>;
  /** wait for the Stasis app to be registered (default true) */
  waitForAri?: boolean;
}

export const DEFAULT_TEST_CONFIG = `
numbers:
  defaultRegion: US
screening:
  deadlineMs: 200
  timeZone: UTC
log:
  level: debug
`;

export function writeConfigDir(config: string, rules: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'callscreen-test-'));
  writeFileSync(path.join(dir, 'callscreen.yaml'), config);
  writeFileSync(path.join(dir, 'rules.yaml'), rules);
  return dir;
}

export class DaemonProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(
    readonly child: ChildProcess,
    readonly configDir: string,
  ) {
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line, level: 'raw' });
        }
        this.notify();
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.notify();
        resolve(code);
      }),
    );
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The first log line matching, waiting up to timeoutMs. */
  async waitForLog(pred: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(pred);
      if (found) return found;
      if (this.child.exitCode !== null)
        throw new Error(`daemon exited (${this.child.exitCode}) before the log line appeared; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching log line within ${timeoutMs} ms; last lines:\n${this.lines
            .slice(-8)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The 'call screened' line of the call whose channel name or caller raw number matches. */
  screenedLine(pred: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    return this.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('call screened') && pred(l), timeoutMs);
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

export function spawnDaemon(
  configDir: string,
  args: string[] = ['run', '--config', 'callscreen.yaml'],
  env: Record<string, string> = {},
): DaemonProcess {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'callscreen.js'), ...args], {
    cwd: configDir,
    env: {
      PATH: process.env.PATH ?? '',
      CALLSCREEN_ARI_URL: testbed.ariUrl,
      CALLSCREEN_ARI_USER: testbed.ariUser,
      CALLSCREEN_ARI_PASSWORD: testbed.ariPassword,
      CALLSCREEN_REDIS_URL: testbed.redisUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new DaemonProcess(child, configDir);
}

export async function startDaemon(options: DaemonOptions = {}): Promise<DaemonProcess> {
  const dir = writeConfigDir(options.config ?? DEFAULT_TEST_CONFIG, options.rules ?? 'allow: []\ndeny: []\n');
  const daemon = spawnDaemon(dir, undefined, options.env);
  if (options.waitForAri ?? true)
    await daemon.waitForLog((l) => l.msg === 'ARI connected; Stasis app registered', 15_000);
  return daemon;
}

/** Run a one-shot `callscreen` command (check, rules validate, import) in a config folder; resolves when it exits. */
export async function runCli(
  configDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = spawnDaemon(configDir, args, env);
  const code = await cli.exitCode();
  const stdout = cli.lines.map((l) => (l.level === 'raw' ? String(l.msg) : JSON.stringify(l))).join('\n');
  return { code, stdout, stderr: cli.stderr };
}

/** The start of a daemon test's callscreen.yaml: US numbers, the file's own Redis key prefix, a 500 ms deadline, UTC. */
/** A short CAPTCHA (two digits, two tries, a one-second greeting) and debug logs: the fault tests' setting. */
export const SHORT_CAPTCHA_CONFIG = `captcha:
  codeLength: 2
  attempts: 2
  digitTimeoutMs: 3000
  prompts:
    greeting: ["sound:silence/1", "sound:beep"]
log:
  level: debug
`;

export function testConfigHeader(keyPrefix: string): string {
  return `
numbers:
  defaultRegion: US
redis:
  keyPrefix: "${keyPrefix}"
screening:
  deadlineMs: 500
  timeZone: UTC
`;
}

/** The environment that points a daemon (or a command) at the test bed's AMI, for tests with ami.enabled. */
export function testbedAmiEnv(): Record<string, string> {
  return {
    CALLSCREEN_AMI_HOST: testbed.amiHost,
    CALLSCREEN_AMI_PORT: String(testbed.amiPort),
    CALLSCREEN_AMI_USER: testbed.amiUser,
    CALLSCREEN_AMI_PASSWORD: testbed.amiPassword,
  };
}

/** A daemon with ami.enabled in `config`, pointed at the test bed's AMI; resolves once it has logged in. */
export async function startDaemonWithAmi(config: string): Promise<DaemonProcess> {
  const daemon = await startDaemon({ config, env: testbedAmiEnv() });
  await daemon.waitForLog((l) => l.msg === 'AMI connected', 20_000);
  return daemon;
}

/** A daemon log line about a call from this number (its `caller.e164`), for waitForLog and screenedLine. */
export const aboutCaller =
  (e164: string) =>
  (line: LogLine): boolean =>
    (line.caller as { e164?: string } | undefined)?.e164 === e164;

/**
 * Caller numbers that never met: each call from its own number in its own number block
 * (+1312<exchange><line>, the exchange counting up from `firstExchange`), so velocity never adds points.
 */
export function freshCallers(firstExchange: number): () => string {
  let seq = 0;
  return () => {
    seq += 1;
    return `+1312${firstExchange + seq}${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
  };
}
