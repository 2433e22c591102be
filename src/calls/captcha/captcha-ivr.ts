/**
 * CaptchaIvr: the CAPTCHA a challenged caller goes through, one per call, inside the Stasis app.
 *
 *   answer (and set the channel language) -> greeting -> per attempt: enterCode prompt + the code said
 *   digit by digit, keys collected -> right: `passed` prompt; wrong/incomplete: `wrong` prompt and the
 *   next attempt with a new code; no key at all (silence) or the last attempt wrong: `failed` prompt.
 *
 * Keys count from the moment an attempt's prompt starts: a caller who already knows the code can type
 * it over the prompt (barge-in: the first key stops the prompt, collection goes on). The digit timeout
 * runs from the end of the prompt and again from every key. Keys pressed during the greeting or the
 * `wrong` prompt are dropped (the caller has not heard the code yet).
 *
 * The IVR only talks to the caller and reports the outcome; routing, the caller's CAPTCHA history and
 * the call's log line are the CallScreener's. A hang-up at any moment ends it at once (CallEnded from
 * the ChannelSession); so do the watchdog and a shutdown (abandon()).
 */
import { performance } from 'node:perf_hooks';
import type { CaptchaConfig } from '../../config/schema';
import type { Logger } from '../../ports/logger';
import type { CaptchaOutcome } from '../../ports/call-log';
import { CallEnded, type ChannelSession } from '../channel-session';
import { CodeEntry, randomCode } from './code-entry';

/** The CAPTCHA settings one call uses: `captcha` with the overrides of the policies matching the call. */
export type CaptchaSettings = Pick<
  CaptchaConfig,
  'codeLength' | 'attempts' | 'digitTimeoutMs' | 'language' | 'failVerdict'
> & {
  readonly prompts: { readonly [Prompt in keyof CaptchaConfig['prompts']]: readonly string[] };
};

export type { CaptchaOutcome };

export interface CaptchaResult {
  outcome: CaptchaOutcome;
  /** attempts started (a code was said) */
  attempts: number;
  /** ms from the start of the IVR to its outcome (the last prompt included) */
  ms: number;
  /** why a caller failed: a wrong or incomplete code on the last attempt, or no key at all */
  failure?: 'wrong' | 'silence';
  /** passed/failed, but the caller hung up during the last prompt: nothing to route */
  callerGone?: boolean;
  /** error text, for outcome 'error' */
  error?: string;
  /** why it was cut short, for outcomes 'timeout' and 'abandoned' (the watchdog, a shutdown, the ARI link lost) */
  detail?: string;
}

/** Longest a prompt may play before it is cut (a PlaybackFinished that never comes must not hold the call). */
export const PROMPT_MAX_MS = 30_000;

export interface CaptchaIvrOptions {
  session: ChannelSession;
  settings: CaptchaSettings;
  /** the call's logger (carries the callId) */
  log: Logger;
  /** TEST ONLY (CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1): log each code at debug level so tests can type it */
  logCode?: boolean;
  /** default: randomCode (crypto.randomInt) */
  newCode?: (length: number) => string;
}

export class CaptchaIvr {
  private attempts = 0;
  private readonly started = performance.now();
  /** set by linkLost(): an outcome already known when the IVR is cut short stands */
  private keepKnownOutcome = false;

  constructor(private readonly options: CaptchaIvrOptions) {}

  /** The watchdog or a shutdown: the IVR stops at once (run() resolves with this outcome). */
  abandon(reason: 'timeout' | 'abandoned', detail: string): void {
    this.options.session.end(reason, detail);
  }

  /**
   * The ARI connection dropped. Asterisk keeps the channel in the Stasis app, but the events sent while
   * no websocket is connected are lost for good: keys the caller presses, the end of a prompt. An IVR
   * that went on would take a person who typed the code for a silent robot or a wrong code (voicemail),
   * or wait for a prompt end that never comes (30 s of silence). So it stops at once with outcome
   * 'abandoned' (the CallScreener sends the caller to the agents: fail open), unless the outcome was
   * already known (the last prompt was playing): that outcome stands, the prompt is cut.
   */
  linkLost(detail: string): void {
    this.keepKnownOutcome = true;
    this.options.session.end('abandoned', detail);
  }

