/**
 * Which screened caller an agent's phone answered last: written when an agent answers a screened call (seen
 * over AMI), taken by the spam key (src/calls/spam-key/). Implemented on Redis by
 * src/adapters/redis/redis-answered-call-store.ts, so every daemon of a PBX sees the same answer.
 */

/** One answered call, as the spam key needs it. */
export interface AnsweredCall {
  /** the caller, E.164 */
  e164: string;
  /** the screened call's id (its inbound channel's) */
  callId: string;
  /** epoch ms the agent answered */
  at: number;
}

export interface AnsweredCallStore {
  /** Remember `call` as the last one `agent` (a PJSIP endpoint name) answered, for `keepMs`. */
  remember(agent: string, call: AnsweredCall, keepMs: number): Promise<void>;
  /** The last call `agent` answered, and forget it (a second press marks nothing); null when none is kept. */
  take(agent: string): Promise<AnsweredCall | null>;
}
