/**
 * CallScreener: what happens to one inbound call. StasisStart -> facts -> one reputation lookup
 * bounded by the decision deadline -> screenCall (pure) -> the verdict's treatment -> one log line and
 * one screened-call log entry, written once the call's final route is known:
 *
 *   allow     -> tags, continue to the agents (remembered as having reached a person on the DID: the
 *                repeat caller's credit for the next call, unless only shadow mode let it through)
 *   voicemail -> tags, continue to the voicemail target (the DID's policy `voicemail`, else routing.voicemail)
 *   reject    -> routing.reject: hang up with a cause, or answer, play the announcement and hang up
 *   challenge -> the CAPTCHA IVR (captcha/) inside the Stasis app: passed -> agents (the number is
 *                remembered as passed, and as having reached a person on the DID); failed -> captcha.failVerdict (voicemail or the reject treatment);
 *                the caller hangs up -> nothing more; watchdog (captcha.maxDurationMs), shutdown or an
 *                error -> agents
 *
 * Settings are read once per call, when it enters (the configuration, policies and rules in force: they
 * reload without a restart); the call is decided and routed with that one snapshot. Fail-open
 * everywhere: a lookup that fails or is late makes the decision degraded, not slow; a route that cannot
 * be set leaves the call to the dialplan's fallback (agents); a call found in the app with nobody
 * handling it (left over from a daemon that died) is sent to the agents.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SPAM_KEY_ARG, type SpamKey } from './spam-key/spam-key-call';
import type { RecentCallers } from './spam-key/recent-callers';
import type { CallEvaluator, Evaluation, SettingsSnapshot } from './call-evaluator';
import { CaptchaIvr, PROMPT_MAX_MS, type CaptchaResult, type CaptchaSettings } from './captcha/captcha-ivr';
import { captchaSettingsFor } from './captcha/captcha-settings';
import { callTags, type ChannelVariable } from './call-tags';
import { CallEnded, ChannelSession } from './channel-session';
import { limitConcurrency, type ScreenerAri } from './limited-ari';
import { HoldOvershoot } from './hold-overshoot';
import type { Decision } from '../domain/decision';
import { explainDecision, topReasons } from '../domain/decision';
import { describePhoneNumber } from '../domain/phone-number';
import { didKey, type ScreeningSettings } from '../domain/screening-policy';
import type { CallscreenConfig } from '../config/schema';
import type { DialplanTarget } from '../domain/screening-settings';
import { errorText } from '../errors/error-text';
import type { Logger } from '../ports/logger';
import type { AriChannel, AriEvent, AriPlayback, AriPort } from '../ports/ari';
import type { CallerHistoryStore } from '../ports/caller-history-store';
import type { CallLog, ScreenedCallRecord } from '../ports/call-log';
import { lookupWaitMs } from '../reputation/lookups/lookup-service';

export interface CallScreenerDeps {
  ari: AriPort;
  evaluator: Pick<CallEvaluator, 'evaluate'>;
  callLog: CallLog;
  logger: Logger;
  /** the settings in force (the reloaders swap them on a good edit): read once per call, when it enters */
  settings: () => SettingsSnapshot;
  /**
   * where the IVR's outcomes are remembered (a pass makes the number trusted for signals.captcha.trustDays),
   * and calls that reached a person (the repeat caller's credit)
   */
  captchaHistory: Pick<CallerHistoryStore, 'recordCaptchaOutcome' | 'recordReachedHuman'>;
  /**
   * TEST ONLY (env CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1): log every CAPTCHA code and the keys typed at debug
   * level, so tests and the demo can type it. Never in production: anyone reading the log could pass the
   * CAPTCHA (the daemon warns when it is on and refuses it under NODE_ENV=production: captchaCodeLogging).
   */
  logCaptchaCode?: boolean;
  /** told of every screened call's record as it is appended to the log (metrics); an error it throws is logged, never felt by the call */
  onScreened?: (record: ScreenedCallRecord) => void;
  /** the orphan sweep's timing (tests make it quick); defaults: ORPHAN_SWEEP */
  orphanSweep?: Partial<OrphanSweepTiming>;
  /** the spam key (Stasis argument "spam-key"); absent: such a call is hung up, never screened */
  spamKey?: Pick<SpamKey, 'handle'>;
  /** told of every call sent on to the agents (the spam key's record of who answered whom) */
  sentToAgents?: Pick<RecentCallers, 'remember'>;
}

/** How the orphan sweep (sweepOrphans) lists the app's channels. */
export interface OrphanSweepTiming {
  /** after each (re)connect, keep listing this long even when a listing found no call without a handler */
  windowMs: number;
  /** between two listings */
  intervalMs: number;
  /**
   * A call that has just entered the app may have its StasisStart on the way over the websocket while
   * the listing (REST, another connection) already shows it: the sweep waits this long before taking a
   * call, so that StasisStart claims it first and the call is screened, not waved through.
   */
  claimGraceMs: number;
}

