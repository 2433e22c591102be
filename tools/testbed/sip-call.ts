/**
 * placeSipCall: one real SIP call into the test bed, the way a carrier's trunk delivers it. Spawns sipp
 * (Debian's sip-tester, installed by `scripts/testbed up`) with test/testbed/sipp/inbound-call.xml against
 * Asterisk's PJSIP endpoint pstn-trunk (127.0.0.1:<TESTBED_SIP_PORT>, context callscreen-inbound): INVITE
 * with the caller ID in the From header, ACK the answer, optional DTMF, hold, BYE. A BYE from Asterisk
 * (the call was hung up or a prompt ended it) and a rejection of the INVITE both end the call cleanly.
 *
 * Digits known only once the call is up (a CAPTCHA code the IVR says): startSipCall runs the same scenario in
 * its control mode and gives a handle whose sendDtmf(digits) and hangup() reach sipp during the call as a
 * SIP MESSAGE to sipp's own port (the call's Call-ID, fixed with -cid_str; see the scenario's comment).
 *
 * RFC 4733 digits: Asterisk drops a telephone-event whose RTP timestamp is not later than the last one's,
 * and Debian's pcaps have fixed timestamps (so "21" or "22" played from them loses a digit). Each call
 * therefore runs a copy of the scenario whose pcaps are Debian's, renumbered per position in the call: the
 * n-th digit gets later sequence numbers and a later timestamp than the (n-1)-th, whichever digits they are.
 *
 * Every call gets its own free local SIP port and media ports (sipp binds the even media port and +2;
 * the range 30000-39998 stays clear of the test bed's RTP range 20000-20999). RFC 4733 DTMF is played from
 * Debian's pcaps with a raw socket: that needs root, like the test bed itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { testbedSettings as testbed } from './testbed-settings';
import { repoRoot } from '../repo-root';

export const SIPP_SCENARIO = path.join(repoRoot, 'test', 'testbed', 'sipp', 'inbound-call.xml');
/** Debian's sip-tester: one RFC 4733 event per file, dtmf_2833_<0-9|star|pound>.pcap */
const DEBIAN_DTMF_PCAPS = '/usr/share/sip-tester';
const DTMF_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'] as const;