  /** Never rejects. */
  async run(): Promise<CaptchaResult> {
    const { session, settings, log } = this.options;
    let outcome: 'passed' | 'failed' | undefined;
    let failure: CaptchaResult['failure'];
    try {
      log.debug(
        { attempts: settings.attempts, codeLength: settings.codeLength, language: settings.language },
        'captcha started',
      );
      await session.step(
        Promise.all([
          session.ari.answer(session.channelId),
          session.ari.setChannelVar(session.channelId, 'CHANNEL(language)', settings.language),
        ]),
      );
      await session.playToEnd(settings.prompts.greeting, settings.language, PROMPT_MAX_MS);
      for (;;) {
        const { result, keys } = await this.attempt();
        // the keys themselves only in test mode (with the codes): in production they would be the code
        log.debug(
          { attempt: this.attempts, result, keyCount: keys.length, ...(this.options.logCode ? { keys } : {}) },
          'captcha attempt',
        );
        if (result === 'right') {
          outcome = 'passed';
          break;
        }
        if (result === 'silence' || this.attempts >= settings.attempts) {
          outcome = 'failed';
          failure = result === 'silence' ? 'silence' : 'wrong';
          break;
        }
        await session.playToEnd(settings.prompts.wrong, settings.language, PROMPT_MAX_MS);
      }
      await session.playToEnd(
        outcome === 'passed' ? settings.prompts.passed : settings.prompts.failed,
        settings.language,
        PROMPT_MAX_MS,
      );
      return this.result(outcome, failure);
    } catch (e) {
      if (e instanceof CallEnded) {
        // the outcome was known before the caller hung up during the last prompt: it stands
        if (outcome && e.reason === 'hangup') return { ...this.result(outcome, failure), callerGone: true };
        if (outcome && this.keepKnownOutcome) return this.result(outcome, failure);
        if (e.reason === 'hangup') return this.result('hangup');
        return { ...this.result(e.reason), detail: e.detail };
      }
      session.end('abandoned', 'error in the CAPTCHA');
      return { ...this.result('error'), error: e instanceof Error ? e.message : String(e) };
    }
  }

  private result(outcome: CaptchaOutcome, failure?: CaptchaResult['failure']): CaptchaResult {
    return {
      outcome,
      attempts: this.attempts,
      ms: Math.round(performance.now() - this.started),
      ...(failure ? { failure } : {}),
    };
  }

  /** One attempt: a new code said after the prompt, keys collected until right, wrong, or the digit timeout. */
  private async attempt(): Promise<{ result: 'right' | 'wrong' | 'silence'; keys: string }> {
    const { session, settings, log } = this.options;
    this.attempts += 1;
    const code = (this.options.newCode ?? randomCode)(settings.codeLength);
    if (this.options.logCode) log.debug({ code, attempt: this.attempts }, 'captcha code');
    session.discardInputs();
    const entry = new CodeEntry(code);
    const prompt = await session.play([...settings.prompts.enterCode, `digits:${code}`], settings.language);
    let playing = true;
    let deadline = Date.now() + PROMPT_MAX_MS;
    for (;;) {
      const input = await session.next(deadline);
      if (input === 'timeout') {
        if (playing) {
          // the prompt never reported its end: cut it and give the caller the digit timeout
          session.stopPlayback(prompt);
          playing = false;
          deadline = Date.now() + settings.digitTimeoutMs;
          continue;
        }
        return { result: entry.entered === '' ? 'silence' : 'wrong', keys: entry.entered };
      }
      if (input.kind === 'playback-finished') {
        if (input.playbackId === prompt && playing) {
          playing = false;
          deadline = Date.now() + settings.digitTimeoutMs;
          log.debug(
            { attempt: this.attempts, digitTimeoutMs: settings.digitTimeoutMs },
            'captcha code said; waiting for keys',
          );
        }
        continue;
      }
      if (playing) {
        session.stopPlayback(prompt); // barge-in
        playing = false;
        log.debug({ attempt: this.attempts }, 'captcha key during the prompt: prompt stopped (barge-in)');
      }
      deadline = Date.now() + settings.digitTimeoutMs;
      const result = entry.press(input.key);
      if (result !== 'more') return { result, keys: entry.entered };
    }
  }
}
