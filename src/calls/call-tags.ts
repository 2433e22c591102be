/**
 * What a call carries on into the dialplan: channel variables for the agents' phones, the dialplan and
 * the CDR. Pure: the CallScreener sets them together with the continue (AriPort.continueWithVariables: one
 * round trip where Asterisk takes REST requests over the event websocket).
 *
 *   CALLSCREEN_VERDICT   allow | challenge | voicemail | reject (the decision's verdict)
 *   CALLSCREEN_SCORE     the score
 *   CALLSCREEN_REASONS   the top reason codes, joined with ',' (not set when there are none)
 *   CALLSCREEN_CAPTCHA   passed | failed | timeout | abandoned | error (challenged calls only)
 *   CALLERID(name)       tags.callerNamePrefix + the caller's name (or number), on a call that reaches the
 *                        agents although it looked suspect: a score at or above the challenge threshold, or
 *                        a challenge that did not end in a pass (watchdog, error). Never on a caller who
 *                        passed the CAPTCHA: that caller proved to be a person.
 *   CDR(userfield)       callscreen:<verdict>:<score>:<top reason>[:captcha-<outcome>] when tags.cdrUserfield
 */
import { topReasons, type Decision } from '../domain/decision';
import type { ChannelVariable } from '../ports/ari';
import type { CaptchaOutcome } from '../ports/call-log';

export interface TagsConfig {
  callerNamePrefix: string;
  cdrUserfield: boolean;
}

export interface CallTagInput {
  decision: Decision;
  /** where the call goes: 'agents' gets the caller-name prefix when it looks suspect */
  target: 'agents' | 'voicemail' | 'reject';
  tags: TagsConfig;
  /** the challenge threshold the call was decided with (its policies applied) */
  challengeThreshold: number;
  /** the caller ID name and number as Asterisk presents them */
  callerName: string;
  callerNumber: string;
  /** the CAPTCHA outcome, for a challenged call */
  captcha?: CaptchaOutcome;
}

export type { ChannelVariable };

export function callTags(input: CallTagInput): ChannelVariable[] {
  const { decision, tags, captcha } = input;
  const top = topReasons(decision).map((r) => r.code);
  const vars: ChannelVariable[] = [
    ['CALLSCREEN_VERDICT', decision.verdict],
    ['CALLSCREEN_SCORE', String(decision.score)],
  ];
  if (top.length > 0) vars.push(['CALLSCREEN_REASONS', top.join(',')]);
  if (captcha) vars.push(['CALLSCREEN_CAPTCHA', captcha]);
  const name = callerNameTag(input);
  if (name !== undefined) vars.push(['CALLERID(name)', name]);
  if (tags.cdrUserfield) vars.push(['CDR(userfield)', userfield(decision, top[0], captcha)]);
  return vars;
}

/** The prefixed caller name, when the call reaches the agents looking suspect; undefined: leave the name alone. */
export function callerNameTag(input: CallTagInput): string | undefined {
  const prefix = input.tags.callerNamePrefix;
  if (prefix === '' || input.target !== 'agents' || input.captcha === 'passed') return undefined;
  const suspect = input.decision.score >= input.challengeThreshold || input.decision.verdict !== 'allow';
  if (!suspect) return undefined;
  const shown = input.callerName.trim() !== '' ? input.callerName : input.callerNumber;
  return shown.startsWith(prefix) ? shown : `${prefix}${shown}`;
}

export function userfield(decision: Decision, topReason: string | undefined, captcha?: CaptchaOutcome): string {
  return `callscreen:${decision.verdict}:${decision.score}:${topReason ?? 'none'}${captcha ? `:captcha-${captcha}` : ''}`;
}
