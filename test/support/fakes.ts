/**
 * In-memory fakes of the ports, for every unit test that needs one: an ARI that records its requests
 * and lets a test deliver events and script failures, a call log, a caller history store, and a logger
 * whose lines a test can read. Each implements its port (TypeScript checks it), does the least that is
 * honest, and nothing else. The real adapters are tested against Asterisk and Redis in test/contract and
 * test/integration.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import type { CallerHistory } from '../../src/domain/caller-history';
import { AriRequestError } from '../../src/errors/ari-request-error';
import type {
  AriChannel,
  AriConnectionState,
  AriErrorListener,
  AriEvent,
  AriEventListener,
  AriPlayback,
  AriPort,
  AriStateListener,
  AsteriskInfo,
  ChannelVariable,
  ContinueTarget,
  OriginateRequest,
  AriPlayRequest,
  UnsetVariable,
} from '../../src/ports/ari';
import { variablesThenContinue } from '../../src/adapters/ari/continue-with-variables';
import type { CallLog, ScreenedCallRecord } from '../../src/ports/call-log';
import type { CallerHistoryQuery, CallerHistoryStore } from '../../src/ports/caller-history-store';
import type { Logger } from '../../src/ports/logger';

/** Lifecycle steps of several fakes in one order ('ari.start', 'callLog.close', ...), when a test wants it. */
export type Journal = string[];

// ---------------------------------------------------------------------------------------------------
// ARI

/** The REST requests of the port, by name. */
export type AriRestMethod = Exclude<keyof AriPort, 'kind' | 'state' | 'start' | 'close' | 'on' | 'off'>;

/** One request the fake was asked, with its arguments as the caller passed them. */
export type AriRequest = { [M in AriRestMethod]: { method: M; args: Parameters<AriPort[M]> } }[AriRestMethod];

/**
 * What a scripted request does instead of succeeding: an HTTP status (AriRequestError with it, as the
 * adapters reject), any other error, or 'hang' (never settles; the adapters' timeout is not faked).
 */
export type AriFailure = number | Error | 'hang';

interface ScriptedFailure {
  method: AriRestMethod | 'start';
  failure: AriFailure;
  channelId: string | undefined;
  times: number;
}

export interface FakeAriOptions {
  /** the Stasis app the events name (default 'callscreen') */
  app?: string;
  /** where start and close are noted, as `<name>.start` / `<name>.close` */
  journal?: Journal;
  /** default 'ari' */
  name?: string;
}

/**
 * An AriPort in memory. Every REST request is recorded in `requests`, in order, and succeeds unless a
 * failure was scripted for it (`fail`). A playback ends (PlaybackFinished) after `playbackMs`, unless its
 * first medium is listed in `endlessMedia` (then it plays until stopped). Events reach the listeners
 * only when the test delivers them (`emit`, or the helpers startCall, press, hangUp, ...).
 */
export class FakeAri implements AriPort {
  readonly kind = 'fake';
  readonly app: string;
  readonly requests: AriRequest[] = [];
  /** what listChannels answers */
  channels: AriChannel[] = [];
  /** ms from a play request to its PlaybackFinished */
  playbackMs = 1;
  /** playbacks whose first medium is one of these play until stopped */
  endlessMedia: string[] = [];
  /** called after each request was recorded (and before it settles): a test reacts here */
  onRequest: (request: AriRequest) => void = () => undefined;
  private currentState: AriConnectionState = 'idle';
  private readonly emitter = new EventEmitter();
  private readonly failures: ScriptedFailure[] = [];
  private readonly playing = new Map<string, { channelId: string; timer: NodeJS.Timeout | undefined }>();
  private readonly journal: Journal | undefined;
  private readonly name: string;
  private playbackCount = 0;

  constructor(options: FakeAriOptions = {}) {
    this.app = options.app ?? 'callscreen';
    this.journal = options.journal;
    this.name = options.name ?? 'ari';
  }

  get state(): AriConnectionState {
    return this.currentState;
  }

  /**
   * The next `times` requests of `method` (to `channelId`, when given) fail this way. `times` may be
   * Infinity. Scripted failures are used up in the order they were scripted.
   */
  fail(
    method: AriRestMethod | 'start',
    failure: AriFailure,
    options: { channelId?: string; times?: number } = {},
  ): this {
    this.failures.push({ method, failure, channelId: options.channelId, times: options.times ?? 1 });
    return this;
  }

  /** the recorded requests of one kind */
  requestsOf<M extends AriRestMethod>(method: M): Array<Extract<AriRequest, { method: M }>> {
    return this.requests.filter((r): r is Extract<AriRequest, { method: M }> => r.method === method);
  }

