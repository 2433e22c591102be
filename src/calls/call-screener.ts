/**
 * CallScreener: what happens to one inbound call. StasisStart -> facts -> one reputation lookup
 * bounded by the decision deadline -> screenCall (pure) -> the verdict's treatment -> one log line and
 * one screened-call log entry, written once the call's final route is known:
 *
 *   allow     -> tags, continue to the agents
 *   voicemail -> tags, continue to the voicemail target (the DID's policy `voicemail`, else routing.voicemail)
 *   reject    -> routing.reject: hang up with a cause, or answer, play the announcement and hang up
 *   challenge -> the CAPTCHA IVR (captcha/) inside the Stasis app: passed -> agents (the number is
 *                remembered as passed); failed -> captcha.failVerdict (voicemail or the reject treatment);
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
import type { CallEvaluator, Evaluation, SettingsSnapshot } from './call-evaluator';
import { CaptchaIvr, PROMPT_MAX_MS, type CaptchaResult, type CaptchaSettings } from './captcha/captcha-ivr';
import { captchaSettingsFor } from './captcha/captcha-settings';
import { callTags, type ChannelVariable } from './call-tags';
import { CallEnded, ChannelSession } from './channel-session';
import { limitConcurrency, type ScreenerAri } from './limited-ari';
import type { Decision } from '../domain/decision';
import { explainDecision, topReasons } from '../domain/decision';
import { describePhoneNumber } from '../domain/phone-number';
import type { ScreeningSettings } from '../domain/screening-policy';
import type { CallscreenConfig } from '../config/schema';
import type { DialplanTarget } from '../domain/screening-settings';
import { errorText } from '../errors/error-text';
import type { Logger } from '../ports/logger';
import type { AriChannel, AriEvent, AriPlayback, AriPort } from '../ports/ari';
import type { CallerHistoryStore } from '../ports/caller-history-store';
import type { CallLog, ScreenedCallRecord } from '../ports/call-log';

export interface CallScreenerDeps {
  ari: AriPort;
  evaluator: Pick<CallEvaluator, 'evaluate'>;
  callLog: CallLog;
  logger: Logger;
  /** the settings in force (the reloaders swap them on a good edit): read once per call, when it enters */
  settings: () => SettingsSnapshot;
  /** where the IVR's outcomes are remembered (a pass makes the number trusted for signals.captcha.trustDays) */
  captchaHistory: Pick<CallerHistoryStore, 'recordCaptchaOutcome'>;
  /**
   * TEST ONLY (env CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1): log every CAPTCHA code and the keys typed at debug
   * level, so tests and the demo can type it. Never in production: anyone reading the log could pass the
   * CAPTCHA (the daemon warns when it is on and refuses it under NODE_ENV=production: captchaCodeLogging).
   */
  logCaptchaCode?: boolean;
  /** told of every screened call's record as it is appended to the log (metrics); an error it throws is logged, never felt by the call */
  onScreened?: (record: ScreenedCallRecord) => void;
}

type Target = 'agents' | 'voicemail';

/** How a call ended up: the fields of its log record that routing fills in. */
interface Routed {
  routedTo: string;
  routeError?: string;
  routeMs?: number;
  captcha?: ScreenedCallRecord['captcha'];
}

/** Channels older than this found in the app without a handler are orphans of an earlier daemon. */
const ORPHAN_MIN_AGE_MS = 2000;
const ROUTE_ATTEMPTS = 3;
/** A tone: media (e.g. the special information tone) plays until stopped: it is cut after this. */
const TONE_MS = 1200;

export class CallScreener {
  private readonly inFlight = new Map<string, Promise<void>>();
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
  private readonly host = hostname();
  /** every ARI request of the screener goes through here: a bounded number in flight (see limited-ari.ts) */
  private readonly ari: ScreenerAri;

  constructor(private readonly deps: CallScreenerDeps) {
    this.ari = limitConcurrency(deps.ari);
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
    if (this.inFlight.has(channel.id)) return;
    if (this.closing) {
      this.leftBehind.set(channel.id, { channel, args });
      return;
    }
    if (timestamp) this.enteredAt.set(channel.id, timestamp);
    const session = new ChannelSession(this.ari, channel.id);
    this.sessions.set(channel.id, session);
    const work = this.screen(channel, args, session)
      .catch((e: unknown) => this.failOpen(channel, args, e))
      .finally(() => {
        this.inFlight.delete(channel.id);
        this.sessions.delete(channel.id);
        this.ivrs.delete(channel.id);
      });
    this.inFlight.set(channel.id, work);
  }

  /** Log how long the call spent in Stasis, by Asterisk's own clock (StasisStart to StasisEnd). */
  private onStasisEnd(event: Extract<AriEvent, { type: 'StasisEnd' }>): void {
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
  }

  /**
   * After the ARI adapter closed: sends the calls that entered the app while it was closing on to the
   * agents over `rest` (a REST-only connection: the adapter's own REST is closed). Resolves with how many.
   */
  async releaseCallsLeftBehind(rest: Pick<AriPort, 'continueInDialplan'>): Promise<number> {
    const { agents } = this.deps.settings().config.routing;
    const left = [...this.leftBehind.values()];
    this.leftBehind.clear();
    await Promise.all(
      left.map(async ({ channel, args }) => {
        const log = this.deps.logger.child({ callId: channel.id });
        log.warn(
          { channel: channel.name, caller: channel.caller.number },
          'call entered the app while the daemon was closing; sending it to the agents',
        );
        try {
          await rest.continueInDialplan(channel.id, {
            context: agents.context,
            extension: agents.extension ?? didOf(channel, args),
            priority: agents.priority,
          });
        } catch (e) {
          if (statusOf(e) !== 404)
            log.error(
              { err: errorText(e) },
              'could not send the call to the agents; it stays in the app until the caller hangs up or a daemon starts',
            );
        }
      }),
    );
    return left.length;
  }