export const ORPHAN_SWEEP: OrphanSweepTiming = { windowMs: 5000, intervalMs: 500, claimGraceMs: 250 };

type Target = 'agents' | 'voicemail';

/** How a call ended up: the fields of its log record that routing fills in. */
interface Routed {
  routedTo: string;
  routeError?: string;
  routeMs?: number;
  captcha?: ScreenedCallRecord['captcha'];
}

const ROUTE_ATTEMPTS = 3;
/**
 * A call routed by this daemon is still owned until its StasisEnd (which normally follows within
 * milliseconds); if that event is lost with the link, the ownership lapses after this long.
 */
const LEAVING_MAX_MS = 10_000;
/**
 * At close, after the websocket is closed: the app's channels are listed at least this many times (until
 * one listing finds none), at most CLOSING_LISTINGS_MAX (see releaseCallsLeftBehind).
 */
const CLOSING_LISTINGS = 3;
const CLOSING_LISTINGS_MAX = 10;
/** A tone: media (e.g. the special information tone) plays until stopped: it is cut after this. */
const TONE_MS = 1200;

export class CallScreener {
  /**
   * Every call this daemon handles, from its StasisStart (or from the moment the orphan sweep takes it)
   * until its handler is done. A channel in here is never taken by another handler.
   */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** calls routed (continued or hung up), still owned until their StasisEnd: when they were let go */
  private readonly leaving = new Map<string, number>();
  /** the channels being handled, for their DTMF, playback and hang-up events */
  private readonly sessions = new Map<string, ChannelSession>();
  /** the CAPTCHAs running, for the shutdown */
  private readonly ivrs = new Map<string, CaptchaIvr>();
  /** Asterisk's StasisStart timestamp per screened channel, until its StasisEnd */
  private readonly enteredAt = new Map<string, string>();
  private draining = false;
  /**
   * Set once the daemon closes its ARI connection: calls that still enter the app until the websocket is
   * closed are not screened (REST is closing) but kept here, and released to the agents afterwards
   * (releaseCallsLeftBehind).
   */
  private closing = false;
  private readonly leftBehind = new Map<string, { channel: AriChannel; args: string[] }>();
  private readonly sweepTiming: OrphanSweepTiming;
  /** the orphan sweep: running, since when it lists on (see sweepOrphans) */
  private sweep: { done: Promise<number>; until: number; wake?: () => void } | undefined;
  /** true from an ARI connect (sweepOrphans) until the link is lost: a sweep can list the app's channels */
  private linkUp = false;
  private readonly host = hostname();
  /** how long calls whose lookups ran out of time are held past the wait: the lookups leave it at the end of their budget */
  private readonly holdOvershoot = new HoldOvershoot();
  /** every ARI request of the screener goes through here: a bounded number in flight (see limited-ari.ts) */
  private readonly ari: ScreenerAri;

  constructor(private readonly deps: CallScreenerDeps) {
    this.ari = limitConcurrency(deps.ari);
    this.sweepTiming = { ...ORPHAN_SWEEP, ...deps.orphanSweep };
  }

  get callsInFlight(): number {
    return this.inFlight.size;
  }

  /** AriPort 'event' listener. */
  readonly onAriEvent = (event: AriEvent): void => {
    if (event.application !== this.deps.settings().config.ari.app) return;
    switch (event.type) {
      case 'StasisStart':
        return this.onStasisStart(event as Extract<AriEvent, { type: 'StasisStart' }>);
      case 'StasisEnd': {
        const end = event as Extract<AriEvent, { type: 'StasisEnd' }>;
        this.sessions.get(end.channel.id)?.handle(end);
        return this.onStasisEnd(end);
      }
      case 'ChannelDtmfReceived':
      case 'ChannelHangupRequest':
      case 'ChannelDestroyed': {
        const { channel } = event as Extract<
          AriEvent,
          { type: 'ChannelDtmfReceived' | 'ChannelHangupRequest' | 'ChannelDestroyed' }
        >;
        return this.sessions.get(channel.id)?.handle(event);
      }
      case 'PlaybackFinished': {
        const target = (event as Extract<AriEvent, { playback: AriPlayback }>).playback.target_uri;
        if (target.startsWith('channel:')) this.sessions.get(target.slice('channel:'.length))?.handle(event);
        return undefined;
      }
      default:
        return undefined;
    }
  };

  private onStasisStart(event: Extract<AriEvent, { type: 'StasisStart' }>): void {
    const { channel, args, timestamp } = event;
    // already owned: a StasisStart seen twice, or one that comes after the orphan sweep took the call
    if (this.owns(channel.id)) return;
    if (this.closing) {
      this.leftBehind.set(channel.id, { channel, args });
      return;
    }
    if (timestamp) this.enteredAt.set(channel.id, timestamp);
    const session = new ChannelSession(this.ari, channel.id);
    this.sessions.set(channel.id, session);
    const handled =
      args[0] === SPAM_KEY_ARG
        ? this.spamKeyCall(channel, args, session)
        : this.screen(channel, args, session)
            .then(outcomeOf)
            .catch((e: unknown) => this.failOpen(channel, args, e));
    const work = handled
      .then((outcome) => this.letGo(channel.id, outcome))
      .finally(() => {
        this.sessions.delete(channel.id);
        this.ivrs.delete(channel.id);
      });
    this.inFlight.set(channel.id, work);
  }

