/**
 * CallScreener: what happens to one inbound call. StasisStart -> facts -> one reputation lookup
 * bounded by the decision deadline -> screenCall (pure) -> tag the channel -> continue it in the
 * dialplan to the verdict's target -> one log line and one screened-call log entry.
 *
 * Fail-open everywhere: a lookup that fails or is late makes the decision degraded, not slow; a route
 * that cannot be set leaves the call to the dialplan's fallback (agents); a call found in the app
 * with nobody handling it (left over from a daemon that died) is sent to the agents.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { errorText, type CallEvaluator } from './call-evaluator';
import type { Decision, Verdict } from './domain/decision';
import { explainDecision, topReasons } from './domain/decision';
import { describePhoneNumber } from './domain/phone-number';
import type { CallscreenConfig } from './config/schema';
import type { Logger } from './logger';
import type { AriChannel, AriEvent, AriPort } from './ports/ari';
import type { CallLog, ScreenedCallRecord } from './ports/call-log';

export interface CallScreenerDeps {
  ari: AriPort;
  evaluator: CallEvaluator;
  callLog: CallLog;
  logger: Logger;
  config: CallscreenConfig;
}

type Target = 'agents' | 'voicemail';

/** Channels older than this found in the app without a handler are orphans of an earlier daemon. */
const ORPHAN_MIN_AGE_MS = 2000;
const ROUTE_ATTEMPTS = 3;

export class CallScreener {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Asterisk's StasisStart timestamp per screened channel, until its StasisEnd */
  private readonly enteredAt = new Map<string, string>();
  private draining = false;
  private readonly host = hostname();

  constructor(private readonly deps: CallScreenerDeps) {}

  get callsInFlight(): number {
    return this.inFlight.size;
  }

  /** AriPort 'event' listener. */
  readonly onAriEvent = (event: AriEvent): void => {
    if (event.application !== this.deps.config.ari.app) return;
    if (event.type === 'StasisEnd') return this.onStasisEnd(event as Extract<AriEvent, { type: 'StasisEnd' }>);
    if (event.type !== 'StasisStart') return;
    const { channel, args, timestamp } = event as Extract<AriEvent, { type: 'StasisStart' }>;
    if (this.inFlight.has(channel.id)) return;
    if (timestamp) this.enteredAt.set(channel.id, timestamp);
    const work = this.screen(channel, args)
      .catch((e: unknown) => this.failOpen(channel, args, e))
      .finally(() => this.inFlight.delete(channel.id));
    this.inFlight.set(channel.id, work);
  };

  /** Log how long the call spent in Stasis, by Asterisk's own clock (StasisStart to StasisEnd). */
  private onStasisEnd(event: Extract<AriEvent, { type: 'StasisEnd' }>): void {
    const entered = this.enteredAt.get(event.channel.id);
    if (entered === undefined) return;
    this.enteredAt.delete(event.channel.id);
    const stasisMs = event.timestamp ? Date.parse(event.timestamp) - Date.parse(entered) : undefined;
    this.deps.logger.child({ callId: event.channel.id }).debug({ stasisMs }, 'call left screening');
  }

  /** Stop screening new calls against Redis (they are decided on local facts only) and wait for calls in flight. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const all = Promise.allSettled([...this.inFlight.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Send to the agents every channel that sits in the app with no handler (left by a daemon that died). */
  async recoverOrphans(): Promise<number> {
    const app = this.deps.config.ari.app;
    const channels = await this.deps.ari.listChannels();
    const now = Date.now();
    const orphans = channels.filter(
      (c) =>
        c.dialplan?.app_name === 'Stasis' &&
        (c.dialplan.app_data ?? '').split(',')[0] === app &&
        !this.inFlight.has(c.id) &&
        (!c.creationtime || now - Date.parse(c.creationtime) > ORPHAN_MIN_AGE_MS),
    );
    for (const channel of orphans) {
      const log = this.deps.logger.child({ callId: channel.id });
      log.warn({ channel: channel.name, caller: channel.caller.number }, 'call found in the Stasis app with no handler (daemon restarted?); sending it to the agents');
      const did = channel.dialplan?.exten ?? '';
      await this.route(channel, did, 'agents', log).catch(() => undefined);
    }
    return orphans.length;
  }

