/**
 * The accuracy and shadow reports as a person reads them: a few headline lines, then compact tables
 * with counts and percentages; thin truth is said in words next to the figure it weakens. Pure.
 */
import type { AccuracyFigures, AccuracyReportResult } from './accuracy-report';
import type { ShadowReportResult } from './shadow-report';

/** 0.9375 -> "93.8 %", null -> "-" */
export function percent(rate: number | null): string {
  return rate === null ? '-' : `${(rate * 100).toFixed(1)} %`;
}

const minute = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** Columns padded to their widest cell, two spaces apart; the last column is never padded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function headline(f: AccuracyFigures): string[] {
  const known = f.spam.known + f.good.known;
  const knownShare = f.calls === 0 ? '' : ` (${percent(known / f.calls)})`;
  const from = f.truthFrom;
  const errors = f.good.challenged + f.good.voicemail + f.good.rejected;
  const lines = [
    `calls ${f.calls}; known truth ${known}${knownShare}: ${f.spam.known} spam, ${f.good.known} good; no known truth ${f.unknown}`,
    `  known from: agents' verdict after the call ${from['agent-after']}, before it ${from['agent-before']}; ` +
      `CAPTCHA passed ${from['captcha-passed']}, failed ${from['captcha-failed']}`,
    `catch rate  ${percent(f.spam.catchRate)}  ${f.spam.keptFromAgents} of ${f.spam.known} known spam kept from the agents` +
      (f.spam.shadowLetThrough > 0 ? ` (${f.spam.shadowLetThrough} let through by shadow mode)` : ''),
    `error rate  ${percent(f.good.errorRate)}  ${errors} of ${f.good.known} known good callers bothered: challenged ${f.good.challenged}, ` +
      `sent to voicemail ${f.good.voicemail}, rejected ${f.good.rejected}`,
  ];
  if (f.thin) lines.push(`THIN TRUTH: ${f.thinReason ?? ''}; read these figures with care`);
  return lines;
}

export function renderAccuracy(r: AccuracyReportResult): string {
  const out = [`Screening accuracy, ${minute(r.from)} to ${minute(r.until)}`, ...headline(r.overall)];
  if (r.by && r.groups.length > 0) {
    out.push('');
    out.push(
      ...table(
        [r.by, 'calls', 'known', 'spam', 'kept', 'catch', 'good', 'bothered', 'error', 'voicemail+reject', ''],
        r.groups.map((g) => [
          g.group,
          String(g.calls),
          String(g.spam.known + g.good.known),
          String(g.spam.known),
          String(g.spam.keptFromAgents),
          percent(g.spam.catchRate),
          String(g.good.known),
          String(g.good.challenged + g.good.voicemail + g.good.rejected),
          percent(g.good.errorRate),
          String(g.good.voicemail + g.good.rejected),
          g.thin ? `thin: ${g.thinReason ?? ''}` : '',
        ]),
      ),
    );
  }
  if (r.signals.length > 0) {
    out.push('');
    out.push(
      ...table(
        ['signal', 'calls', 'on spam', 'on good', 'unknown', 'precision', ''],
        r.signals.map((s) => [
          s.signal,
          String(s.calls),
          String(s.onSpam),
          String(s.onGood),
          String(s.onUnknown),
          percent(s.precision),
          s.thin ? 'thin' : '',
        ]),
      ),
    );
    out.push('precision: of the known calls a signal fired on, the share that were what it points to (spam; good)');
  }
  out.push(
    '',
    `truth from ${r.feedback.entries} agents' verdicts on ${r.feedback.numbers} numbers and the calls' own CAPTCHAs` +
      (r.skipped > 0 ? `; ${r.skipped} log entries that are not call records left out` : ''),
  );
  return `${out.join('\n')}\n`;
}

export function renderShadow(r: ShadowReportResult): string {
  const out = [`Shadow mode, ${minute(r.from)} to ${minute(r.until)}`];
  if (r.dids.length === 0) {
    out.push(`no shadow-mode calls among the ${r.callsRead} calls read`);
    return `${out.join('\n')}\n`;
  }
  out.push(
    ...table(
      [
        'DID',
        'calls',
        'allow',
        'challenge',
        'voicemail',
        'reject',
        'spam',
        'good',
        'unknown',
        'would catch',
        'would bother',
      ],
      r.dids.map((d) => {
        const sum = (v: Record<string, number>): number => Object.values(v).reduce((a, b) => a + b, 0);
        return [
          d.did,
          String(d.calls),
          String(d.wouldHave.allow),
          String(d.wouldHave.challenge),
          String(d.wouldHave.voicemail),
          String(d.wouldHave.reject),
          String(sum(d.truth.spam)),
          String(sum(d.truth.good)),
          String(sum(d.truth.unknown)),
          percent(d.wouldCatchRate),
          percent(d.wouldErrorRate),
        ];
      }),
    ),
  );
  out.push('');
  for (const d of r.dids)
    out.push(
      `${d.did} top reasons: ${d.topReasons.length > 0 ? d.topReasons.map((t) => `${t.signal} ${t.calls}`).join(', ') : 'none'}`,
    );
  out.push(
    '',
    'would catch: known spam it would not have allowed; would bother: known good callers it would have challenged, sent to voicemail or rejected',
  );
  if (r.skipped > 0) out.push(`${r.skipped} log entries that are not call records left out`);
  return `${out.join('\n')}\n`;
}