  /** An agent dialled the spam key: not a call to screen; it is hung up when done (or at once without one). */
  private async spamKeyCall(channel: AriChannel, args: string[], session: ChannelSession): Promise<HandlerOutcome> {
    if (this.deps.spamKey) await this.deps.spamKey.handle(channel, args, session);
    else {
      this.deps.logger.warn({ callId: channel.id }, 'spam key dialled, but this daemon has no spam key; hanging up');
      await this.ari.hangup(channel.id, 'normal').catch(() => undefined);
    }
    return 'routed'; // hung up: owned until its StasisEnd
  }

  /** Is some handler of this daemon in charge of the channel (screening, routing or routed it)? */
  private owns(channelId: string): boolean {
    return this.inFlight.has(channelId) || this.leaving.has(channelId) || this.leftBehind.has(channelId);
  }

  /**
   * A handler is done with its call. Routed, the call stays owned until its StasisEnd (a listing may
   * still show it in the app a moment); not routed (the route failed), it is an orphan now, and a sweep
   * lists the app again so it is sent on as soon as ARI lets it. A caller who hung up is simply gone.
   */
  private letGo(channelId: string, outcome: HandlerOutcome): void {
    this.inFlight.delete(channelId);
    const now = Date.now();
    for (const [id, since] of this.leaving) if (now - since > LEAVING_MAX_MS) this.leaving.delete(id);
    if (outcome === 'routed') this.leaving.set(channelId, now);
    else if (outcome === 'unrouted' && !this.closing && this.linkUp)
      void this.sweepOrphans(2 * this.sweepTiming.intervalMs);
  }

  /** Log how long the call spent in Stasis, by Asterisk's own clock (StasisStart to StasisEnd). */
  private onStasisEnd(event: Extract<AriEvent, { type: 'StasisEnd' }>): void {
    this.leaving.delete(event.channel.id);
    const entered = this.enteredAt.get(event.channel.id);
    if (entered === undefined) return;
    this.enteredAt.delete(event.channel.id);
    const stasisMs = event.timestamp ? Date.parse(event.timestamp) - Date.parse(entered) : undefined;
    this.deps.logger.child({ callId: event.channel.id }).debug({ stasisMs }, 'call left screening');
  }

  /**
   * Stop screening new calls against Redis (they are decided on local facts only), send callers in the
   * CAPTCHA on to the agents, and wait for calls in flight. May be called again (after stopTakingCalls,
   * to wait for the calls that came in meanwhile).
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const ivr of this.ivrs.values()) ivr.abandon('abandoned', 'the daemon is shutting down');
    const all = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /**
   * The daemon is about to close its ARI adapter. Until the websocket is closed, Asterisk still hands
   * calls to the app (a call entering then would sit in the app with nobody to route it: no event
   * listener, REST closed); from now on such calls are only remembered, and releaseCallsLeftBehind sends
   * them on once the websocket is closed and no new call can enter (they take the dialplan fallback).
   */
  stopTakingCalls(): void {
    this.closing = true;
    this.sweep?.wake?.();
  }

  /**
   * After the ARI adapter closed: sends the calls that entered the app while it was closing on to the
   * agents over `rest` (a REST-only connection: the adapter's own REST is closed), then lists the app's
   * channels until a listing finds none (at least CLOSING_LISTINGS listings, sweepTiming.intervalMs
   * apart) and sends those on too: Asterisk takes a moment to see the websocket closed, and a call that
   * enters the app in that moment has its StasisStart sent to a socket nobody reads. A call this daemon
   * already routed (its StasisEnd not seen yet) is left alone. Resolves with how many calls it sent.
   */
  async releaseCallsLeftBehind(rest: Pick<AriPort, 'continueInDialplan' | 'listChannels'>): Promise<number> {
    const { config } = this.deps.settings();
    const left = [...this.leftBehind.values()];
    this.leftBehind.clear();
    const released = new Set<string>();
    const release = async (channel: AriChannel, did: string, why: string): Promise<void> => {
      released.add(channel.id);
      const log = this.deps.logger.child({ callId: channel.id });
      log.warn({ channel: channel.name, caller: channel.caller.number }, `${why}; sending it to the agents`);
      const { agents } = config.routing;
      try {
        await rest.continueInDialplan(channel.id, {
          context: agents.context,
          extension: agents.extension ?? did,
          priority: agents.priority,
        });
      } catch (e) {
        if (statusOf(e) !== 404)
          log.error(
            { err: errorText(e) },
            'could not send the call to the agents; it stays in the app until the caller hangs up or a daemon starts',
          );
      }
    };
    await Promise.all(
      left.map(({ channel, args }) =>
        release(channel, didOf(channel, args), 'call entered the app while the daemon was closing'),
      ),
    );
    for (let listing = 1; ; listing++) {
      let found: AriChannel[];
      try {
        found = (await rest.listChannels()).filter(
          (c) => inStasisApp(c, config.ari.app) && !this.leaving.has(c.id) && !released.has(c.id),
        );
      } catch (e) {
        this.deps.logger.warn({ err: errorText(e) }, 'could not list the calls left in the app at close');
        break;
      }
      await Promise.all(
        found.map((c) =>
          release(c, c.dialplan?.exten ?? '', 'call found in the app after the daemon closed its ARI connection'),
        ),
      );
      if (found.length === 0 && listing >= CLOSING_LISTINGS) break;
      if (listing >= CLOSING_LISTINGS_MAX) break;
      await new Promise((r) => setTimeout(r, this.sweepTiming.intervalMs));
    }
    return released.size;
  }

