/**
 * AriPort: the few parts of the Asterisk REST Interface that callscreen needs, as one narrow typed
 * interface. Two adapters implement it (src/adapters/ari/native-ari.ts on fetch + ws, and
 * src/adapters/ari/ari-client-ari.ts on the ari-client package); test/contract/ari-port.contract.ts
 * runs the same suite against both on a real Asterisk.
 *
 * Contract, for every adapter:
 * - start() connects the event websocket for `apps` and resolves once it is open (the apps are then
 *   registered in Asterisk). It rejects only if the very first connection cannot be made inside
 *   `connectTimeoutMs` (start() may then be called again to retry); after it resolved, the adapter reconnects by itself forever (jittered backoff)
 *   until close(), re-registering the apps, and reports every change through 'state'.
 * - Every REST call has a timeout (`requestTimeoutMs`) and rejects with AriTimeoutError, or with
 *   AriRequestError carrying the HTTP status, or AriUnavailableError (closed / connection refused).
 *   A REST call never hangs and never throws synchronously.
 * - Event frames that are malformed or of an unknown type never crash the process or stop delivery:
 *   unknown types are passed on as they are, malformed frames are reported through 'error' and dropped.
 * - close() is idempotent (the same promise every time), stops reconnecting, closes the websocket and
 *   makes later REST calls reject with AriUnavailableError.
 */

export interface AriCallerId {
  name: string;
  number: string;
}

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  caller: AriCallerId;
  connected?: AriCallerId;
  dialplan?: { context: string; exten: string; priority: number; app_name?: string; app_data?: string };
  creationtime?: string;
  language?: string;
}

export interface AriPlayback {
  id: string;
  media_uri: string;
  target_uri: string;
  state: string;
}

/** Events the daemon acts on, typed; every other event type arrives as AriOtherEvent. */
export type AriEvent =
  | {
      type: 'StasisStart';
      application: string;
      timestamp?: string;
      args: string[];
      channel: AriChannel;
      replace_channel?: AriChannel;
    }
  | { type: 'StasisEnd'; application: string; timestamp?: string; channel: AriChannel }
  | {
      type: 'ChannelDtmfReceived';
      application: string;
      timestamp?: string;
      digit: string;
      duration_ms: number;
      channel: AriChannel;
    }
  | {
      type: 'ChannelHangupRequest';
      application: string;
      timestamp?: string;
      cause?: number;
      soft?: boolean;
      channel: AriChannel;
    }
  | {
      type: 'ChannelDestroyed';
      application: string;
      timestamp?: string;
      cause: number;
      cause_txt: string;
      channel: AriChannel;
    }
  | { type: 'PlaybackStarted' | 'PlaybackFinished'; application: string; timestamp?: string; playback: AriPlayback }
  | AriOtherEvent;

export interface AriOtherEvent {
  type: string;
  application?: string;
  timestamp?: string;
  [key: string]: unknown;
}

export type AriConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface AriStateChange {
  state: AriConnectionState;
  previous: AriConnectionState;
  /** attempt number while reconnecting (1 = first retry) */
  attempt?: number;
  /** delay before the next attempt while reconnecting */
  delayMs?: number;
  /** why the connection went down, when it did */
  reason?: string;
}

export interface AriPortOptions {
  /** base URL of Asterisk's HTTP server, e.g. http://127.0.0.1:8088 (with or without a trailing /ari) */
  url: string;
  username: string;
  password: string;
  /** Stasis applications to register on the websocket */
  apps: string[];
  /** per REST call; default 2000 */
  requestTimeoutMs?: number;
  /** first connection in start(); default 10000 */
  connectTimeoutMs?: number;
  /** each reconnect attempt after a lost link; default 2000 */
  reconnectTimeoutMs?: number;
  /** reconnect backoff: first delay and cap; defaults 250 and 5000, full jitter */
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** for quickReconnectForMs after the link was lost the cap is quickReconnectMaxDelayMs; defaults 60000 / 1000 */
  quickReconnectForMs?: number;
  quickReconnectMaxDelayMs?: number;
  /** liveness: ping the connection this often and drop it if no answer within pongTimeoutMs; defaults 500 / 600 */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
}

/** A channel variable to set: its name (a dialplan function such as CDR(userfield) too) and value. */
export type ChannelVariable = readonly [name: string, value: string];

/** A variable that continueWithVariables could not set (the call was continued without it). */
export interface UnsetVariable {
  name: string;
  error: unknown;
}

export interface ContinueTarget {
  context: string;
  extension: string;
  priority?: number;
  label?: string;
}

export interface OriginateRequest {
  endpoint: string;
  /** the Stasis app that gets the originated channel */
  app?: string;
  appArgs?: string;
  /** or, instead of app: a dialplan target */
  context?: string;
  extension?: string;
  priority?: number;
  callerId?: string;
  timeoutSec?: number;
  variables?: Record<string, string>;
  channelId?: string;
  otherChannelId?: string;
}

export interface AriPlayRequest {
  /** one or more media URIs: sound:hello-world, digits:47, tone:... */
  media: string | string[];
  lang?: string;
  playbackId?: string;
}

export interface AsteriskInfo {
  version: string;
  entityId?: string;
}

export type AriEventListener = (event: AriEvent) => void;
export type AriStateListener = (change: AriStateChange) => void;
export type AriErrorListener = (error: Error) => void;

export interface AriPort {
  /** 'native' or 'ari-client' */
  readonly kind: string;
  readonly state: AriConnectionState;

  start(): Promise<void>;
  close(): Promise<void>;

  on(event: 'event', listener: AriEventListener): this;
  on(event: 'state', listener: AriStateListener): this;
  on(event: 'error', listener: AriErrorListener): this;
  off(event: 'event', listener: AriEventListener): this;
  off(event: 'state', listener: AriStateListener): this;
  off(event: 'error', listener: AriErrorListener): this;

  // --- REST: channels
  continueInDialplan(channelId: string, target: ContinueTarget): Promise<void>;
  /**
   * Routing a call: sets the variables, then continues the channel at the target, in that order (the
   * dialplan there reads them). Resolves with the variables that could not be set (the call went on
   * without them); rejects as continueInDialplan does (404: the channel is gone, also when a variable
   * found it gone). Where Asterisk takes REST requests over the event websocket (20.14, 21.9, 22.4 and
   * later) the native adapter sends them all there at once: Asterisk handles a websocket's requests in
   * the order sent, so the route costs one round trip instead of two.
   */
  continueWithVariables(
    channelId: string,
    variables: readonly ChannelVariable[],
    target: ContinueTarget,
  ): Promise<UnsetVariable[]>;
  answer(channelId: string): Promise<void>;
  hangup(channelId: string, reason?: string): Promise<void>;
  setChannelVar(channelId: string, variable: string, value: string): Promise<void>;
  getChannelVar(channelId: string, variable: string): Promise<string>;
  play(channelId: string, request: AriPlayRequest): Promise<AriPlayback>;
  stopPlayback(playbackId: string): Promise<void>;
  sendDtmf(
    channelId: string,
    dtmf: string,
    options?: { before?: number; between?: number; duration?: number; after?: number },
  ): Promise<void>;
  originate(request: OriginateRequest): Promise<AriChannel>;
  getChannel(channelId: string): Promise<AriChannel>;
  listChannels(): Promise<AriChannel[]>;
  // --- REST: Asterisk and applications
  listApplications(): Promise<string[]>;
  asteriskInfo(): Promise<AsteriskInfo>;
}
