/**
 * Text from a feed file on its way to a terminal or into the source table: a feed is input from
 * outside, and a cell may hold escape sequences (which a terminal acts on: clear the screen, set the
 * title, hide text) or megabytes (echoed whole, or stored and re-read by every daemon). So: control
 * characters are written as \uXXXX, categories are cut to MAX_CATEGORY_LENGTH and a cell echoed in a
 * problem to ECHO_LENGTH characters with its full size. Pure.
 */

/** characters a stored category keeps at most (longer ones are cut, with "…" as the last) */
export const MAX_CATEGORY_LENGTH = 64;
/** characters of a cell a problem line shows at most */
export const ECHO_LENGTH = 200;
/** characters of a whole problem reason at most (a backstop behind the cell cut) */
const MAX_REASON_LENGTH = 400;

/** C0 controls, DEL, C1 controls (CSI is 0x9b), line/paragraph separators and bidirectional overrides */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** every control character as \uXXXX (visible, and inert on a terminal) */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** a category as stored: trimmed, control characters escaped, at most MAX_CATEGORY_LENGTH characters */
export function categoryText(raw: string): string {
  const escaped = escapeControls(raw.trim().slice(0, MAX_CATEGORY_LENGTH + 1));
  return escaped.length <= MAX_CATEGORY_LENGTH ? escaped : `${escaped.slice(0, MAX_CATEGORY_LENGTH - 1)}…`;
}

/** a cell quoted for a problem line: "…" (JSON quoting), cut to ECHO_LENGTH characters with "... (N bytes)" */
export function quoteCell(text: string): string {
  if (text.length <= ECHO_LENGTH) return escapeControls(JSON.stringify(text));
  return `${escapeControls(JSON.stringify(text.slice(0, ECHO_LENGTH)))}... (${Buffer.byteLength(text)} bytes)`;
}

/** a problem reason as echoed: control characters escaped, cut to a few hundred characters */
export function reasonText(reason: string): string {
  const cut = reason.length > MAX_REASON_LENGTH;
  const escaped = escapeControls(cut ? reason.slice(0, MAX_REASON_LENGTH) : reason);
  if (!cut && escaped.length <= MAX_REASON_LENGTH) return escaped;
  return `${escaped.slice(0, MAX_REASON_LENGTH)}... (${Buffer.byteLength(reason)} bytes)`;
}

/** column names for a message: control characters escaped, each cut to 40 characters, at most a dozen */
export function columnList(header: readonly string[]): string {
  const shown = header
    .slice(0, 12)
    .map((h) => (h.length <= 40 ? escapeControls(h) : `${escapeControls(h.slice(0, 40))}…`));
  return header.length > 12 ? `${shown.join(', ')} and ${header.length - 12} more` : shown.join(', ');
}
