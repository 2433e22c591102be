/**
 * CallHarness: places calls into the test bed's real Asterisk over AMI (AsteriskManagerAmi) and observes
 * where they end, from Asterisk's own events, never from the daemon's word.
 *
 * A call is an async AMI Originate of `Local/<did>@callscreen-inbound`:
 *   ;1 "caller" half  -> context testbed-caller, exten s (answers, waits 30 s like a person, hangs up)
 *   ;2 "screened" half -> runs [callscreen-inbound]: Stasis(callscreen), or the dialplan fallback
 * Both halves get Uniqueids chosen here (Originate ChannelId / OtherChannelId): `<testId>-caller` and
 * `<testId>-screened`; the screened one is also the channel id the daemon sees in ARI. Every call also
 * carries `__CS_TEST_ID=<testId>` (inherited by channels it spawns; Local halves copy all variables, so
 * the screened half has it too), which the test bed's AgentReached / VoicemailReached UserEvents report
 * as `TestId` — events are matched to a call by Uniqueid or TestId, never by the caller number, so
 * garbage or duplicate caller IDs are fine.
 *
 * Caller ID: Originate's CallerID header is NOT used. Asterisk runs it through ast_callerid_parse and
 * ast_shrink_phone_number ("+1 (555) 123-45.67" arrives as "+15551234567") and applies it after the
 * channel variables. Instead the caller half gets CONNECTEDLINE(num,i) / CONNECTEDLINE(name,i) via
 * Originate Variables (values backslash-escaped for Asterisk's argument parser); a Local channel's ;2 half
 * takes its caller ID from the ;1 half's connected line, so the dialplan and ARI see exactly the string
 * given, unicode and punctuation included. Verified on Asterisk 22: ${CALLERID(num)}, the AMI
 * CallerIDNum and ARI caller.number are the string given, with two exceptions Asterisk imposes:
 * leading/trailing blanks are trimmed, and an empty caller ID is presented as '' in the dialplan and ARI
 * (caller.number "") but as "<unknown>" in AMI's CallerIDNum. (The test bed's UserEvent `CallerID:`
 * header is dialplan-expanded, so a caller ID with a comma is cut there; CallerIDNum is not.)
 *
 * Destinations, read from Asterisk (see waitForDestination): UserEvent AgentReached -> 'agents',
 * VoicemailReached -> 'voicemail', a Hangup of the screened half before either -> 'hangup'. The
 * AgentReached event also reports the tags the daemon set (Verdict, Score, Reasons with | for ',',
 * Captcha, CallerName, Userfield); destinationEvent(call) returns it.
 *
 * The caller's keys: pressDigits(call, '42') plays DTMF on the caller half (AMI PlayDTMF), as a person
 * pressing keys would; the screened half in Stasis receives them (ChannelDtmfReceived).
 */
import { randomBytes } from 'node:crypto';
import { AsteriskManagerAmi, type AsteriskManagerAmiOptions } from '../../src/adapters/ami/asterisk-manager-ami';
import { AmiActionError } from '../../src/errors/ami-action-error';
import type { AmiMessage, AmiPort } from '../../src/ports/ami';
import { testbedSettings as testbed } from './testbed-settings';

export type CallDestination = 'agents' | 'voicemail' | 'hangup';

export interface PlaceCallOptions {
  /** the caller ID number Asterisk presents; any string without CR/LF ('' , 'anonymous', unicode ...) */
  caller: string;
  /** the dialled number (the DID); the extension in callscreen-inbound */
  did: string;
  /** the context the screened half starts in; default callscreen-inbound (from-pstn: the FreePBX-shaped trunk context) */
  context?: string;
  /** caller ID name; default '' */
  callerName?: string;
  /** extra channel variables set on the caller half (copied to the screened half); `__NAME` is inherited further */
  channelVars?: Record<string, string>;
  /** how long the caller half waits for the screened half to answer (Originate Timeout); default 30000 */
  answerTimeoutMs?: number;
}

export interface PlacedCall {
  /** unique per call; the screened half and everything it spawns carry it as ${CS_TEST_ID} */
  readonly testId: string;
  readonly caller: string;
  readonly callerName: string;
  readonly did: string;
  /** Uniqueid (= ARI channel id) of Local/<did>@callscreen-inbound-…;2, the half that runs the dialplan */
  readonly screenedUniqueId: string;
  /** Uniqueid of the ;1 half sitting in testbed-caller */
  readonly callerUniqueId: string;
  /** ActionID of the Originate (its OriginateResponse event carries it) */
  readonly actionId: string;
}

/** How many events the harness remembers for waitForEvent / waitForDestination. */
const HISTORY_LIMIT = 20_000;
/** AMI connections used for the callers' keys (pressDigits). */
const KEY_CONNECTIONS = 8;