  /**
   * The ARI event websocket dropped (it reconnects by itself). Asterisk keeps the calls in the app but
   * drops their events until it is back (keys, prompt ends, hang-ups), so nothing that waits for an
   * event can be trusted to end well: every CAPTCHA in flight is abandoned and its caller sent to the
   * agents (CaptchaIvr.linkLost; an outcome already known stands), and every other session (a reject
   * announcement, a call not yet routed) is ended so it does not wait for a PlaybackFinished that will
   * never come. Routing itself only needs REST, which does not depend on the websocket; if REST is down
   * too, the route fails and the orphan sweep after the reconnect (sweepOrphans) picks the call up.
   * A sweep running stops: it starts again on the next connect.
   */
  onAriConnectionLost(reason: string): void {
    this.linkUp = false;
    this.sweep?.wake?.();
    const detail = `the ARI connection was lost (${reason}): keys and prompt ends are not seen until it is back`;
    for (const [channelId, session] of this.sessions) {
      const ivr = this.ivrs.get(channelId);
      if (ivr) ivr.linkLost(detail);
      else session.end('abandoned', detail);
    }
  }

  /**
   * The orphan sweep, started on every ARI (re)connect: a call can sit in the app with no handler - it
   * entered while this daemon was not running (the one before it died), or its StasisStart went to a
   * connection that was already dead. Lists the app's channels and sends every call no handler owns to
   * the agents, however young (recoverOrphans), and lists again every `intervalMs`: for `windowMs` after
   * the connect, and for as long as the last listing found such a call or failed. A call that leaves
   * its handler unrouted starts a short sweep too. Stops when the link is lost or the daemon closes.
   * Called while a sweep runs, it only extends it. Resolves with how many calls the sweep routed.
   */
  sweepOrphans(windowMs = this.sweepTiming.windowMs): Promise<number> {
    this.linkUp = true;
    const until = Date.now() + windowMs;
    if (this.sweep) {
      this.sweep.until = Math.max(this.sweep.until, until);
      return this.sweep.done;
    }
    const sweep: NonNullable<CallScreener['sweep']> = { done: Promise.resolve(0), until };
    this.sweep = sweep;
    sweep.done = this.runSweep(sweep);
    return sweep.done;
  }

  private async runSweep(sweep: NonNullable<CallScreener['sweep']>): Promise<number> {
    let routed = 0;
    let failures = 0;
    const stopped = (): boolean => this.closing || !this.linkUp;
    for (;;) {
      let found = 0;
      if (!stopped()) {
        try {
          found = await this.recoverOrphans();
          routed += found;
          if (found > 0) this.deps.logger.warn({ calls: found }, 'sent calls left without a handler to the agents');
          failures = 0;
        } catch (e) {
          found = 1; // not known: list again
          if (++failures === 1)
            this.deps.logger.warn({ err: errorText(e) }, 'could not check for calls left in the app; trying again');
        }
      }
      // decided and cleared in one synchronous step: a sweepOrphans() call after this starts a new sweep
      if (stopped() || (found === 0 && Date.now() >= sweep.until)) {
        this.sweep = undefined;
        return routed;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.sweepTiming.intervalMs);
        sweep.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      sweep.wake = undefined;
    }
  }

  /**
   * One listing of the orphan sweep: sends to the agents every channel in the app that no handler owns,
   * however young, and resolves with how many it took. Ownership is checked again when a call is taken
   * (after claimGraceMs); once taken, the call is owned (a StasisStart arriving for it now is ignored).
   */
  async recoverOrphans(): Promise<number> {
    if (this.closing) return 0;
    const { config } = this.deps.settings();
    const channels = await this.ari.listChannels();
    // a StasisEnd lost while disconnected would leave its call's start time here for good
    const alive = new Set(channels.map((c) => c.id));
    for (const id of this.enteredAt.keys()) if (!alive.has(id)) this.enteredAt.delete(id);
    for (const id of this.leaving.keys()) if (!alive.has(id)) this.leaving.delete(id);
    const unowned = channels.filter((c) => inStasisApp(c, config.ari.app) && !this.owns(c.id));
    if (unowned.length === 0) return 0;
    await new Promise((r) => setTimeout(r, this.sweepTiming.claimGraceMs));
    if (this.closing) return 0;
    const orphans = unowned.filter((c) => !this.owns(c.id)); // claimed meanwhile: its handler has it
    await Promise.all(orphans.map((channel) => this.takeOrphan(channel, config.routing.agents)));
    return orphans.length;
  }

