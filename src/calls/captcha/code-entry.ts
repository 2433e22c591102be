/**
 * The pure part of the CAPTCHA: the random code and what the caller's keys add up to. No I/O, no clock.
 */
import { randomInt } from 'node:crypto';

/** A code of `length` decimal digits from the system's CSPRNG (each digit uniform; a leading 0 is fine: it is said digit by digit). */
export function randomCode(length: number, draw: (maxExclusive: number) => number = randomInt): string {
  let code = '';
  for (let i = 0; i < length; i++) code += String(draw(10));
  return code;
}

/** What one key did to an attempt. */
export type KeyResult = 'more' | 'right' | 'wrong';

/**
 * The keys pressed in one attempt. The code is checked as soon as it has as many keys as the code has
 * digits; `#` ends the entry early (an incomplete code is wrong); `*` and A-D count as keys (so they
 * make the code wrong, they are not ignored).
 */
export class CodeEntry {
  private keys = '';

  constructor(readonly code: string) {
    if (!/^[0-9]+$/.test(code)) throw new RangeError(`CAPTCHA code must be digits, got ${JSON.stringify(code)}`);
  }

  get entered(): string {
    return this.keys;
  }

  press(key: string): KeyResult {
    if (key === '#') return 'wrong';
    this.keys += key;
    if (this.keys.length < this.code.length) return 'more';
    return this.keys === this.code ? 'right' : 'wrong';
  }
}
