/**
 * AmiPort: the Asterisk Manager Interface as callscreen uses it, behind promises.
 * The adapter (src/adapters/ami/asterisk-manager-ami.ts) wraps the asterisk-manager package.
 *
 * Contract:
 * - start() connects and logs in; resolves once logged in, rejects if that fails inside connectTimeoutMs.
 *   After that the adapter reconnects by itself until close(), and reports state changes through 'state'.
 * - action() resolves with the response (keys as Asterisk sends them, first letter upper case kept as
 *   the package gives them: lower-cased), rejects with AmiActionError on Response: Error, with
 *   AmiTimeoutError after `actionTimeoutMs`, and with AmiDisconnectedError when the connection drops while
 *   it is pending or when sent while not connected. Never hangs.
 * - listAction() collects the events of an EventList action (e.g. CoreShowChannels) by ActionID until
 *   the ...Complete event, with the same timeout and disconnect rules.
 * - 'event' delivers every manager event as a flat record with lower-cased keys (as asterisk-manager
 *   gives them), e.g. { event: 'UserEvent', userevent: 'AgentReached', callerid: '+4930...' }.
 * - close() is idempotent.
 */

export type AmiMessage = Record<string, string | undefined>;
export type AmiAction = Record<string, string | number | boolean | undefined> & { action: string };

export type AmiConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface AmiPortOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  /** per action; default 5000 */
  actionTimeoutMs?: number;
  /** first login in start(); default 10000 */
  connectTimeoutMs?: number;
}

export interface AmiPort {
  readonly state: AmiConnectionState;
  start(): Promise<void>;
  close(): Promise<void>;
  action(action: AmiAction, options?: { timeoutMs?: number }): Promise<AmiMessage>;
  listAction(
    action: AmiAction,
    options?: { timeoutMs?: number },
  ): Promise<{ response: AmiMessage; events: AmiMessage[] }>;
  on(event: 'event', listener: (event: AmiMessage) => void): this;
  on(
    event: 'state',
    listener: (change: { state: AmiConnectionState; previous: AmiConnectionState; reason?: string }) => void,
  ): this;
  on(event: 'error', listener: (error: Error) => void): this;
  off(event: 'event', listener: (event: AmiMessage) => void): this;
  off(
    event: 'state',
    listener: (change: { state: AmiConnectionState; previous: AmiConnectionState; reason?: string }) => void,
  ): this;
  off(event: 'error', listener: (error: Error) => void): this;
}