  /** The sweep owns the call from now on, sends it to the agents, and lets go of it. */
  private takeOrphan(channel: AriChannel, agents: DialplanTarget): Promise<void> {
    const log = this.deps.logger.child({ callId: channel.id });
    log.warn(
      { channel: channel.name, caller: channel.caller.number },
      'call found in the Stasis app with no handler (daemon restarted, or its StasisStart lost with the ARI link); sending it to the agents',
    );
    const did = channel.dialplan?.exten ?? '';
    const work = this.route(channel.id, agents, did, [], log)
      .then((r) => outcomeOf(r.ok ? { routedTo: 'agents' } : { routedTo: 'none', routeError: r.error }))
      .catch((): HandlerOutcome => 'unrouted')
      .then((outcome) => this.letGo(channel.id, outcome));
    this.inFlight.set(channel.id, work);
    return work;
  }

  /** A bug in screening must not cost a call: log it and send the caller to the agents. */
  private async failOpen(channel: AriChannel, args: string[], e: unknown): Promise<HandlerOutcome> {
    const log = this.deps.logger.child({ callId: channel.id });
    log.error(
      { err: errorText(e), stack: e instanceof Error ? e.stack : undefined },
      'screening failed; sending the call to the agents',
    );
    const did = didOf(channel, args);
    const routed = await this.route(channel.id, this.deps.settings().config.routing.agents, did, [], log).catch(
      () => undefined,
    );
    return routed?.ok === true ? 'routed' : 'unrouted';
  }

  /** Decides the call, routes it and logs it; resolves with how it was routed. */
  private async screen(channel: AriChannel, args: string[], session: ChannelSession): Promise<Routed> {
    const started = performance.now();
    const snapshot = this.deps.settings();
    const log = this.deps.logger.child({ callId: channel.id });
    const did = didOf(channel, args);
    const attestation = attestationOf(args);
    const verstat = inboundArg(args, 3);
    const fromNumber = inboundArg(args, 4);
    const forwardedBy = inboundArg(args, 5);
    const endpoint = inboundArg(args, 6);
    const regions = snapshot.config.numbers.endpointRegions;
    // own keys only: an endpoint named "constructor" must not find Object's
    const region = endpoint !== undefined && Object.hasOwn(regions, endpoint) ? regions[endpoint] : undefined;
    log.debug(
      {
        channel: channel.name,
        caller: channel.caller.number,
        ...(channel.caller.name ? { callerName: channel.caller.name } : {}),
        did,
        attestation,
        verstat,
        fromNumber,
        forwardedBy,
        endpoint,
        ...(region !== undefined ? { region } : {}),
      },
      'call entered screening',
    );

    const reserveMs = this.holdOvershoot.reserveMs;
    const evaluation = await this.deps.evaluator.evaluate(
      {
        callerNumber: channel.caller.number,
        did,
        at: new Date(),
        ...(channel.caller.name ? { callerName: channel.caller.name } : {}),
        ...(attestation !== undefined ? { attestation } : {}),
        ...(verstat !== undefined ? { verstat } : {}),
        ...(fromNumber !== undefined ? { fromNumber } : {}),
        ...(forwardedBy !== undefined ? { forwardedBy } : {}),
        ...(region !== undefined ? { region } : {}),
      },
      snapshot,
      {
        callId: channel.id,
        record: true,
        startedAt: started,
        lookupReserveMs: reserveMs,
        ...(this.draining ? { skipHistory: 'the daemon is shutting down' } : {}),
      },
    );
    const decisionMs = round(performance.now() - started);
    const { decision, historyMs } = evaluation;
    const call = new ScreenedCall(channel, did, evaluation, session, log, started);

    let routed: Routed;
    switch (decision.verdict) {
      case 'allow':
        routed = await this.continueTo(call, 'agents');
        break;
      case 'voicemail':
        routed = await this.continueTo(call, 'voicemail');
        break;
      case 'reject':
        routed = await this.reject(call);
        break;
      case 'challenge':
        routed = await this.challenge(call);
        break;
    }

    const record: ScreenedCallRecord = {
      callId: channel.id,
      at: decision.at,
      channel: channel.name,
      ...(channel.caller.name ? { callerName: channel.caller.name } : {}),
      decision,
      routedTo: routed.routedTo,
      decisionMs,
      host: this.host,
      inputs: evaluation.inputs,
    };
    if (historyMs !== undefined) record.historyMs = historyMs;
    if (routed.routeMs !== undefined) {
      record.routeMs = routed.routeMs;
      // a call that waited its lookups' whole budget and was continued straight after (not the CAPTCHA's)
      if ((decision.verdict === 'allow' || decision.verdict === 'voicemail') && waitedWholeBudget(evaluation)) {
        const { lookups, screening } = snapshot.config;
        this.holdOvershoot.record(routed.routeMs - lookupWaitMs(lookups.budgetMs, screening.deadlineMs, reserveMs));
      }
    }
    if (routed.routeError !== undefined) record.routeError = routed.routeError;
    if (routed.captcha) record.captcha = routed.captcha;
    if (reachedPerson(decision, routed)) this.rememberReachedHuman(call);
    if (routed.routedTo === 'agents' && decision.caller.kind === 'e164')
      this.deps.sentToAgents?.remember(channel.id, decision.caller.e164);
    this.logDecision(log, record);
    this.deps.callLog
      .append(record)
      .catch((e: unknown) => log.warn({ err: errorText(e) }, 'screened-call log entry not written'));
    try {
      this.deps.onScreened?.(record);
    } catch (e) {
      log.warn({ err: errorText(e) }, 'onScreened listener failed');
    }
    return routed;
  }