export interface SipCallOptions {
  /**
   * The caller ID: the user part of the From URI, as Asterisk will present it. Must not be empty (a
   * withheld number arrives from real trunks as "anonymous"). Characters a SIP URI user part cannot hold
   * are %-escaped; PJSIP unescapes them.
   */
  caller: string;
  /** display name in From; default '' */
  callerName?: string;
  /**
   * URI parameters after the caller in From's user part, as carriers add them: ";verstat=TN-Validation-Failed".
   * Each ";name=value" of letters, digits and "-"; default none.
   */
  fromParams?: string;
  /** the value of a P-Asserted-Identity header (e.g. "<sip:+12125551234;verstat=TN-Validation-Passed@carrier;user=phone>"); default none */
  pai?: string;
  /** the value of a Diversion header: who forwarded the call (e.g. "<sip:+12125550999@carrier>;reason=unconditional"); default none */
  diversion?: string;
  /** the value of a Privacy header (RFC 3323/3325, e.g. "id": hide the asserted identity); default none */
  privacy?: string;
  /**
   * the loopback address the call comes from: 127.0.0.1 is the test bed's trunk pstn-trunk (default),
   * 127.0.0.2 its second trunk ch-trunk (a Swiss carrier: numbers.endpointRegions tests), 127.0.0.3 the
   * agent's phone agent100 (it dials from [testbed-phones]: the spam key), 127.0.0.4 the FreePBX-shaped
   * trunk freepbx-trunk (its calls enter [from-pstn] of test/testbed/asterisk/freepbx.conf)
   */
  fromAddress?: '127.0.0.1' | '127.0.0.2' | '127.0.0.3' | '127.0.0.4';
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
  const { dtmf = '', dtmfDelayMs = 500, holdMs } = options;
  if (!/^[0-9*#]*$/.test(dtmf)) throw new Error(`placeSipCall: dtmf ${JSON.stringify(dtmf)} may hold only 0-9 * #`);
  const timeoutMs = options.timeoutMs ?? holdMs + dtmfDelayMs + 30_000 + dtmf.length * 1000;
  return runCall({ ...options, dtmf, dtmfDelayMs, timeoutMs, positions: dtmf.length }, undefined);
}

export type ControlledSipCallOptions = Omit<SipCallOptions, 'dtmf' | 'dtmfDelayMs' | 'holdMs' | 'timeoutMs'> & {
  /** sipp is stopped (and the call counted as failed) after this; default 60 s */
  timeoutMs?: number;
  /** most digits sendDtmf may send over the whole call (RFC 4733 needs a pcap per position); default 24 */
  maxDigits?: number;
};

/** A call in progress whose caller is driven by the test (startSipCall). */
export interface SipCall {
  /** the call's SIP Call-ID */
  readonly callId: string;
  /**
   * Sends these digits now (in the call's dtmfMode, ~400 ms apart for RFC 4733, one INFO each for info);
   * resolves once sipp has sent the last one. Rejects if the call is not up or sipp does not answer.
   */
  sendDtmf(digits: string): Promise<void>;
  /** The caller hangs up (BYE) now; resolves with the result once sipp exited (at once if it already had). */
  hangup(): Promise<SipCallResult>;
  /** Cleanup after a failed test: hangs up if sipp still runs (it is killed if it does not take that) and resolves with the result. */
  close(): Promise<SipCallResult>;
  /** Settles when sipp exits. */
  readonly result: Promise<SipCallResult>;
}

/**
 * Starts one call whose DTMF is decided while it runs (sipp in control mode): resolves at once, before the
 * INVITE is answered. Send the digits once the other side is ready for them (e.g. after the daemon logged
 * the CAPTCHA code), then hangup(); a BYE from Asterisk ends the call too.
 */
export function startSipCall(options: ControlledSipCallOptions): SipCall {
  const token = randomBytes(6).toString('hex');
  const control = new SipControl(`callscreen-${token}-1@127.0.0.1`);
  const maxDigits = options.maxDigits ?? 24;
  let digitsLeft = maxDigits;
  let settled = false;
  const result = runCall(
    { ...options, dtmf: '', dtmfDelayMs: 0, holdMs: 0, timeoutMs: options.timeoutMs ?? 60_000, positions: maxDigits },
    control,
  ).finally(() => {
    settled = true;
    control.close();
  });
  result.catch(() => undefined); // read through the handle
  return {
    callId: control.callId,
    result,
    sendDtmf: async (digits) => {
      if (!/^[0-9*#]+$/.test(digits))
        throw new Error(`sendDtmf: ${JSON.stringify(digits)} may hold only 0-9 * # (and at least one)`);
      if (settled) throw new Error('sendDtmf: the call has ended');
      if (digits.length > digitsLeft)
        throw new Error(`sendDtmf: more than maxDigits (${maxDigits}) digits in one call`);
      digitsLeft -= digits.length;
      await control.command(`dtmf=${digits}`, 5000 + digits.length * 1000, result);
    },
    hangup: async () => {
      if (!settled) await control.command('hangup', 5000, result).catch(() => undefined); // it may just have ended
      return result;
    },
    close: async () => {
      if (!settled) await control.command('hangup', 2000, result).catch(() => control.kill());
      return result;
    },
  };
}

/** A far end that answers one call: what an outbound call from the test bed reaches (answerOneSipCall). */
export interface AnsweringSipPeer {
  /** its SIP port on 127.0.0.1: dial sip:<number>@127.0.0.1:<port> */
  readonly port: number;
  /** settles with sipp's exit code once the call ended (0: answered, then a BYE taken) */
  readonly done: Promise<number | null>;
  /** stops it whatever state it is in, and removes its files */
  close(): Promise<void>;
}

/** Starts sipp's built-in UAS on a free UDP port of 127.0.0.1: it answers one INVITE and waits for the BYE. */
export async function answerOneSipCall(): Promise<AnsweringSipPeer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'callscreen-uas-'));
  const port = await freeUdpPorts(40_000, 49_999, 1, 1);
  const child = spawn('sipp', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin'], {
    cwd: dir,
    stdio: 'ignore',
  });
  const done = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done;
    await rm(dir, { recursive: true, force: true });
  };
  // answer only once sipp listens: an INVITE sent to a port not bound yet is refused (ICMP), and the
  // dial to this phone fails. A fixed pause was not enough on a loaded machine (full CI, coverage on).
  if (!(await untilUdpPortBound(port, child, 10_000))) {
    await close();
    throw new Error(`answerOneSipCall: sipp did not listen on UDP port ${port} within 10 s`);
  }
  return { port, done, close };
}

