/**
 * The screened calls this daemon sent to the agents lately: call id (the inbound channel's) -> the caller's
 * E.164 number. The agent-answer watcher asks it which caller an agent answered (AMI's Linkedid of the agent's
 * leg is the inbound channel's id, through queues, ring groups and Local channels alike), and the spam key
 * asks it whether the channel that dialled the code is a screened caller transferred there. Bounded in
 * size and age; in memory only (each daemon knows the calls it screened).
 */
const MAX_CALLS = 20_000;

export class RecentCallers {
  private readonly calls = new Map<string, { e164: string; at: number }>();

  constructor(
    private readonly keepMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A call from `e164` went on to the agents. */
  remember(callId: string, e164: string): void {
    if (this.calls.size >= MAX_CALLS) this.forgetOld();
    if (this.calls.size >= MAX_CALLS) this.calls.delete(this.calls.keys().next().value as string);
    this.calls.set(callId, { e164, at: this.now() });
  }

  /** The caller of a call sent to the agents within keepMs, or undefined. */
  callerOf(callId: string): string | undefined {
    const call = this.calls.get(callId);
    if (!call) return undefined;
    if (this.now() - call.at > this.keepMs) {
      this.calls.delete(callId);
      return undefined;
    }
    return call.e164;
  }

  private forgetOld(): void {
    const cutoff = this.now() - this.keepMs;
    // insertion order is time order: stop at the first call young enough
    for (const [id, call] of this.calls) {
      if (call.at > cutoff) break;
      this.calls.delete(id);
    }
  }
}