  /** Tag the call and continue it in the dialplan at the target. */
  private async continueTo(call: ScreenedCall, target: Target, captcha?: CaptchaResult): Promise<Routed> {
    const dest =
      target === 'agents' ? call.config.routing.agents : (call.settings.voicemail ?? call.config.routing.voicemail);
    const routed = await this.route(call.channel.id, dest, call.did, call.tags(target, captcha?.outcome), call.log);
    return {
      ...(routed.ok
        ? { routedTo: target, routeMs: round(performance.now() - call.started) }
        : { routedTo: 'none', routeError: routed.error }),
      ...captchaField(captcha),
    };
  }

  /** routing.reject: hang up with the configured cause, or answer, play the announcement and hang up. */
  private async reject(call: ScreenedCall, captcha?: CaptchaResult): Promise<Routed> {
    const { treatment, hangupReason, announcement } = call.config.routing.reject;
    const { session, log } = call;
    const id = call.channel.id;
    const tagged = this.setTags(id, call.tags('reject', captcha?.outcome), log);
    if (treatment === 'announcement') {
      try {
        await session.step(Promise.all([this.ari.answer(id), tagged]));
        const lang = call.captchaSettings().language;
        for (const media of announcement)
          await session.playToEnd([media], lang, media.startsWith('tone:') ? TONE_MS : PROMPT_MAX_MS);
      } catch (e) {
        // only a hang-up ends it here; cut short otherwise (the ARI link lost), the call is hung up as planned
        if (e instanceof CallEnded && e.reason === 'hangup')
          return {
            routedTo: 'none',
            routeError: `caller hung up during the announcement (${e.detail})`,
            ...captchaField(captcha),
          };
        log.warn({ err: errorText(e) }, 'reject announcement failed; hanging up');
      }
    } else if ((await tagged) === 'gone') {
      return { routedTo: 'none', routeError: 'caller hung up before routing', ...captchaField(captcha) };
    }
    const hungUp = await this.retrying(() => this.ari.hangup(id, hangupReason), log, 'hanging up the call');
    const routedTo = treatment === 'announcement' ? 'announcement' : 'hangup';
    return {
      ...(hungUp.ok
        ? { routedTo, routeMs: round(performance.now() - call.started) }
        : { routedTo: 'none', routeError: hungUp.error }),
      ...captchaField(captcha),
    };
  }

  /** The CAPTCHA IVR, bounded by the watchdog; then the route its outcome gives. */
  private async challenge(call: ScreenedCall): Promise<Routed> {
    const { log } = call;
    if (this.draining) {
      log.warn('challenged call while the daemon is shutting down: no CAPTCHA, sending it to the agents');
      return this.continueTo(call, 'agents');
    }
    const settings = call.captchaSettings();
    const ivr = new CaptchaIvr({ session: call.session, settings, log, logCode: this.deps.logCaptchaCode === true });
    this.ivrs.set(call.channel.id, ivr);
    const maxMs = call.config.captcha.maxDurationMs;
    const watchdog = setTimeout(
      () => {
        log.warn(
          { maxDurationMs: maxMs },
          'CAPTCHA watchdog: the call was in screening longer than captcha.maxDurationMs; sending it to the agents',
        );
        ivr.abandon('timeout', `captcha.maxDurationMs ${maxMs} ms reached`);
      },
      Math.max(0, maxMs - (performance.now() - call.started)),
    );
    let result: CaptchaResult;
    try {
      result = await ivr.run();
    } finally {
      clearTimeout(watchdog);
      this.ivrs.delete(call.channel.id);
    }
    log.info({ captcha: result }, captchaMessage(result));

    if (result.outcome === 'passed' || result.outcome === 'failed') this.remember(call, result.outcome);
    if (result.outcome === 'hangup' || result.callerGone)
      return { routedTo: 'none', routeError: 'caller hung up during the CAPTCHA', ...captchaField(result) };
    if (result.outcome === 'failed')
      return settings.failVerdict === 'reject' ? this.reject(call, result) : this.continueTo(call, 'voicemail', result);
    return this.continueTo(call, 'agents', result);
  }

