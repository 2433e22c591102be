/**
 * The carrier's verification verdict on the caller's number: the `verstat` parameter US carriers add to
 * the number in From or P-Asserted-Identity (ATIS-1000074, 3GPP TS 24.229), for trunks that never pass
 * the Identity header res_stir_shaken would verify. The dialplan hands the parameter's value over
 * (dialplan/callscreen.conf, [callscreen-identity]); this reads it as an attestation the attestation
 * signal scores. Pure: no I/O.
 *
 *   TN-Validation-Passed[-A|-B|-C]  the carrier verified the number: the level it names, else B (verified,
 *                                   level not told: no bonus)
 *   TN-Validation-Failed[-...]      verification failed: the caller ID may be spoofed (as `failed`)
 *   No-TN-Validation                the call was not verified (as `none`)
 * Case and spaces around are ignored; anything else is not a verstat and is ignored.
 */
import type { Attestation } from './screening-settings';

/** A verstat as the core reads it: the carrier's own words (canonical case) and the attestation they mean. */
export interface Verstat {
  text: string;
  attestation: Attestation;
}

const PASSED = /^tn-validation-passed(?:-([abc]))?$/;
const FAILED = /^tn-validation-failed(?:-[a-z0-9]+)?$/;

/** The verstat a text names, or undefined for anything else. */
export function readVerstat(raw: string | undefined): Verstat | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim().toLowerCase();
  if (value.length > 40) return undefined;
  if (value === 'no-tn-validation') return { text: 'No-TN-Validation', attestation: 'none' };
  const passed = PASSED.exec(value);
  if (passed) {
    const level = passed[1]?.toUpperCase() as 'A' | 'B' | 'C' | undefined;
    return { text: `TN-Validation-Passed${level ? `-${level}` : ''}`, attestation: level ?? 'B' };
  }
  if (FAILED.test(value))
    return {
      text: `TN-Validation-Failed${value.slice('tn-validation-failed'.length).toUpperCase()}`,
      attestation: 'failed',
    };
  return undefined;
}