function amiSettings(options: Partial<AsteriskManagerAmiOptions> = {}): AsteriskManagerAmiOptions {
  return {
    host: testbed.amiHost,
    port: testbed.amiPort,
    username: testbed.amiUser,
    password: testbed.amiPassword,
    connectTimeoutMs: 90_000,
    reconnectMaxDelayMs: 1000,
    ...options,
  };
}

export class CallHarness {
  /** events received since open(), oldest first (bounded) */
  private readonly history: AmiMessage[] = [];
  private readonly waiters = new Set<(event: AmiMessage) => void>();
  private readonly tag = randomBytes(3).toString('hex');
  private seq = 0;
  private closing: Promise<void> | undefined;
  private interruptionCount = 0;

  /** extra AMI connections for pressDigits (opened on first use), see keyConnection */
  private readonly keyAmis: Array<Promise<AmiPort>> = [];

  private constructor(
    readonly ami: AmiPort,
    private readonly amiOptions: AsteriskManagerAmiOptions = amiSettings(),
  ) {
    ami.on('event', (event) => {
      this.history.push(event);
      if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
      if (event.event === 'Shutdown') this.interruptionCount += 1;
      for (const waiter of [...this.waiters]) waiter(event);
    });
    ami.on('state', (change) => {
      if (change.state === 'reconnecting') this.interruptionCount += 1;
    });
    ami.on('error', () => undefined); // socket errors during Asterisk restarts: the adapter reconnects
  }

  /** Grows whenever Asterisk announces a shutdown or the AMI connection drops (another suite restarting it). */
  get interruptions(): number {
    return this.interruptionCount;
  }

