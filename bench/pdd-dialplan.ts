/**
 * A faithful run-time copy of one context of an extensions.conf-style file, for bench/pdd: every
 * extension and priority as written, with `n` priorities numbered and labels resolved (AMI's
 * DialplanExtensionAdd takes numeric priorities only), and the Stasis application renamed so the copy
 * talks to a daemon of the bench's own and never to the `callscreen` app other clients of the shared
 * test bed register. Nothing else in the copy differs from the file.
 */

export interface DialplanEntry {
  context: string;
  extension: string;
  priority: number;
  application: string;
  data: string;
}

/** Applications whose arguments may name a priority label of the same extension. */
const JUMPS = new Set(['goto', 'gotoif', 'gotoiftime', 'gosub', 'gosubif']);

/** The text before an unescaped `;` (a comment), with `\;` unescaped. */
function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && line[i + 1] === ';') {
      out += ';';
      i++;
    } else if (c === ';') {
      break;
    } else {
      out += c;
    }
  }
  return out.trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The extensions of `[context]` in `conf`, renamed to `as`, with `Stasis(<anything>,...)` pointed at
 * `stasisApp`. Throws on what it cannot copy faithfully (includes, switches, unknown priority forms).
 */
export function copyContext(conf: string, context: string, as: string, stasisApp: string): DialplanEntry[] {
  const entries: DialplanEntry[] = [];
  let inside = false;
  let found = false;
  let extension: string | undefined;
  let priority = 0;
  let labels = new Map<string, number>();
  const pending: Array<{ entry: DialplanEntry; labels: Map<string, number> }> = [];
  for (const raw of conf.split('\n')) {
    const line = stripComment(raw);
    if (line === '') continue;
    const section = /^\[([^\]]+)\]/.exec(line);
    if (section) {
      inside = section[1] === context;
      found ||= inside;
      continue;
    }
    if (!inside) continue;
    const m = /^(exten|same)\s*=>?\s*(.*)$/.exec(line);
    if (!m) throw new Error(`copyContext: cannot copy "${line}" in [${context}]`);
    let rest = m[2] as string;
    if (m[1] === 'exten') {
      const comma = rest.indexOf(',');
      extension = rest.slice(0, comma).trim();
      rest = rest.slice(comma + 1);
      labels = new Map();
      priority = 0;
    } else if (extension === undefined) {
      throw new Error(`copyContext: "same =>" before any "exten =>" in [${context}]`);
    }
    const comma = rest.indexOf(',');
    const pri = rest.slice(0, comma).trim();
    const step = /^(n|\d+)(?:\(([A-Za-z0-9_-]+)\))?$/.exec(pri);
    if (!step) throw new Error(`copyContext: priority "${pri}" in [${context}] is not supported`);
    priority = step[1] === 'n' ? priority + 1 : Number(step[1]);
    if (step[2]) labels.set(step[2], priority);
    const call = rest.slice(comma + 1).trim();
    const open = call.indexOf('(');
    const application = (open < 0 ? call : call.slice(0, open)).trim();
    let data = open < 0 ? '' : call.slice(open + 1, call.endsWith(')') ? -1 : undefined);
    if (application.toLowerCase() === 'stasis') data = [stasisApp, ...data.split(',').slice(1)].join(',');
    const entry = { context: as, extension, priority, application, data };
    entries.push(entry);
    pending.push({ entry, labels });
  }
  if (!found) throw new Error(`copyContext: no [${context}] in the file`);
  // labels can be jumped to before they are defined: resolve once the whole extension is known
  for (const { entry, labels: known } of pending) {
    if (!JUMPS.has(entry.application.toLowerCase())) continue;
    for (const [label, number] of known) {
      const target = new RegExp(`(^|[?:,])${escapeRegExp(label)}(?=$|[:),])`, 'g');
      entry.data = entry.data.replace(target, (_all, before: string) => `${before}${number}`);
    }
  }
  return entries;
}