  // --- lifecycle

  start(): Promise<void> {
    this.journal?.push(`${this.name}.start`);
    const failed = this.scripted('start', undefined);
    if (failed) return failed;
    this.setState('connecting');
    this.setState('connected');
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.journal?.push(`${this.name}.close`);
    for (const { timer } of this.playing.values()) clearTimeout(timer);
    this.playing.clear();
    if (this.currentState !== 'closed') this.setState('closed');
    return Promise.resolve();
  }

  /** what the adapters report through 'state', e.g. a lost websocket ('reconnecting') */
  setState(state: AriConnectionState, details: { reason?: string; attempt?: number } = {}): void {
    const previous = this.currentState;
    this.currentState = state;
    this.emitter.emit('state', { state, previous, ...details });
  }

  on(event: 'event', listener: AriEventListener): this;
  on(event: 'state', listener: AriStateListener): this;
  on(event: 'error', listener: AriErrorListener): this;
  on(event: 'event' | 'state' | 'error', listener: AriEventListener | AriStateListener | AriErrorListener): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: 'event', listener: AriEventListener): this;
  off(event: 'state', listener: AriStateListener): this;
  off(event: 'error', listener: AriErrorListener): this;
  off(event: 'event' | 'state' | 'error', listener: AriEventListener | AriStateListener | AriErrorListener): this {
    this.emitter.off(event, listener);
    return this;
  }

  // --- events, delivered by the test

  emit(event: AriEvent): void {
    this.emitter.emit('event', event);
  }

  /** A call enters the app: Stasis(<app>,<args...>). */
  startCall(channel: AriChannel, args: string[] = []): void {
    this.emit({ type: 'StasisStart', application: this.app, timestamp: new Date().toISOString(), args, channel });
  }

  /** The caller presses keys, one ChannelDtmfReceived each. */
  press(channel: AriChannel, digits: string): void {
    for (const digit of digits)
      this.emit({ type: 'ChannelDtmfReceived', application: this.app, digit, duration_ms: 100, channel });
  }

  /** The caller hangs up: ChannelHangupRequest, StasisEnd and ChannelDestroyed, as Asterisk sends them. */
  hangUp(channel: AriChannel): void {
    this.emit({ type: 'ChannelHangupRequest', application: this.app, cause: 16, channel });
    this.emit({ type: 'StasisEnd', application: this.app, timestamp: new Date().toISOString(), channel });
    this.emit({ type: 'ChannelDestroyed', application: this.app, cause: 16, cause_txt: 'Normal Clearing', channel });
  }

  // --- REST

  continueInDialplan(channelId: string, target: ContinueTarget): Promise<void> {
    return this.request({ method: 'continueInDialplan', args: [channelId, target] }, channelId, undefined);
  }

  /** As the HTTP adapters do it: each variable, then the continue (each recorded as its own request). */
  continueWithVariables(
    channelId: string,
    variables: readonly ChannelVariable[],
    target: ContinueTarget,
  ): Promise<UnsetVariable[]> {
    return variablesThenContinue(this, channelId, variables, target);
  }

  answer(channelId: string): Promise<void> {
    return this.request({ method: 'answer', args: [channelId] }, channelId, undefined);
  }

  hangup(channelId: string, reason?: string): Promise<void> {
    return this.request({ method: 'hangup', args: [channelId, reason] }, channelId, undefined);
  }

  setChannelVar(channelId: string, variable: string, value: string): Promise<void> {
    return this.request({ method: 'setChannelVar', args: [channelId, variable, value] }, channelId, undefined);
  }

  getChannelVar(channelId: string, variable: string): Promise<string> {
    const value = this.requestsOf('setChannelVar')
      .filter((r) => r.args[0] === channelId && r.args[1] === variable)
      .at(-1)?.args[2];
    return this.request({ method: 'getChannelVar', args: [channelId, variable] }, channelId, value ?? '');
  }

  play(channelId: string, request: AriPlayRequest): Promise<AriPlayback> {
    const media = [request.media].flat();
    const id = request.playbackId ?? `fake-playback-${++this.playbackCount}`;
    const playback: AriPlayback = {
      id,
      media_uri: media.join(','),
      target_uri: `channel:${channelId}`,
      state: 'queued',
    };
    return this.request({ method: 'play', args: [channelId, request] }, channelId, playback).then((started) => {
      const endless = this.endlessMedia.includes(media[0] ?? '');
      const timer = endless ? undefined : setTimeout(() => this.finishPlayback(id), this.playbackMs);
      this.playing.set(id, { channelId, timer });
      return started;
    });
  }

  stopPlayback(playbackId: string): Promise<void> {
    const result = this.request({ method: 'stopPlayback', args: [playbackId] }, undefined, undefined);
    const playing = this.playing.get(playbackId);
    if (playing) {
      clearTimeout(playing.timer);
      setImmediate(() => this.finishPlayback(playbackId));
    }
    return result;
  }

  /** The playback ends (by itself, or stopped): PlaybackFinished to the listeners. */
  finishPlayback(playbackId: string): void {
    const playing = this.playing.get(playbackId);
    if (!playing) return;
    this.playing.delete(playbackId);
    this.emit({
      type: 'PlaybackFinished',
      application: this.app,
      playback: { id: playbackId, media_uri: '', target_uri: `channel:${playing.channelId}`, state: 'done' },
    });
  }

  sendDtmf(
    channelId: string,
    dtmf: string,
    options?: { before?: number; between?: number; duration?: number; after?: number },
  ): Promise<void> {
    return this.request({ method: 'sendDtmf', args: [channelId, dtmf, options] }, channelId, undefined);
  }

  originate(request: OriginateRequest): Promise<AriChannel> {
    const channel = fakeChannel(request.channelId ?? `fake-${this.requests.length + 1}`, request.callerId ?? '');
    return this.request({ method: 'originate', args: [request] }, undefined, channel);
  }

  /** one of `channels`; any other answers 404 */
  getChannel(channelId: string): Promise<AriChannel> {
    const channel = this.channels.find((c) => c.id === channelId);
    if (!channel) this.fail('getChannel', 404, { channelId });
    return this.request({ method: 'getChannel', args: [channelId] }, channelId, channel as AriChannel);
  }

  listChannels(): Promise<AriChannel[]> {
    return this.request({ method: 'listChannels', args: [] }, undefined, [...this.channels]);
  }

  listApplications(): Promise<string[]> {
    return this.request({ method: 'listApplications', args: [] }, undefined, [this.app]);
  }

  asteriskInfo(): Promise<AsteriskInfo> {
    return this.request({ method: 'asteriskInfo', args: [] }, undefined, { version: 'fake' });
  }

  private request<T>(request: AriRequest, channelId: string | undefined, value: T): Promise<T> {
    this.requests.push(request);
    this.onRequest(request);
    return this.scripted(request.method, channelId) ?? Promise.resolve(value);
  }

  /** The rejection (or hang) scripted for this request, using it up; undefined when none applies. */
  private scripted(method: AriRestMethod | 'start', channelId: string | undefined): Promise<never> | undefined {
    const index = this.failures.findIndex(
      (f) => f.method === method && (f.channelId === undefined || f.channelId === channelId),
    );
    const scripted = this.failures[index];
    if (!scripted) return undefined;
    if (--scripted.times <= 0) this.failures.splice(index, 1);
    const { failure } = scripted;
    if (failure === 'hang') return new Promise<never>(() => undefined);
    if (typeof failure !== 'number') return Promise.reject(failure);
    return Promise.reject(
      new AriRequestError({
        statusCode: failure,
        method: method === 'start' ? 'GET' : 'POST',
        path: channelId ? `/channels/${channelId}` : `/${method}`,
        responseMessage: failure === 404 ? 'Channel not found' : 'fake failure',
      }),
    );
  }
}