  /** Remember the outcome for the caller's number (not awaited: routing does not wait for Redis). */
  private remember(call: ScreenedCall, outcome: 'passed' | 'failed'): void {
    const caller = call.decision.caller;
    if (caller.kind !== 'e164') return; // withheld or not a number: nothing to remember it by
    this.deps.captchaHistory
      .recordCaptchaOutcome(caller.e164, outcome, Date.now())
      .catch((e: unknown) => call.log.warn({ err: errorText(e), outcome }, 'CAPTCHA outcome not remembered'));
  }

  /**
   * Remember that the call reached a person on its DID (the repeat caller's credit for the next call;
   * not awaited: routing is done, and a failure costs only that credit).
   */
  private rememberReachedHuman(call: ScreenedCall): void {
    const { caller, did } = call.decision;
    if (caller.kind !== 'e164') return;
    this.deps.captchaHistory
      .recordReachedHuman(caller.e164, didKey(did), Date.now())
      .catch((e: unknown) => call.log.warn({ err: errorText(e) }, 'call that reached a person not remembered'));
  }

  /**
   * Sets the channel variables all at once (one round trip however many). A variable that cannot be set
   * is logged and the call goes on without it; 'gone' when the channel no longer exists.
   */
  private async setTags(channelId: string, tags: readonly ChannelVariable[], log: Logger): Promise<'ok' | 'gone'> {
    if (tags.length === 0) return 'ok';
    const results = await Promise.allSettled(
      tags.map(([name, value]) => this.ari.setChannelVar(channelId, name, value)),
    );
    let gone = false;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      if (statusOf(r.reason) === 404) gone = true;
      else
        log.warn(
          { err: errorText(r.reason), variable: tags[i]?.[0] },
          'channel variable not set; the call goes on without it',
        );
    });
    return gone ? 'gone' : 'ok';
  }

  /**
   * Tags the call and continues it at dest, in one go (continueWithVariables: one round trip where
   * Asterisk takes REST over the websocket). A tag that could not be set is logged and the call goes on
   * without it; a continue that failed is tried again on its own.
   */
  private async route(
    channelId: string,
    dest: DialplanTarget,
    did: string,
    tags: readonly ChannelVariable[],
    log: Logger,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    const target = { context: dest.context, extension: dest.extension ?? did, priority: dest.priority };
    try {
      const unset = await this.ari.continueWithVariables(channelId, tags, target);
      for (const { name, error } of unset)
        log.warn({ err: errorText(error), variable: name }, 'channel variable not set; the call goes on without it');
      return { ok: true };
    } catch (e) {
      if (statusOf(e) === 404) return { ok: false, error: `caller hung up before routing (${errorText(e)})` };
      log.warn({ err: errorText(e), attempt: 1 }, 'routing the call failed; retrying');
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.retrying(() => this.ari.continueInDialplan(channelId, target), log, 'routing the call', 2);
  }

  /** An ARI request tried up to ROUTE_ATTEMPTS times; 404 = the caller hung up (no retry). */
  private async retrying(
    request: () => Promise<void>,
    log: Logger,
    what: string,
    firstAttempt = 1,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    let lastError = '';
    for (let attempt = firstAttempt; attempt <= ROUTE_ATTEMPTS; attempt++) {
      try {
        await request();
        return { ok: true };
      } catch (e) {
        lastError = errorText(e);
        if (statusOf(e) === 404) return { ok: false, error: `caller hung up before routing (${lastError})` };
        log.warn({ err: lastError, attempt }, `${what} failed; retrying`);
        await new Promise((r) => setTimeout(r, 25 * attempt));
      }
    }
    log.error(
      { err: lastError },
      `${what} failed; the dialplan fallback sends the call to the agents when the app lets go of it`,
    );
    return { ok: false, error: lastError };
  }

  private logDecision(log: Logger, record: ScreenedCallRecord): void {
    const d = record.decision;
    log.info(
      {
        channel: record.channel,
        caller: { raw: d.caller.raw, e164: d.caller.kind === 'e164' ? d.caller.e164 : null, kind: d.caller.kind },
        did: describePhoneNumber(d.did),
        verdict: d.verdict,
        score: d.score,
        ...(d.shadowVerdict ? { shadowVerdict: d.shadowVerdict } : {}),
        ...(d.policies.length > 0 ? { policies: d.policies } : {}),
        ...(d.attestation ? { attestation: d.attestation } : {}),
        ...(d.verstat ? { verstat: d.verstat } : {}),
        degraded: d.degraded,
        reasons: d.reasons.map((r) => r.code),
        top: topReasons(d).map((r) => r.code),
        explanation: explainDecision(d),
        ...(record.captcha ? { captcha: record.captcha } : {}),
        routedTo: record.routedTo,
        decisionMs: record.decisionMs,
        historyMs: record.historyMs,
        routeMs: record.routeMs,
        ...(record.routeError ? { routeError: record.routeError } : {}),
      },
      d.degraded ? 'call screened (degraded)' : 'call screened',
    );
  }
}