  /**
   * Runs `fn` (a whole test body, assertions included); if Asterisk was stopped or restarted while it ran
   * (by another suite sharing the test bed), waits for Asterisk and no "callscreen" app, and runs it again,
   * up to `attempts` times. A failure without an interruption is rethrown at once.
   */
  async rerunIfAsteriskInterrupted<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const before = this.interruptionCount;
      let outcome: { value: T } | { error: unknown };
      try {
        outcome = { value: await fn() };
      } catch (error) {
        outcome = { error };
      }
      // a BYE or Hangup caused by a shutdown can arrive a moment before the Shutdown event itself
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (this.interruptionCount === before || attempt >= attempts) {
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      }
      await this.waitUntilStasisAppAbsent('callscreen', 100_000);
    }
  }

  /**
   * Connects to the test bed's AMI (CALLSCREEN_AMI_* override). Waits up to 90 s for Asterisk, which other
   * suites restart or stop for a while.
   */
  static async open(options: Partial<AsteriskManagerAmiOptions> = {}): Promise<CallHarness> {
    const settings = amiSettings(options);
    const ami = new AsteriskManagerAmi(settings);
    const harness = new CallHarness(ami, settings);
    await ami.start();
    return harness;
  }

  /** Hangs up the calls this harness placed that are still up, then closes AMI. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (this.ami.state === 'connected') await this.hangupAll((channel) => this.ownsChannel(channel));
      } catch {
        // best effort: the calls end on their own (testbed-caller hangs up after 30 s)
      }
      await Promise.allSettled(this.keyAmis.map(async (connecting) => (await connecting).close()));
      await this.ami.close();
    })();
    return this.closing;
  }

  /** True for channels of calls placed by this harness (CoreShowChannel / any event with a uniqueid). */
  ownsChannel = (channel: AmiMessage): boolean => (channel.uniqueid ?? '').startsWith(`cstest-${this.tag}-`);

  /**
   * Originates one inbound call (see the file comment). Resolves once Asterisk queued it; where it ends
   * is for waitForDestination. Rejects with AmiActionError if Asterisk refuses the Originate, or with an
   * Error for a DID that cannot be part of a Local channel name.
   */
  async placeCall(options: PlaceCallOptions): Promise<PlacedCall> {
    const { caller, did, callerName = '', channelVars = {}, answerTimeoutMs = 30_000 } = options;
    const context = options.context ?? 'callscreen-inbound';
    if (!/^[^/@,\s]+$/.test(did))
      throw new Error(`placeCall: DID ${JSON.stringify(did)} cannot be used in Local/<did>@${context}`);
    const testId = `cstest-${this.tag}-${++this.seq}`;
    const variables: string[] = [
      `__CS_TEST_ID=${testId}`,
      `CONNECTEDLINE(num,i)=${escapeArg(caller)}`,
      `CONNECTEDLINE(name,i)=${escapeArg(callerName)}`,
    ];
    for (const [name, value] of Object.entries(channelVars)) {
      if (!/^[A-Za-z0-9_]+(\([^()]*\))?$/.test(name))
        throw new Error(`placeCall: channel variable name ${JSON.stringify(name)} is not usable`);
      variables.push(`${name}=${escapeArg(value)}`);
    }
    const call = {
      testId,
      caller,
      callerName,
      did,
      callerUniqueId: `${testId}-caller`,
      screenedUniqueId: `${testId}-screened`,
    };
    const response = await this.ami.action({
      action: 'Originate',
      channel: `Local/${did}@${context}`,
      context: 'testbed-caller',
      exten: 's',
      priority: 1,
      async: true,
      timeout: answerTimeoutMs,
      channelid: call.callerUniqueId,
      otherchannelid: call.screenedUniqueId,
      variable: variables.join(','),
    });
    return { ...call, actionId: response.actionid ?? '' };
  }

  /**
   * The first event matching `pred`, looking first at the events already received since open() (so a
   * wait started just after the event happened still sees it), then at new ones. Make the predicate
   * specific (uniqueid / testid / caller) so an older event cannot match. Rejects after timeoutMs.
   */
  waitForEvent(pred: (event: AmiMessage) => boolean, timeoutMs: number): Promise<AmiMessage> {
    const past = this.history.find(pred);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`waitForEvent: no matching AMI event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (event: AmiMessage): void => {
        if (!pred(event)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(event);
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Where the call ended, as Asterisk reported it: the first of AgentReached ('agents'), VoicemailReached
   * ('voicemail'), or a Hangup of the screened half ('hangup'). Rejects after timeoutMs with the call's
   * events so far in the message.
   */
  waitForDestination(call: PlacedCall, timeoutMs: number): Promise<CallDestination> {
    let found: CallDestination | undefined;
    return this.waitForEvent((event) => (found = destinationOf(call, event)) !== undefined, timeoutMs).then(
      () => found as CallDestination,
      () => {
        const seen = this.eventsOf(call).map(label).join(', ') || 'none';
        throw new Error(
          `waitForDestination: call ${call.testId} (caller ${JSON.stringify(call.caller)} -> ${call.did}) reached no destination within ${timeoutMs} ms; its events: ${seen}`,
        );
      },
    );
  }

  /** Every event received since open() (the last 20,000) that matches `pred`, oldest first. */
  eventsMatching(pred: (event: AmiMessage) => boolean): AmiMessage[] {
    return this.history.filter(pred);
  }

  /** Every event received so far that belongs to the call (either half, or anything carrying its TestId). */
  eventsOf(call: PlacedCall): AmiMessage[] {
    return this.eventsMatching(
      (e) =>
        e.uniqueid === call.screenedUniqueId ||
        e.uniqueid === call.callerUniqueId ||
        e.testid === call.testId ||
        (e.event === 'OriginateResponse' && e.actionid === call.actionId),
    );
  }

  /** The channels Asterisk has now (CoreShowChannels; keys: channel, uniqueid, linkedid, context, exten, application ...). */
  async channels(): Promise<AmiMessage[]> {
    return (await this.ami.listAction({ action: 'CoreShowChannels' })).events;
  }

  /**
   * Presses keys as the caller would: AMI PlayDTMF on the caller half (;1, by its Uniqueid), which sends
   * them towards the screened half (;2), where the Stasis app sees ChannelDtmfReceived. One action per
   * key, `between` ms apart (default 150), each `duration` ms long (default 100). Only useful once the
   * screened half answered (the CAPTCHA IVR answers before its greeting).
   */
  async pressDigits(
    call: PlacedCall,
    digits: string,
    options: { between?: number; duration?: number } = {},
  ): Promise<void> {
    const { between = 150, duration = 100 } = options;
    if (!/^[0-9*#A-D]*$/.test(digits))
      throw new Error(`pressDigits: ${JSON.stringify(digits)} are not DTMF keys (0-9 * # A-D)`);
    const ami = await this.keyConnection(call);
    for (const [i, digit] of [...digits].entries()) {
      if (i > 0 && between > 0) await new Promise((resolve) => setTimeout(resolve, between));
      await ami.action({ action: 'PlayDTMF', channel: call.callerUniqueId, digit, duration });
    }
  }

  /**
   * Asterisk runs one AMI session's actions one after another, and PlayDTMF holds the session for the
   * key's duration: 50 callers pressing keys over one connection would wait seconds for their turn. Keys
   * go over a few extra connections instead, always the same one for a call (its keys stay in order).
   */
  private keyConnection(call: PlacedCall): Promise<AmiPort> {
    const index = Number(call.testId.slice(call.testId.lastIndexOf('-') + 1)) % KEY_CONNECTIONS;
    let connecting = this.keyAmis[index];
    if (!connecting) {
      const ami = new AsteriskManagerAmi({ ...this.amiOptions, connectTimeoutMs: 10_000 });
      ami.on('error', () => undefined);
      connecting = ami.start().then(() => ami);
      this.keyAmis[index] = connecting;
    }
    return connecting;
  }

  /** The UserEvent (AgentReached or VoicemailReached) that told where the call went, if one did. */
  destinationEvent(call: PlacedCall): AmiMessage | undefined {
    return this.history.find(
      (e) => e.event === 'UserEvent' && (destinationOf(call, e) === 'agents' || destinationOf(call, e) === 'voicemail'),
    );
  }

  /** Hangs up both halves of a call (those still up). */
  async hangup(call: PlacedCall): Promise<void> {
    for (const uniqueid of [call.callerUniqueId, call.screenedUniqueId]) await this.hangupChannel(uniqueid);
  }

  /**
   * Hangs up every channel Asterisk has (the test bed is only for tests), or those matching `filter`
   * (e.g. `harness.ownsChannel`). Resolves with how many channels matched: all of them are gone or going
   * (hanging up one half of a Local pair takes the other half with it).
   */
  async hangupAll(filter: (channel: AmiMessage) => boolean = () => true): Promise<number> {
    const matching = (await this.channels()).filter(filter);
    for (const channel of matching) if (channel.channel) await this.hangupChannel(channel.channel);
    return matching.length;
  }

  /** Resolves once no channel (matching `filter`) is left; rejects after timeoutMs naming those left. */
  async waitForNoChannels(timeoutMs: number, filter: (channel: AmiMessage) => boolean = () => true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = (await this.channels()).filter(filter);
      if (left.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(
          `waitForNoChannels: still up after ${timeoutMs} ms: ${left.map((c) => `${c.channel} (${c.context},${c.exten},${c.application})`).join('; ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Is a Stasis application of that name registered in Asterisk (i.e. is some ARI client connected as it)? */
  async isStasisAppRegistered(app: string): Promise<boolean> {
    const response = await this.ami.action({ action: 'Command', command: 'ari show apps' });
    const lines = (response.output ?? '').split('\n').map((l) => l.trim());
    const start = lines.findIndex((l) => /^=+$/.test(l));
    if (start < 0)
      throw new Error(`isStasisAppRegistered: unexpected 'ari show apps' output: ${response.output ?? '(none)'}`);
    return lines.slice(start + 1).includes(app);
  }

  /**
   * Waits until no Stasis app of that name is registered, e.g. before testing the dialplan fallback while
   * other suites connect their own "callscreen" app now and then. Rides out Asterisk being stopped or
   * restarted meanwhile (AMI reconnects by itself). Rejects after timeoutMs.
   */
  async waitUntilStasisAppAbsent(app: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let why: unknown;
      try {
        if (!(await this.isStasisAppRegistered(app))) return;
        why = new Error(`Stasis app "${app}" is registered`);
      } catch (error) {
        why = error; // Asterisk down, shutting down, or still booting: try again
      }
      if (Date.now() >= deadline)
        throw new Error(`waitUntilStasisAppAbsent: not confirmed within ${timeoutMs} ms`, { cause: why });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Hangup by channel name or Uniqueid; false if it was gone already. */
  private async hangupChannel(channel: string): Promise<boolean> {
    try {
      await this.ami.action({ action: 'Hangup', channel });
      return true;
    } catch (error) {
      if (error instanceof AmiActionError && /no such channel/i.test(error.responseMessage)) return false;
      throw error;
    }
  }
}

/** Where an event says the call went, if it says so. */
export function destinationOf(call: PlacedCall, event: AmiMessage): CallDestination | undefined {
  if (event.event === 'UserEvent' && (event.uniqueid === call.screenedUniqueId || event.testid === call.testId)) {
    if (event.userevent === 'AgentReached') return 'agents';
    if (event.userevent === 'VoicemailReached') return 'voicemail';
  }
  if (event.event === 'Hangup' && event.uniqueid === call.screenedUniqueId) return 'hangup';
  return undefined;
}

/**
 * Escapes a value for one argument of an Originate `Variable:` header, which Asterisk splits like
 * application arguments: backslash makes the next character literal; quotes, commas, brackets and
 * parentheses would otherwise be parsed.
 */
function escapeArg(value: string): string {
  return value.replace(/[\\"(),[\]]/g, (c) => `\\${c}`);
}

function label(event: AmiMessage): string {
  const what = event.event === 'UserEvent' ? `UserEvent(${event.userevent})` : event.event;
  return `${what}${event.context ? `@${event.context}` : ''}`;
}
