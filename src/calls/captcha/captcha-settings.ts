/** The CAPTCHA settings of one call: `captcha` from callscreen.yaml, then the overrides of the policies matching the call. Pure. */
import type { CaptchaConfig } from '../../config/schema';
import type { CaptchaOverrides } from '../../domain/screening-settings';
import type { CaptchaSettings } from './captcha-ivr';

export function captchaSettingsFor(base: CaptchaConfig, overrides: CaptchaOverrides | undefined): CaptchaSettings {
  const settings: CaptchaSettings = {
    codeLength: base.codeLength,
    attempts: base.attempts,
    digitTimeoutMs: base.digitTimeoutMs,
    failVerdict: base.failVerdict,
    language: base.language,
    prompts: base.prompts,
  };
  if (!overrides) return settings;
  const { prompts, ...values } = overrides;
  return { ...settings, ...values, prompts: { ...base.prompts, ...prompts } };
}
