import type { AriEvent } from '../../ports/ari';
import { MalformedAriFrameError } from '../../errors/malformed-ari-frame-error';

export { MalformedAriFrameError };

export type FrameResult = { ok: true; event: AriEvent } | { ok: false; error: MalformedAriFrameError };

/**
 * One websocket text frame -> one ARI event. A frame that is not JSON, not an object, or has no
 * string `type` is malformed. Anything else is an event, of a known type or not: unknown types are
 * passed on untouched, and fields are not checked against the ARI models.
 */
export function parseEventFrame(data: string): FrameResult {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (e) {
    return { ok: false, error: new MalformedAriFrameError('not JSON', data, { cause: e }) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new MalformedAriFrameError('not a JSON object', data) };
  }
  if (typeof (value as { type?: unknown }).type !== 'string') {
    return { ok: false, error: new MalformedAriFrameError('no string "type"', data) };
  }
  return { ok: true, event: value as AriEvent };
}
