/**
 * Known customers from the calls the business places: watches AMI's dial events (DialBegin, DialEnd;
 * Dial() in the dialplan and Originate alike) and, for every answered call to a valid phone number,
 * remembers the number as called by us (CallerHistoryStore.recordCalledByUs) for
 * screening.signals.knownCustomer.days. A later inbound call from it is a known customer's
 * (src/domain/signals.ts knownCustomerSignal). Nothing here is on a call's path; a failed write is logged
 * and forgotten.
 *
 * The dialled number comes from DialBegin's DialString, as the dialplan wrote it: "+12125551234@trunk",
 * "trunk/sip:+12125551234@host", "SIP/trunk/2125551234". A dial string that names no phone number (an
 * agent's extension, "PJSIP/agent1") counts for nothing. With knownCustomers.outboundCalls.trunks set,
 * only calls through those endpoints count.
 */
import type { CountryCode } from 'libphonenumber-js';
import { normalisePhoneNumber } from '../../domain/phone-number';
import { errorText } from '../../errors/error-text';
import type { AmiMessage, AmiPort } from '../../ports/ami';
import type { CallerHistoryStore } from '../../ports/caller-history-store';
import type { Logger } from '../../ports/logger';

/** What the watcher reads from the settings in force, at each answered call. */
export interface OutboundCallSettings {
  defaultRegion: CountryCode;
  /** endpoint names whose calls count; empty: every dialled call to a valid number */
  trunks: readonly string[];
  /** how long a number stays known (screening.signals.knownCustomer.days) */
  days: number;
}

export interface OutboundCallWatcherOptions {
  ami: Pick<AmiPort, 'on' | 'off'>;
  store: Pick<CallerHistoryStore, 'recordCalledByUs'>;
  settings: () => OutboundCallSettings;
  logger: Logger;
  /** the clock (tests) */
  now?: () => number;
}

/** Dials waiting for their DialEnd are forgotten past this many (a DialEnd lost with the AMI link). */
const MAX_PENDING = 10_000;
const DAY_MS = 86_400_000;

export class OutboundCallWatcher {
  /** DestUniqueid -> the number dialled, from DialBegin until DialEnd */
  private readonly pending = new Map<string, string>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: OutboundCallWatcherOptions) {
    this.now = options.now ?? Date.now;
    options.ami.on('event', this.onEvent);
  }

  private readonly onEvent = (event: AmiMessage): void => {
    if (this.closed) return;
    const kind = event.event?.toLowerCase();
    const dest = event.destuniqueid;
    if (!dest) return;
    if (kind === 'dialbegin') {
      const number = this.dialledNumber(event);
      if (number === undefined) return;
      if (this.pending.size >= MAX_PENDING) this.pending.clear();
      this.pending.set(dest, number);
    } else if (kind === 'dialend') {
      const number = this.pending.get(dest);
      this.pending.delete(dest);
      if (number !== undefined && event.dialstatus?.toUpperCase() === 'ANSWER') this.remember(number);
    }
  };

  /** The E.164 number a DialBegin dials through an outbound endpoint, or undefined. */
  private dialledNumber(event: AmiMessage): string | undefined {
    const { trunks, defaultRegion } = this.options.settings();
    if (trunks.length > 0) {
      const endpoint = endpointOf(event.destchannel ?? '');
      if (endpoint === undefined || !trunks.includes(endpoint)) return undefined;
    }
    const digits = numberInDialString(event.dialstring ?? '');
    if (digits === undefined) return undefined;
    const number = normalisePhoneNumber(digits, defaultRegion);
    return number.kind === 'e164' && number.valid ? number.e164 : undefined;
  }

  private remember(e164: string): void {
    const { days } = this.options.settings();
    const at = this.now();
    this.options.store
      .recordCalledByUs(e164, at, days * DAY_MS)
      .then(() => this.options.logger.debug({ number: e164 }, 'called by us: a known customer'))
      .catch((e: unknown) =>
        this.options.logger.warn({ err: errorText(e), number: e164 }, 'outbound call not remembered'),
      );
  }

  /** Stops watching; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.ami.off('event', this.onEvent);
    this.pending.clear();
  }
}

/** "PJSIP/pstn-trunk-0000001a" -> "pstn-trunk"; undefined when it is not technology/name-sequence. */
export function endpointOf(channel: string): string | undefined {
  const slash = channel.indexOf('/');
  const dash = channel.lastIndexOf('-');
  if (slash < 0 || dash <= slash + 1) return undefined;
  return channel.slice(slash + 1, dash);
}

/**
 * The number in a dial string, as written ("+12125551234", "2125551234"), or undefined when it names none
 * (fewer than 7 digits: an extension). The part after the last "/" (technology and endpoint go), without
 * a sip:/sips:/tel: scheme, up to "@" or ";".
 */
export function numberInDialString(dialString: string): string | undefined {
  let part = dialString.slice(dialString.lastIndexOf('/') + 1).trim();
  part = part.replace(/^(sips?|tel):/i, '');
  part = part.split(/[@;]/, 1)[0] ?? '';
  if (!/^\+?[0-9][0-9 ()./-]*$/.test(part)) return undefined;
  const digits = part.replace(/[^0-9]/g, '');
  return digits.length >= 7 ? part : undefined;
}
