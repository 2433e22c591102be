/**
 * Which agent answered which screened caller, for the spam key: watches AMI's DialEnd events and, when a
 * dial answered (DialStatus ANSWER) belongs to a call this daemon sent to the agents (the dialled leg's
 * Linkedid is the inbound channel's id, however many queues, ring groups and Local channels lie between),
 * remembers the caller as the last one that agent answered (the PJSIP endpoint of the answering leg, e.g.
 * PJSIP/agent100-0000002a -> agent100), for feedback.spamKey.withinMinutes. Off the call path: a failed
 * write is logged and forgotten.
 */
import { errorText } from '../../errors/error-text';
import type { AmiMessage, AmiPort } from '../../ports/ami';
import type { AnsweredCallStore } from '../../ports/answered-call-store';
import type { Logger } from '../../ports/logger';
import type { RecentCallers } from './recent-callers';

export interface AgentAnswerWatcherOptions {
  ami: Pick<AmiPort, 'on' | 'off'>;
  recent: Pick<RecentCallers, 'callerOf'>;
  store: Pick<AnsweredCallStore, 'remember'>;
  /** how long an answered call can still be marked (feedback.spamKey.withinMinutes) */
  keepMs: number;
  logger: Logger;
  now?: () => number;
}

export class AgentAnswerWatcher {
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: AgentAnswerWatcherOptions) {
    this.now = options.now ?? Date.now;
    options.ami.on('event', this.onEvent);
  }

  private readonly onEvent = (event: AmiMessage): void => {
    if (this.closed || event.event?.toLowerCase() !== 'dialend') return;
    if (event.dialstatus?.toUpperCase() !== 'ANSWER') return;
    const callId = event.destlinkedid ?? event.linkedid;
    const agent = agentOf(event.destchannel ?? '');
    if (!callId || !agent) return;
    const e164 = this.options.recent.callerOf(callId);
    if (e164 === undefined) return; // not a call this daemon screened (an outbound call, an internal one)
    const call = { e164, callId, at: this.now() };
    this.options.store
      .remember(agent, call, this.options.keepMs)
      .then(() => this.options.logger.debug({ callId, agent, number: e164 }, 'agent answered a screened call'))
      .catch((e: unknown) =>
        this.options.logger.warn({ err: errorText(e), callId, agent }, 'answered call not remembered for the spam key'),
      );
  };

  /** Stops watching; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.ami.off('event', this.onEvent);
  }
}

/**
 * The agent's phone of a channel: its endpoint, "PJSIP/agent100-0000002a" -> "agent100"; undefined for a Local
 * channel (a hop inside the dialplan, not a phone) or a name that is not technology/endpoint-sequence.
 */
export function agentOf(channel: string): string | undefined {
  const slash = channel.indexOf('/');
  const dash = channel.lastIndexOf('-');
  if (slash < 0 || dash <= slash + 1) return undefined;
  if (channel.slice(0, slash).toLowerCase() === 'local') return undefined;
  return channel.slice(slash + 1, dash);
}