  /**
   * The ARI event websocket dropped (it reconnects by itself). Asterisk keeps the calls in the app but
   * drops their events until it is back (keys, prompt ends, hang-ups), so nothing that waits for an
   * event can be trusted to end well: every CAPTCHA in flight is abandoned and its caller sent to the
   * agents (CaptchaIvr.linkLost; an outcome already known stands), and every other session (a reject
   * announcement, a call not yet routed) is ended so it does not wait for a PlaybackFinished that will
   * never come. Routing itself only needs REST, which does not depend on the websocket; if REST is down
   * too, the route fails and the orphan sweep after the reconnect (recoverOrphans) picks the call up.
   */
  onAriConnectionLost(reason: string): void {
    const detail = `the ARI connection was lost (${reason}): keys and prompt ends are not seen until it is back`;
    for (const [channelId, session] of this.sessions) {
      const ivr = this.ivrs.get(channelId);
      if (ivr) ivr.linkLost(detail);
      else session.end('abandoned', detail);
    }
  }

  /** Send to the agents every channel that sits in the app with no handler (left by a daemon that died). */
  async recoverOrphans(): Promise<number> {
    const { config } = this.deps.settings();
    const channels = await this.ari.listChannels();
    // a StasisEnd lost while disconnected would leave its call's start time here for good
    const alive = new Set(channels.map((c) => c.id));
    for (const id of this.enteredAt.keys()) if (!alive.has(id)) this.enteredAt.delete(id);
    const now = Date.now();
    const orphans = channels.filter(
      (c) =>
        c.dialplan?.app_name === 'Stasis' &&
        (c.dialplan.app_data ?? '').split(',')[0] === config.ari.app &&
        !this.inFlight.has(c.id) &&
        (!c.creationtime || now - Date.parse(c.creationtime) > ORPHAN_MIN_AGE_MS),
    );
    for (const channel of orphans) {
      const log = this.deps.logger.child({ callId: channel.id });
      log.warn(
        { channel: channel.name, caller: channel.caller.number },
        'call found in the Stasis app with no handler (daemon restarted?); sending it to the agents',
      );
      const did = channel.dialplan?.exten ?? '';
      await this.route(channel.id, config.routing.agents, did, [], log).catch(() => undefined);
    }
    return orphans.length;
  }

  /** A bug in screening must not cost a call: log it and send the caller to the agents. */
  private async failOpen(channel: AriChannel, args: string[], e: unknown): Promise<void> {
    const log = this.deps.logger.child({ callId: channel.id });
    log.error(
      { err: errorText(e), stack: e instanceof Error ? e.stack : undefined },
      'screening failed; sending the call to the agents',
    );
    const did = didOf(channel, args);
    await this.route(channel.id, this.deps.settings().config.routing.agents, did, [], log).catch(() => undefined);
  }

  private async screen(channel: AriChannel, args: string[], session: ChannelSession): Promise<void> {
    const started = performance.now();
    const snapshot = this.deps.settings();
    const log = this.deps.logger.child({ callId: channel.id });
    const did = didOf(channel, args);
    const attestation = attestationOf(args);
    log.debug({ channel: channel.name, caller: channel.caller.number, did, attestation }, 'call entered screening');

    const evaluation = await this.deps.evaluator.evaluate(
      {
        callerNumber: channel.caller.number,
        did,
        at: new Date(),
        ...(attestation !== undefined ? { attestation } : {}),
      },
      snapshot,
      {
        callId: channel.id,
        record: true,
        startedAt: started,
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
    };
    if (historyMs !== undefined) record.historyMs = historyMs;
    if (routed.routeMs !== undefined) record.routeMs = routed.routeMs;
    if (routed.routeError !== undefined) record.routeError = routed.routeError;
    if (routed.captcha) record.captcha = routed.captcha;
    this.logDecision(log, record);
    this.deps.callLog
      .append(record)
      .catch((e: unknown) => log.warn({ err: errorText(e) }, 'screened-call log entry not written'));
    try {
      this.deps.onScreened?.(record);
    } catch (e) {
      log.warn({ err: errorText(e) }, 'onScreened listener failed');
    }
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

  private async route(
    channelId: string,
    dest: DialplanTarget,
    did: string,
    tags: readonly ChannelVariable[],
    log: Logger,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    if ((await this.setTags(channelId, tags, log)) === 'gone')
      return { ok: false, error: 'caller hung up before routing' };
    return this.retrying(
      () =>
        this.ari.continueInDialplan(channelId, {
          context: dest.context,
          extension: dest.extension ?? did,
          priority: dest.priority,
        }),
      log,
      'routing the call',
    );
  }

  /** An ARI request tried up to ROUTE_ATTEMPTS times; 404 = the caller hung up (no retry). */
  private async retrying(
    request: () => Promise<void>,
    log: Logger,
    what: string,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    let lastError = '';
    for (let attempt = 1; attempt <= ROUTE_ATTEMPTS; attempt++) {
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

/** The STIR/SHAKEN attestation the dialplan hands over: Stasis(callscreen,inbound,<DID>,<attestation>). */
function attestationOf(args: string[]): string | undefined {
  const value = args[0] === 'inbound' ? args[2]?.trim() : undefined;
  return value ? value : undefined;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