async function runCall(
  options: SipCallOptions & {
    dtmf: string;
    dtmfDelayMs: number;
    timeoutMs: number;
    /** digits the RFC 4733 pcaps cover */ positions: number;
  },
  control: SipControl | undefined,
): Promise<SipCallResult> {
  const {
    caller,
    callerName = '',
    fromParams = '',
    did,
    dtmf,
    dtmfMode = 'rfc4733',
    dtmfDelayMs,
    holdMs,
    timeoutMs,
  } = options;
  if (caller === '')
    throw new Error('placeSipCall: caller must not be empty (real trunks send "anonymous" for a withheld number)');
  if (
    /[\r\n]/.test(caller + callerName + did + (options.pai ?? '') + (options.diversion ?? '') + (options.privacy ?? ''))
  )
    throw new Error('placeSipCall: caller, callerName, did, pai, diversion and privacy must not contain line breaks');
  // the scenario's [identity] is one header line, or several joined with CRLF (sipp sends the value as it is)
  const identity = [
    ...(options.pai !== undefined ? [`P-Asserted-Identity: ${options.pai}`] : []),
    ...(options.diversion !== undefined ? [`Diversion: ${options.diversion}`] : []),
    ...(options.privacy !== undefined ? [`Privacy: ${options.privacy}`] : []),
  ];
  if (!/^(;[A-Za-z0-9-]+=[A-Za-z0-9-]+)*$/.test(fromParams))
    throw new Error(`placeSipCall: fromParams ${JSON.stringify(fromParams)} is not a list of ";name=value"`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'callscreen-sipp-'));
  try {
    const scenario = await writeScenario(dir, options.positions);
    for (let attempt = 1; ; attempt++) {
      const sipPort = await freeUdpPorts(40_000, 49_999, 1, 1);
      const mediaPort = await freeUdpPorts(30_000, 39_998, 4, 2);
      const logFile = path.join(dir, `calls-${attempt}.log`);
      const args = [
        `127.0.0.1:${testbed.sipPort}`,
        '-sf',
        scenario,
        '-s',
        escapeUriUser(did),
        '-i',
        options.fromAddress ?? '127.0.0.1',
        '-p',
        String(sipPort),
        '-mp',
        String(mediaPort),
        '-m',
        '1',
        '-l',
        '1',
        '-nostdin',
        '-timeout',
        String(Math.ceil(timeoutMs / 1000)),
        '-timeout_error',
        '-key',
        'caller',
        escapeUriUser(caller),
        '-key',
        'callername',
        callerName.replace(/["\\]/g, (c) => `\\${c}`),
        '-key',
        'dtmf',
        dtmf,
        '-key',
        'dtmfmode',
        dtmfMode,
        '-key',
        'dtmfdelay',
        String(dtmfDelayMs),
        '-key',
        'hold',
        String(holdMs),
        '-key',
        'control',
        control ? '1' : '0',
        '-key',
        'fromparams',
        fromParams,
        '-key',
        'identity',
        identity.length > 0 ? identity.join('\r\n') : 'X-Callscreen-Identity: none',
        ...(control ? ['-cid_str', control.callId.replace('-1@127.0.0.1', '-%u@%s')] : []),
        '-trace_logs',
        '-log_file',
        logFile,
      ];
      const run = await runSipp(args, dir, timeoutMs + 5000, (child) => control?.attach(child, sipPort, logFile));
      const bindFailed =
        run.exitCode !== 0 && /Unable to bind|bind.*(in use|failed)|Address already in use/i.test(run.stderr);
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

function runSipp(
  args: string[],
  cwd: string,
  killAfterMs: number,
  started: (child: ChildProcess) => void,
): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    started(child);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', (error) => {
      clearTimeout(killer);
      reject(
        new Error(
          `placeSipCall: could not run sipp (${error.message}); scripts/testbed up installs it (Debian package sip-tester)`,
          { cause: error },
        ),
      );
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(killer);
      resolve({ exitCode, signal, stderr });
    });
  });
}