/**
 * One call being handled: what every step needs, and what it was decided with - the snapshot of the
 * settings read when it entered and the settings its DID and time resolved to - which routes it too.
 */
class ScreenedCall {
  readonly decision: Decision;
  /** the screening defaults with the policies matching the call */
  readonly settings: ScreeningSettings;
  /** the configuration in force when the call entered */
  readonly config: CallscreenConfig;

  constructor(
    readonly channel: AriChannel,
    /** the DID as the dialplan passed it (the extension a target without one continues at) */
    readonly did: string,
    evaluation: Evaluation,
    readonly session: ChannelSession,
    readonly log: Logger,
    readonly started: number,
  ) {
    this.decision = evaluation.decision;
    this.settings = evaluation.settings;
    this.config = evaluation.snapshot.config;
  }

  captchaSettings(): CaptchaSettings {
    return captchaSettingsFor(this.config.captcha, this.settings.captcha);
  }

  tags(target: Target | 'reject', captcha?: CaptchaResult['outcome']): ChannelVariable[] {
    const { tags } = this.config;
    return callTags({
      decision: this.decision,
      target,
      tags,
      challengeThreshold: this.settings.thresholds.challenge,
      callerName: this.channel.caller.name,
      callerNumber: this.channel.caller.number,
      ...(captcha ? { captcha } : {}),
    });
  }
}

/** How a handler let go of its call: routed, the caller gone, or still in the app (the route failed). */
type HandlerOutcome = 'routed' | 'gone' | 'unrouted';

/** Every routeError this file writes for a caller who hung up starts so. */
function outcomeOf(routed: Routed): HandlerOutcome {
  if (routed.routedTo !== 'none') return 'routed';
  return routed.routeError?.startsWith('caller hung up') ? 'gone' : 'unrouted';
}

/** Some provider had not answered when the call's lookup wait ended: the call waited the whole budget. */
function waitedWholeBudget(evaluation: Evaluation): boolean {
  return evaluation.inputs.lookups?.some((answer) => answer.status === 'late') === true;
}

/**
 * A call that reached a person the screening let through: allowed (not merely waved through by shadow
 * mode) or passed the CAPTCHA, and continued to the agents. Calls sent to the agents because something
 * failed (the CAPTCHA's watchdog or an error, shutdown) prove nothing about the caller.
 */
function reachedPerson(decision: Decision, routed: Routed): boolean {
  if (routed.routedTo !== 'agents') return false;
  if (routed.captcha) return routed.captcha.outcome === 'passed';
  return decision.verdict === 'allow' && decision.shadowVerdict === undefined;
}

function captchaField(result: CaptchaResult | undefined): Pick<Routed, 'captcha'> {
  if (!result) return {};
  return {
    captcha: {
      outcome: result.outcome,
      attempts: result.attempts,
      ms: result.ms,
      ...(result.failure ? { failure: result.failure } : {}),
    },
  };
}

function captchaMessage(result: CaptchaResult): string {
  switch (result.outcome) {
    case 'passed':
      return 'caller passed the CAPTCHA';
    case 'failed':
      return result.failure === 'silence'
        ? 'caller failed the CAPTCHA (no key pressed)'
        : 'caller failed the CAPTCHA (wrong code)';
    case 'hangup':
      return 'caller hung up during the CAPTCHA';
    case 'timeout':
      return 'CAPTCHA abandoned by the watchdog; sending the call to the agents';
    case 'abandoned':
      return `CAPTCHA abandoned: ${result.detail ?? 'the daemon is shutting down'}; sending the call to the agents`;
    case 'error':
      return 'CAPTCHA failed with an error; sending the call to the agents';
  }
}

function statusOf(e: unknown): number | undefined {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The DID: Stasis(callscreen,inbound,<DID>) passes it; otherwise the extension the call came in on. */
function didOf(channel: AriChannel, args: string[]): string {
  return args[0] === 'inbound' && args[1] !== undefined ? args[1] : (channel.dialplan?.exten ?? '');
}

/**
 * What the dialplan hands over after the DID (dialplan/callscreen.conf):
 * Stasis(callscreen,inbound,<DID>,<attestation>,<verstat>,<From number>,<forwarded by>,<PJSIP endpoint>).
 * `index` counts from "inbound"; an empty or missing argument is undefined.
 */
function inboundArg(args: string[], index: number): string | undefined {
  const value = args[0] === 'inbound' ? args[index]?.trim() : undefined;
  return value ? value : undefined;
}

/** The STIR/SHAKEN attestation: Stasis' fourth argument. */
function attestationOf(args: string[]): string | undefined {
  return inboundArg(args, 2);
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Is the channel sitting in Stasis() for the app `app` (GET /channels shows the dialplan application)? */
function inStasisApp(channel: AriChannel, app: string): boolean {
  const { dialplan } = channel;
  return dialplan?.app_name === 'Stasis' && (dialplan.app_data ?? '').split(',')[0] === app;
}