  /** A bug in screening must not cost a call: log it and send the caller to the agents. */
  private async failOpen(channel: AriChannel, args: string[], e: unknown): Promise<void> {
    const log = this.deps.logger.child({ callId: channel.id });
    log.error({ err: errorText(e), stack: e instanceof Error ? e.stack : undefined }, 'screening failed; sending the call to the agents');
    const did = didOf(channel, args);
    await this.route(channel, did, 'agents', log).catch(() => undefined);
  }

  private async screen(channel: AriChannel, args: string[]): Promise<void> {
    const started = performance.now();
    const log = this.deps.logger.child({ callId: channel.id });
    const did = didOf(channel, args);
    const attestation = attestationOf(args);
    log.debug({ channel: channel.name, caller: channel.caller.number, did, attestation }, 'call entered screening');

    const { decision, historyMs } = await this.deps.evaluator.evaluate(
      { callerNumber: channel.caller.number, did, at: new Date(), ...(attestation !== undefined ? { attestation } : {}) },
      { callId: channel.id, record: true, startedAt: started, ...(this.draining ? { skipHistory: 'the daemon is shutting down' } : {}) },
    );
    const decisionMs = round(performance.now() - started);
    const target = targetFor(decision.verdict);

    const routed = await this.route(channel, did, target, log, decision);
    const record: ScreenedCallRecord = {
      callId: channel.id,
      at: decision.at,
      channel: channel.name,
      decision,
      routedTo: routed.ok ? target : 'none',
      decisionMs,
      host: this.host,
    };
    if (historyMs !== undefined) record.historyMs = historyMs;
    if (routed.ok) record.routeMs = round(performance.now() - started);
    else record.routeError = routed.error;
    this.logDecision(log, record);
    this.deps.callLog.append(record).catch((e: unknown) => log.warn({ err: errorText(e) }, 'screened-call log entry not written'));
  }

  private async route(channel: AriChannel, did: string, target: Target, log: Logger, decision?: Decision): Promise<{ ok: true } | { ok: false; error: string }> {
    const { ari, config } = this.deps;
    const dest = config.routing[target];
    let lastError = '';
    for (let attempt = 1; attempt <= ROUTE_ATTEMPTS; attempt++) {
      try {
        if (decision) await ari.setChannelVar(channel.id, 'CALLSCREEN_VERDICT', decision.verdict);
        await ari.continueInDialplan(channel.id, { context: dest.context, extension: dest.extension ?? did, priority: dest.priority });
        return { ok: true };
      } catch (e) {
        lastError = errorText(e);
        const status = (e as { statusCode?: number }).statusCode;
        if (status === 404) return { ok: false, error: `caller hung up before routing (${lastError})` };
        log.warn({ err: lastError, attempt }, 'routing the call failed; retrying');
        await new Promise((r) => setTimeout(r, 25 * attempt));
      }
    }
    log.error({ err: lastError }, 'could not route the call; the dialplan fallback sends it to the agents when the app lets go of it');
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

/** The DID: Stasis(callscreen,inbound,<DID>) passes it; otherwise the extension the call came in on. */
function didOf(channel: AriChannel, args: string[]): string {
  return args[0] === 'inbound' && args[1] !== undefined ? args[1] : (channel.dialplan?.exten ?? '');
}

/** The STIR/SHAKEN attestation the dialplan hands over: Stasis(callscreen,inbound,<DID>,<attestation>). */
function attestationOf(args: string[]): string | undefined {
  const value = args[0] === 'inbound' ? args[2]?.trim() : undefined;
  return value ? value : undefined;
}

/**
 * Where each verdict continues in the dialplan. The CAPTCHA IVR (challenge) and the reject treatment
 * are not built yet: until they are, a challenged call goes to the agents tagged CALLSCREEN_VERDICT=
 * challenge (a real customer must not lose the call to an IVR that does not exist), and a rejected one
 * goes to voicemail, where nothing is lost.
 */
function targetFor(verdict: Verdict): Target {
  return verdict === 'allow' || verdict === 'challenge' ? 'agents' : 'voicemail';
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