/**
 * The scenario for one call, in `dir`: inbound-call.xml with its RFC 4733 block replaced by one that plays,
 * for the n-th digit of the call (dtmf_pos n), a copy of Debian's pcap for that digit renumbered for
 * position n (see the file comment). `positions` >= 1 (the block must use the scenario's is_<digit> flags).
 */
async function writeScenario(dir: string, positions: number): Promise<string> {
  positions = Math.max(1, positions);
  const template = await readFile(SIPP_SCENARIO, 'utf8');
  const block = /^ *<!-- rfc4733 pcaps: begin[\s\S]*?<!-- rfc4733 pcaps: end -->\n/m;
  if (!block.test(template)) throw new Error(`placeSipCall: ${SIPP_SCENARIO} has no "rfc4733 pcaps" block`);
  const pcapDir = path.join(dir, 'rfc4733');
  await mkdir(pcapDir);
  const flag = (key: string): string => (key === '*' ? 'star' : key === '#' ? 'pound' : key);
  const sources = new Map<string, Buffer>();
  for (const key of DTMF_KEYS)
    sources.set(key, await readFile(path.join(DEBIAN_DTMF_PCAPS, `dtmf_2833_${flag(key)}.pcap`)));
  const lines = ['  <!-- rfc4733 pcaps (generated by sip-call.ts): the digit at position dtmf_pos -->'];
  for (let at = 0; at < positions; at++) {
    lines.push(
      `  <nop hide="true"><action><test assign_to="dtmf_at" variable="dtmf_pos" compare="equal" value="${at}"/></action></nop>`,
    );
    lines.push(`  <nop hide="true" test="dtmf_at" next="rfc4733_${at}"/>`);
  }
  lines.push('  <nop hide="true" next="rfc4733_played"/>');
  for (let at = 0; at < positions; at++) {
    lines.push(`  <label id="rfc4733_${at}"/>`);
    for (const key of DTMF_KEYS) {
      const file = path.join(pcapDir, `${at}-${flag(key)}.pcap`);
      await writeFile(file, renumberRtpEvent(sources.get(key) as Buffer, at));
      lines.push(
        `  <nop hide="true" condexec="is_${flag(key)}"><action><exec play_pcap_audio="${file}"/></action></nop>`,
      );
    }
    lines.push('  <nop hide="true" next="rfc4733_played"/>');
  }
  lines.push('  <label id="rfc4733_played"/>');
  const file = path.join(dir, 'inbound-call.xml');
  await writeFile(file, template.replace(block, `${lines.join('\n')}\n`));
  return file;
}

/**
 * A copy of a one-event RFC 4733 pcap (Ethernet/IPv4/UDP/RTP, as Debian ships them) for the `at`-th digit
 * of a call: sequence numbers from 1000 + 16 * at (the packets keep their order and the repeated end
 * packets their shared number) and timestamp 8000 * (at + 1): one event, one timestamp (RFC 4733 2.5.1).
 */
function renumberRtpEvent(pcap: Buffer, at: number): Buffer {
  const out = Buffer.from(pcap);
  if (out.readUInt32LE(0) !== 0xa1b2c3d4 || out.readUInt32LE(20) !== 1)
    throw new Error('renumberRtpEvent: not a little-endian Ethernet pcap');
  const rtp = 14 + 20 + 8;
  let firstSeq: number | undefined;
  for (let offset = 24; offset + 16 <= out.length;) {
    const length = out.readUInt32LE(offset + 8);
    const packet = offset + 16;
    if (length < rtp + 16 || out.readUInt8(packet + 23) !== 17 || out.readUInt8(packet + rtp) >> 6 !== 2)
      throw new Error('renumberRtpEvent: a packet is not RTP over UDP/IPv4');
    const seq = out.readUInt16BE(packet + rtp + 2);
    firstSeq ??= seq;
    out.writeUInt16BE((1000 + 16 * at + ((seq - firstSeq + 0x10000) % 0x10000)) % 0x10000, packet + rtp + 2);
    out.writeUInt32BE(8000 * (at + 1), packet + rtp + 4);
    out.writeUInt16BE(0, packet + 14 + 20 + 6); // no UDP checksum (sipp rewrites the ports anyway)
    offset = packet + length;
  }
  return out;
}

