/**
 * The spam key: an agent dials a feature code (e.g. *77; dialplan [callscreen-spam-key] hands the call to
 * Stasis with the arguments "spam-key" and the agent's endpoint) right after a call, and the last screened
 * caller that agent answered is reported as spam, through the same feedback store and managed allow list
 * as the review page and `callscreen report`, with the agent's extension in the audit entry. A caller the
 * agent transferred to the code during the call is the one reported (its channel is a call this daemon
 * sent to the agents). The agent hears the confirmation, or that there was nothing to mark; then the
 * daemon hangs up. Never routed anywhere: whatever fails, the channel is hung up, and the failure logged.
 */
import { errorText } from '../../errors/error-text';
import type { AriChannel } from '../../ports/ari';
import type { AnsweredCallStore } from '../../ports/answered-call-store';
import type { FeedbackReport } from '../../ports/feedback-store';
import type { Logger } from '../../ports/logger';
import type { ChannelSession } from '../channel-session';
import type { RecentCallers } from './recent-callers';

/** The Stasis argument [callscreen-spam-key] starts with. */
export const SPAM_KEY_ARG = 'spam-key';

/** A prompt is cut after this long (a file that never ends must not hold the agent's line). */
const PROMPT_MAX_MS = 10_000;

export interface SpamKeySettings {
  confirmation: readonly string[];
  nothingToMark: readonly string[];
  language?: string;
}

export interface SpamKeyDeps {
  store: Pick<AnsweredCallStore, 'take'>;
  recent: Pick<RecentCallers, 'callerOf'>;
  /** records one report like the review page does (recordFeedback: store + managed allow list) */
  report: (report: FeedbackReport) => Promise<unknown>;
  settings: () => SpamKeySettings;
  /** this machine's name, in the audit entry */
  host: string;
  logger: Logger;
}

/** What the code marked, for the log and tests. */
export type SpamKeyOutcome =
  | { marked: string; callId: string; agent: string; how: 'answered' | 'transferred' }
  | { marked: null; agent: string; why: string };

export class SpamKey {
  constructor(private readonly deps: SpamKeyDeps) {}

  /** Handle one call to the spam key; never throws (the channel is hung up whatever happens). */
  async handle(channel: AriChannel, args: readonly string[], session: ChannelSession): Promise<SpamKeyOutcome> {
    const log = this.deps.logger.child({ callId: channel.id });
    const agent = agentArg(args) ?? endpointOfChannel(channel.name) ?? 'unknown';
    let outcome: SpamKeyOutcome;
    try {
      outcome = await this.mark(channel, agent);
    } catch (e) {
      log.error({ err: errorText(e), agent }, 'spam key: the report failed; nothing marked');
      outcome = { marked: null, agent, why: `the report failed: ${errorText(e)}` };
    }
    if (outcome.marked !== null) log.info(outcome, 'spam key: caller marked as spam');
    else log.info(outcome, 'spam key: nothing to mark');
    const settings = this.deps.settings();
    try {
      await session.step(session.ari.answer(channel.id));
      const media = outcome.marked !== null ? settings.confirmation : settings.nothingToMark;
      await session.playToEnd(media, settings.language, PROMPT_MAX_MS);
    } catch (e) {
      log.debug({ err: errorText(e) }, 'spam key: prompt not played to its end');
    }
    await session.ari.hangup(channel.id, 'normal').catch(() => undefined);
    return outcome;
  }

  private async mark(channel: AriChannel, agent: string): Promise<SpamKeyOutcome> {
    // a screened caller transferred to the code during the call: its own channel dialled it
    const transferred = this.deps.recent.callerOf(channel.id);
    if (transferred !== undefined) {
      await this.report(transferred, agent, channel.id, 'transferred to the spam key');
      return { marked: transferred, callId: channel.id, agent, how: 'transferred' };
    }
    const answered = await this.deps.store.take(agent);
    if (!answered) return { marked: null, agent, why: 'no screened call answered on this phone lately' };
    await this.report(answered.e164, agent, answered.callId, 'spam key after the call');
    return { marked: answered.e164, callId: answered.callId, agent, how: 'answered' };
  }

  private async report(e164: string, agent: string, callId: string, what: string): Promise<void> {
    await this.deps.report({
      e164,
      verdict: 'spam',
      agent: `ext ${agent}`,
      note: `${what} (call ${callId})`,
      at: Date.now(),
      host: this.deps.host,
    });
  }
}

/** The agent's endpoint as [callscreen-spam-key] hands it over (letters, digits, - . _ only). */
function agentArg(args: readonly string[]): string | undefined {
  const value = args[1]?.trim();
  return value && /^[-.A-Za-z0-9_]{1,80}$/.test(value) ? value : undefined;
}

/** "PJSIP/agent100-00000031" -> "agent100" */
function endpointOfChannel(name: string): string | undefined {
  const match = /^[^/]+\/(.+)-[0-9a-f]+$/i.exec(name);
  return match?.[1];
}
