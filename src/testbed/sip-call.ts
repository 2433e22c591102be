/**
 * placeSipCall: one real SIP call into the test bed, the way a carrier's trunk delivers it. Spawns sipp
 * (Debian's sip-tester, installed by `scripts/testbed up`) with test/testbed/sipp/inbound-call.xml against
 * Asterisk's PJSIP endpoint pstn-trunk (127.0.0.1:<TESTBED_SIP_PORT>, context callscreen-inbound): INVITE
 * with the caller ID in the From header, ACK the answer, optional DTMF, hold, BYE. A BYE from Asterisk
 * (the call was hung up or a prompt ended it) and a rejection of the INVITE both end the call cleanly.
 *
 * Every call gets its own free local SIP port and media ports (sipp binds the even media port and +2;
 * the range 30000-39998 stays clear of the test bed's RTP range 20000-20999). RFC 4733 DTMF is played from
 * Debian's pcaps with a raw socket: that needs root, like the test bed itself.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { testbedSettings as testbed } from './testbed-settings';

export const SIPP_SCENARIO = path.resolve(__dirname, '..', '..', 'test', 'testbed', 'sipp', 'inbound-call.xml');

export interface SipCallOptions {
  /**
   * The caller ID: the user part of the From URI, as Asterisk will present it. Must not be empty (a
   * withheld number arrives from real trunks as "anonymous"). Characters a SIP URI user part cannot hold
   * are %-escaped; PJSIP unescapes them.
   */
  caller: string;
  /** display name in From; default '' */
  callerName?: string;
  /** the dialled number: Request-URI user, the extension in callscreen-inbound */
  did: string;
  /** digits (0-9 * #) sent one after another once the call is answered */
  dtmf?: string;
  /** rfc4733 (RTP telephone-events, what trunks send; default) or info (SIP INFO application/dtmf-relay) */
  dtmfMode?: 'rfc4733' | 'info';
  /** ms between the answer and the first digit; default 500 */
  dtmfDelayMs?: number;
  /** ms the caller stays on the line after the digits before hanging up */
  holdMs: number;
  /** sipp is stopped (and the call counted as failed) after this; default holdMs + 30 s + 1 s per digit */
  timeoutMs?: number;
}

export interface SipCallResult {
  /** sipp's exit code: 0 the scenario ran to its end, 1 the call failed (stderr says why), 254/255 fatal */
  exitCode: number | null;
  /** set when sipp had to be killed */
  signal: NodeJS.Signals | null;
  stderr: string;
  /** final response to the INVITE: 200 when answered, or the rejection (404, 486, 603 ...) */
  inviteStatus: number | undefined;
  /** who ended an answered call */
  hangupBy: 'caller' | 'asterisk' | undefined;
  /** the digits sipp actually sent */
  dtmfSent: string;
  sipPort: number;
  mediaPort: number;
}

/** Places one call with sipp and resolves when sipp exits (it never rejects for a failed call: read exitCode). */
export async function placeSipCall(options: SipCallOptions): Promise<SipCallResult> {
  const { caller, callerName = '', did, dtmf = '', dtmfMode = 'rfc4733', dtmfDelayMs = 500, holdMs } = options;
  if (caller === '') throw new Error('placeSipCall: caller must not be empty (real trunks send "anonymous" for a withheld number)');
  if (!/^[0-9*#]*$/.test(dtmf)) throw new Error(`placeSipCall: dtmf ${JSON.stringify(dtmf)} may hold only 0-9 * #`);
  if (/[\r\n]/.test(caller + callerName + did)) throw new Error('placeSipCall: caller, callerName and did must not contain line breaks');
  const timeoutMs = options.timeoutMs ?? holdMs + dtmfDelayMs + 30_000 + dtmf.length * 1000;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'callscreen-sipp-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const sipPort = await freeUdpPorts(40_000, 49_999, 1, 1);
      const mediaPort = await freeUdpPorts(30_000, 39_998, 4, 2);
      const logFile = path.join(dir, `calls-${attempt}.log`);
      const args = [
        `127.0.0.1:${testbed.sipPort}`,
        '-sf', SIPP_SCENARIO,
        '-s', escapeUriUser(did),
        '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort),
        '-m', '1', '-l', '1', '-nostdin',
        '-timeout', String(Math.ceil(timeoutMs / 1000)), '-timeout_error',
        '-key', 'caller', escapeUriUser(caller),
        '-key', 'callername', callerName.replace(/["\\]/g, (c) => `\\${c}`),
        '-key', 'dtmf', dtmf,
        '-key', 'dtmfmode', dtmfMode,
        '-key', 'dtmfdelay', String(dtmfDelayMs),
        '-key', 'hold', String(holdMs),
        '-trace_logs', '-log_file', logFile,
      ];
      const run = await runSipp(args, dir, timeoutMs + 5000);
      const bindFailed = run.exitCode !== 0 && /Unable to bind|bind.*(in use|failed)|Address already in use/i.test(run.stderr);
      if (bindFailed && attempt < 3) continue; // another process took a port between our check and sipp's bind
      const log = await readFile(logFile, 'utf8').catch(() => '');
      const status = /^invite-final (\d{3})$/m.exec(log);
      const hangup = /^hangup (caller|asterisk)$/m.exec(log);
      const digits = [...log.matchAll(/^dtmf (\S)/gm)].map((m) => m[1]).join('');
      return {
        ...run,
        inviteStatus: status ? Number(status[1]) : undefined,
        hangupBy: hangup ? (hangup[1] as 'caller' | 'asterisk') : undefined,
        dtmfSent: digits,
        sipPort,
        mediaPort,
      };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runSipp(args: string[], cwd: string, killAfterMs: number): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', (error) => {
      clearTimeout(killer);
      reject(new Error(`placeSipCall: could not run sipp (${error.message}); scripts/testbed up installs it (Debian package sip-tester)`, { cause: error }));
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(killer);
      resolve({ exitCode, signal, stderr });
    });
  });
}

/**
 * A random port in [from, to] (a multiple of `step`) where `count` consecutive UDP ports can be bound on
 * 127.0.0.1 right now.
 */
async function freeUdpPorts(from: number, to: number, count: number, step: number): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const base = from + randomInt(0, Math.floor((to - from) / step) + 1) * step;
    const sockets: dgram.Socket[] = [];
    let ok = true;
    for (let port = base; port < base + count && ok; port++) {
      const socket = dgram.createSocket('udp4');
      sockets.push(socket);
      ok = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, '127.0.0.1', () => resolve(true));
      });
    }
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    })));
    if (ok) return base;
  }
  throw new Error(`placeSipCall: no ${count} free UDP ports found in ${from}-${to}`);
}

/** %-escapes what RFC 3261 does not allow in a URI user part (UTF-8 bytes). */
function escapeUriUser(user: string): string {
  return [...Buffer.from(user, 'utf8')]
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}