/**
 * The test's side of a controlled call: one UDP socket that sends the scenario's control messages (SIP
 * MESSAGE, body `dtmf=<digits>` or `hangup`) to sipp's SIP port and waits for sipp's 200 OK, which the
 * scenario sends once it has done what was asked. Never retransmitted: sipp would take a second copy that
 * arrives while it sends digits for an unexpected message and abort the call (loopback UDP does not drop).
 */
class SipControl {
  private socket: dgram.Socket | undefined;
  private child: ChildProcess | undefined;
  private sipPort = 0;
  private logFile = '';
  private cseq = 0;
  /** sipp has taken the final answer to its INVITE (logged it): commands may go from then on */
  private answered = false;
  /** one command at a time: the scenario takes the next only after answering the last */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly callId: string) {}

  attach(child: ChildProcess, sipPort: number, logFile: string): void {
    this.child = child;
    this.sipPort = sipPort;
    this.logFile = logFile;
    this.answered = false;
  }

  command(body: string, timeoutMs: number, ended: Promise<unknown>): Promise<void> {
    const run = this.queue.then(() => this.send(body, timeoutMs, ended));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async send(body: string, timeoutMs: number, ended: Promise<unknown>): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null)
      throw new Error(`SIP call control: sipp is not running (${body})`);
    await this.untilAnswered(body, timeoutMs, ended);
    const socket = (this.socket ??= await new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(s));
    }));
    const cseq = ++this.cseq;
    const message = [
      `MESSAGE sip:sipp@127.0.0.1:${this.sipPort} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK-callscreen-control-${cseq}`,
      'From: <sip:test@127.0.0.1>;tag=callscreen-control',
      'To: <sip:sipp@127.0.0.1>',
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} MESSAGE`,
      'Max-Forwards: 70',
      'Content-Type: text/plain',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    let onMessage: ((data: Buffer) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      onMessage = (data) => {
        const text = data.toString('utf8');
        if (/^SIP\/2\.0 200 /.test(text) && new RegExp(`^CSeq:\\s*${cseq} MESSAGE`, 'mi').test(text)) resolve();
      };
      socket.on('message', onMessage);
      timer = setTimeout(
        () => reject(new Error(`SIP call control: sipp did not answer "${body}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      ended.then(
        () => reject(new Error(`SIP call control: the call ended before sipp answered "${body}"`)),
        () => reject(new Error(`SIP call control: sipp failed before it answered "${body}"`)),
      );
    });
    try {
      await new Promise<void>((resolve, reject) =>
        socket.send(message, this.sipPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
      await answered;
    } finally {
      clearTimeout(timer);
      if (onMessage) socket.off('message', onMessage);
    }
  }

  /**
   * Waits until sipp has logged the final answer to its INVITE. Asterisk's own events can report the call
   * answered before sipp has read the 200 OK; a MESSAGE arriving in that moment is taken as unexpected
   * (the scenario jumps past the 200, never ACKs it and never logs it).
   */
  private async untilAnswered(body: string, timeoutMs: number, ended: Promise<unknown>): Promise<void> {
    let over = false;
    void ended.finally(() => (over = true)).catch(() => undefined);
    for (const until = Date.now() + timeoutMs; !this.answered;) {
      const log = await readFile(this.logFile, 'utf8').catch(() => '');
      if (/^invite-final \d{3}$/m.test(log)) this.answered = true;
      else if (over) throw new Error(`SIP call control: the call ended before sipp was answered ("${body}")`);
      else if (Date.now() > until)
        throw new Error(`SIP call control: sipp was not answered within ${timeoutMs} ms ("${body}")`);
      else await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
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
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            try {
              s.close(() => resolve());
            } catch {
              resolve(); // never bound
            }
          }),
      ),
    );
    if (ok) return base;
  }
  throw new Error(`placeSipCall: no ${count} free UDP ports found in ${from}-${to}`);
}

/**
 * Waits until a UDP socket is bound to 127.0.0.1:port or 0.0.0.0:port (Linux: /proc/net/udp, read only, so
 * the probe never takes the port from the process about to bind it); false when the child exits first or
 * the time is up.
 */
async function untilUdpPortBound(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const listening = new RegExp(`^\\s*\\d+: (0100007F|00000000):${hexPort} `, 'm');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (listening.test(await readFile('/proc/net/udp', 'utf8'))) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
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