/** A channel as ARI describes it; `number` is the caller ID number. */
export function fakeChannel(id: string, number: string, overrides: Partial<AriChannel> = {}): AriChannel {
  return { id, name: `PJSIP/trunk-${id}`, state: 'Ring', caller: { name: '', number }, ...overrides };
}

// ---------------------------------------------------------------------------------------------------
// Screened-call log

/** A CallLog in memory: appended records in `records`; `failWith` makes append reject. */
export class FakeCallLog implements CallLog {
  readonly records: ScreenedCallRecord[] = [];
  /** every append, the failed ones too */
  appends = 0;
  /** when set, append rejects with it (and keeps nothing) */
  failWith: Error | undefined;

  constructor(private readonly journal?: Journal) {}

  append(record: ScreenedCallRecord): Promise<void> {
    this.appends += 1;
    if (this.failWith) return Promise.reject(this.failWith);
    this.records.push(record);
    return Promise.resolve();
  }

  recent(count: number): Promise<ScreenedCallRecord[]> {
    return Promise.resolve(this.records.slice(-count).reverse());
  }

  // the retention job's lifecycle, as the daemon drives it on the Redis log
  startRetention(): void {
    this.journal?.push('callLog.startRetention');
  }

  close(): Promise<void> {
    this.journal?.push('callLog.close');
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------------
// Caller history

/** A caller nobody knows: not listed, this one call in every window, no CAPTCHA history. */
export function cleanHistory(query: CallerHistoryQuery, overrides: Partial<CallerHistory> = {}): CallerHistory {
  return {
    reputation: { entries: [] },
    numberCalls: query.numberWindowsSeconds.map((windowSeconds) => ({ windowSeconds, calls: 1 })),
    blockCalls: query.blockWindowsSeconds.map((windowSeconds) => ({ windowSeconds, calls: 1 })),
    captcha: { failures: 0 },
    ...overrides,
  };
}

/**
 * A CallerHistoryStore in memory. Records every query, CAPTCHA outcome and reached person; answers with `answer`
 * (default: a clean history), which the helpers set: returns, fails, answersAfter, neverAnswers.
 */
export class FakeCallerHistoryStore implements CallerHistoryStore {
  readonly queries: CallerHistoryQuery[] = [];
  readonly captchaOutcomes: Array<{ e164: string; outcome: 'passed' | 'failed'; at: number }> = [];
  answer: (query: CallerHistoryQuery) => Promise<CallerHistory> = (query) => Promise.resolve(cleanHistory(query));
  /** when set, recordCaptchaOutcome rejects with it */
  failCaptchaWith: Error | undefined;
  /** calls recorded as having reached a person (recordReachedHuman) */
  readonly reachedHuman: Array<{ e164: string; did: string; at: number }> = [];
  /** when set, recordReachedHuman rejects with it */
  failReachedHumanWith: Error | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  fetch(query: CallerHistoryQuery): Promise<CallerHistory> {
    this.queries.push(query);
    return this.answer(query);
  }

  recordCaptchaOutcome(e164: string, outcome: 'passed' | 'failed', at: number): Promise<void> {
    this.captchaOutcomes.push({ e164, outcome, at });
    return this.failCaptchaWith ? Promise.reject(this.failCaptchaWith) : Promise.resolve();
  }

  recordReachedHuman(e164: string, did: string, at: number): Promise<void> {
    this.reachedHuman.push({ e164, did, at });
    return this.failReachedHumanWith ? Promise.reject(this.failReachedHumanWith) : Promise.resolve();
  }

  /** numbers recorded as called by the business (recordCalledByUs) */
  readonly calledByUs: Array<{ e164: string; at: number; keepMs: number }> = [];

  recordCalledByUs(e164: string, at: number, keepMs: number): Promise<void> {
    this.calledByUs.push({ e164, at, keepMs });
    return Promise.resolve();
  }

  /** answer every query with this history (over a clean one) */
  returns(overrides: Partial<CallerHistory>): this {
    this.answer = (query) => Promise.resolve(cleanHistory(query, overrides));
    return this;
  }

  fails(error: Error): this {
    this.answer = () => Promise.reject(error);
    return this;
  }

  /** answer after `ms` (a timer; `close` clears the ones still pending) */
  answersAfter(ms: number, overrides: Partial<CallerHistory> = {}): this {
    this.answer = (query) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve(cleanHistory(query, overrides));
        }, ms);
        this.timers.add(timer);
      });
    return this;
  }

  neverAnswers(): this {
    this.answer = () => new Promise<never>(() => undefined);
    return this;
  }

  /** clears the timers of answers still pending (they never come) */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

// ---------------------------------------------------------------------------------------------------
// Logger

/** One line the logger wrote, parsed: pino's fields (level as a name), the call's callId when it has one. */
export interface LogLine {
  level: string;
  msg: string;
  callId?: string;
  [field: string]: unknown;
}

export interface CapturedLogger {
  logger: Logger;
  lines: LogLine[];
  /** the lines at this level (and with this callId, when given) */
  at(level: string, callId?: string): LogLine[];
}

/** A real pino logger writing into an array (synchronously: a line is there once the call returns). */
export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: LogLine[] = [];
  const destination = {
    write(text: string): void {
      const parsed = JSON.parse(text) as { level: number; msg: string; [field: string]: unknown };
      lines.push({ ...parsed, level: pino.levels.labels[parsed.level] ?? String(parsed.level) });
    },
  };
  const logger = pino({ level, base: undefined, timestamp: false }, destination);
  return {
    logger,
    lines,
    at: (wanted, callId) => lines.filter((l) => l.level === wanted && (callId === undefined || l.callId === callId)),
  };
}
