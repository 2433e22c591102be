/**
 * A provider's request templates (url, body, header values), compiled once at start: ${NAME} replaced by
 * the environment variable's value (a variable that is not set stops the start, naming the key; the value
 * is never logged), {e164} / {digits} / {intl} / {national} filled per call with the caller's number.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { NUMBER_PLACEHOLDERS, type NumberPlaceholder } from '../../config/lookups-schema';
import { ConfigError } from '../../errors/config-error';

/** The caller's number in every form a template may ask for. */
export type NumberForms = Record<NumberPlaceholder, string>;

type Part = { literal: string } | { placeholder: NumberPlaceholder };

/** A template with its secrets in place, waiting for a number. */
export class RequestTemplate {
  private constructor(
    private readonly parts: readonly Part[],
    /** whether the number is percent-encoded (URLs) */
    private readonly encode: boolean,
  ) {}

  /** `key` names the setting in a problem (lookups.providers.tellows.url) */
  static compile(
    text: string,
    key: string,
    env: NodeJS.ProcessEnv,
    options: { encode?: boolean } = {},
  ): RequestTemplate {
    const parts: Part[] = [];
    const pattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\{([A-Za-z0-9_]+)\}/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      const [whole, envName, placeholder] = match;
      if (match.index > last) parts.push({ literal: text.slice(last, match.index) });
      if (envName !== undefined) parts.push({ literal: secret(envName, key, env) });
      else if ((NUMBER_PLACEHOLDERS as readonly string[]).includes(placeholder ?? ''))
        parts.push({ placeholder: placeholder as NumberPlaceholder });
      else parts.push({ literal: whole });
      last = match.index + whole.length;
    }
    if (last < text.length) parts.push({ literal: text.slice(last) });
    return new RequestTemplate(parts, options.encode ?? false);
  }

  /** a fixed value (a header written { env: NAME }) */
  static fromSecret(envName: string, key: string, env: NodeJS.ProcessEnv): RequestTemplate {
    return new RequestTemplate([{ literal: secret(envName, key, env) }], false);
  }

  get usesNational(): boolean {
    return this.parts.some((p) => 'placeholder' in p && p.placeholder === 'national');
  }

  fill(forms: NumberForms): string {
    return this.parts
      .map((p) =>
        'literal' in p ? p.literal : this.encode ? encodeURIComponent(forms[p.placeholder]) : forms[p.placeholder],
      )
      .join('');
  }
}

/** +4930123456 -> e164, digits 4930123456, intl 004930123456, national 030123456 (national only when asked). */
export function numberForms(e164: string, withNational: boolean): NumberForms {
  const digits = e164.replace(/^\+/, '');
  let national = digits;
  if (withNational) {
    const parsed = parsePhoneNumberFromString(e164);
    if (parsed) national = parsed.format('NATIONAL').replace(/\D/g, '');
  }
  return { e164, digits, intl: `00${digits}`, national };
}

function secret(envName: string, key: string, env: NodeJS.ProcessEnv): string {
  const value = env[envName];
  if (!value)
    throw new ConfigError([
      { file: '(environment)', line: 0, column: 0, reason: `${key} names ${envName}, which is not set or empty` },
    ]);
  return value;
}
