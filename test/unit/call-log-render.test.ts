/**
 * How `callscreen log` shows calls: the table (local time, shadow verdict, top reasons by |points|,
 * columns sized to content, truncation with an ellipsis, no control characters, colour only when asked),
 * JSON lines, and CSV (RFC 4180 round trip through a real CSV parser, formula injection defused).
 */
import { parse } from 'csv-parse/sync';
import {
  CSV_COLUMNS,
  columnWidths,
  compactReasons,
  csvHeader,
  csvRow,
  csvText,
  fit,
  followWidths,
  formatLocalTime,
  jsonLine,
  renderRow,
  renderTable,
  tableRow,
} from '../../src/call-log/call-log-render';
import type { Decision, Reason } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import type { ScreenedCallRecord } from '../../src/ports/call-log';

const AT = '2026-11-23T14:05:09.250Z';

function record(
  over: { caller?: string; decision?: Partial<Decision>; call?: Partial<ScreenedCallRecord> } = {},
): ScreenedCallRecord {
  const decision: Decision = {
    verdict: 'challenge',
    score: 45,
    reasons: [
      { code: 'caller.number-type', text: 'a toll-free number', points: 15 },
      { code: 'reputation.listed', text: 'listed by feed with score 0.8', points: 40 },
      { code: 'attestation', text: 'attestation A', points: -15 },
      { code: 'velocity.number', text: '3 calls in 60 s', points: 5 },
      { code: 'score', text: 'score 45 reaches the challenge threshold 30' },
    ],
    degraded: false,
    policies: [],
    caller: normalisePhoneNumber(over.caller ?? '+1 212 555 0147', 'US'),
    did: normalisePhoneNumber('+1 212 555 0100', 'US'),
    at: AT,
    ...over.decision,
  };
  return {
    callId: '1700000000.42',
    at: AT,
    channel: 'PJSIP/trunk-00000001',
    decision,
    routedTo: 'agents',
    decisionMs: 4,
    host: 'pbx1',
    captcha: { outcome: 'passed', attempts: 1, ms: 9000 },
    ...over.call,
  };
}

/** a rendered line's cells (cells hold single spaces at most; columns are two or more apart) */
const cells = (line: string): string[] => line.trim().split(/ {2,}/);

describe('table', () => {
  it('prints the call time in the host local time, ISO-like', () => {
    const d = new Date(AT);
    const p = (n: number): string => String(n).padStart(2, '0');
    expect(formatLocalTime(AT)).toBe(
      `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`,
    );
    expect(formatLocalTime(AT)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('shows the three reasons with the largest |points|, compactly, a decisive rule first', () => {
    expect(compactReasons(record().decision)).toBe('reputation.listed +40, caller.number-type +15, attestation -15');
    const deny: Reason = { code: 'rule.deny', text: 'denied by rules.yaml:3' };
    expect(compactReasons(record({ decision: { reasons: [...record().decision.reasons, deny] } }).decision)).toBe(
      'rule.deny, reputation.listed +40, caller.number-type +15',
    );
  });

  it('shows one line per call under a header, columns aligned', () => {
    const rows = [
      record(),
      record({
        caller: 'anonymous',
        decision: { verdict: 'allow', score: 0, reasons: [] },
        call: { captcha: undefined, decisionMs: 1234 },
      }),
    ].map(tableRow);
    const lines = renderTable(rows).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(cells(lines[0] as string)).toEqual([
      'TIME',
      'CALLER',
      'DID',
      'VERDICT',
      'SCORE',
      'REASONS',
      'IVR',
      'MS',
      'ROUTED',
    ]);
    expect(cells(lines[1] as string)).toEqual([
      formatLocalTime(AT),
      '+12125550147',
      '+12125550100',
      'challenge',
      '45',
      'reputation.listed +40, caller.number-type +15, attestation -15',
      'passed',
      '4',
      'agents',
    ]);
    expect(cells(lines[2] as string)).toEqual([
      formatLocalTime(AT),
      'withheld',
      '+12125550100',
      'allow',
      '0',
      '-',
      '-',
      '1234',
      'agents',
    ]);
    // the last column starts at the same place on every line; numbers are right-aligned
    const routed = (lines[0] as string).indexOf('ROUTED');
    expect(lines.map((l) => l.slice(routed))).toEqual(['ROUTED', 'agents', 'agents']);
    expect((lines[1] as string).indexOf('   4  agents')).toBe(routed - '   4  '.length);
  });

  it('sizes columns to their content: a short log gives a narrow table', () => {
    const widths = columnWidths([tableRow(record())]);
    expect(widths.CALLER).toBe('+12125550147'.length);
    expect(widths.IVR).toBe('passed'.length);
    expect(widths.MS).toBe('MS'.length);
  });

  it('shows a shadow verdict beside the verdict the call got', () => {
    const row = tableRow(record({ decision: { verdict: 'allow', shadowVerdict: 'reject' } }));
    expect(row.VERDICT).toBe('allow (shadow: reject)');
    expect(renderTable([row])).toContain('allow (shadow: reject)');
  });

  it('cuts long text with an ellipsis and keeps every line one line, without control characters', () => {
    const raw = 'Robo\nCaller \x1b[31mInc\x07, "the best" deals for you today';
    const row = tableRow(record({ caller: raw }));
    expect(row.CALLER).toBe(raw); // an unparseable caller ID is shown as it came ...
    const out = renderTable([row]);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2); // ... but never breaks the line
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/); // eslint-disable-line no-control-regex
    expect(lines[1]).toContain(' Robo Caller  [31mIn…  '); // 20 wide at most, the last one the ellipsis
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(fit('abcd', 4)).toBe('abcd');
    expect(fit('日本語テキスト', 4)).toBe('日本語…');
  });

  it('marks a degraded decision and a failed route', () => {
    const row = tableRow(record({ decision: { degraded: true }, call: { routeError: 'ARI 404' } }));
    expect(row.SCORE).toBe('45*');
    expect(row.ROUTED).toBe('agents!');
  });

  it('colours the verdict only when asked (a terminal), keeping the columns aligned', () => {
    const rows = [tableRow(record()), tableRow(record({ decision: { verdict: 'reject' } }))];
    expect(renderTable(rows)).not.toContain('\x1b[');
    const coloured = renderTable(rows, true);
    expect(coloured).toContain('\x1b[33mchallenge\x1b[0m');
    expect(coloured).toContain('\x1b[31mreject   \x1b[0m');
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(renderTable(rows));
  });

  it('gives a --follow table room for later calls, and cuts what still does not fit', () => {
    const widths = followWidths([]);
    expect(widths.CALLER).toBeGreaterThanOrEqual('+12125550147'.length);
    const wide = renderRow(tableRow(record({ decision: { verdict: 'allow', shadowVerdict: 'voicemail' } })), widths);
    expect(wide).toContain('allow (shadow: voicemail)');
  });
});

describe('JSON lines', () => {
  it('prints the stored record with its stream id, one line', () => {
    const r = record({ caller: 'a\nb' });
    const line = jsonLine({ id: '1700000000000-0', record: r });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ id: '1700000000000-0', ...JSON.parse(JSON.stringify(r)) });
  });
});

describe('CSV', () => {
  const parseCsv = (text: string): string[][] => parse(text, { relaxColumnCount: false }) as string[][];

  it('has a header and the call as one record: UTC time, numbers, every reason with its points', () => {
    const rows = parseCsv(csvHeader() + csvRow(record({ decision: { shadowVerdict: 'reject' } })));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    const row = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, rows[1]?.[i]]));
    expect(row).toMatchObject({
      time: '2026-11-23T14:05:09.250Z',
      call_id: '1700000000.42',
      caller: "'+12125550147",
      did: "'+12125550100",
      verdict: 'challenge',
      shadow_verdict: 'reject',
      score: '45',
      reasons: 'caller.number-type:+15; reputation.listed:+40; attestation:-15; velocity.number:+5; score',
      captcha_outcome: 'passed',
      decision_ms: '4',
      routed_to: 'agents',
      host: 'pbx1',
    });
  });

  it('round-trips commas, quotes and newlines in a caller ID and in reason texts (RFC 4180)', () => {
    const raw = 'Smith, "Bob"\r\nsales';
    const text = 'listed, by "feed"\nline two';
    const r = record({ caller: raw, decision: { reasons: [{ code: 'reputation.listed', text, points: 40 }] } });
    const rows = parseCsv(csvHeader() + csvRow(r) + csvRow(r));
    expect(rows).toHaveLength(3);
    expect(rows[1]?.[CSV_COLUMNS.indexOf('caller')]).toBe(raw);
    expect(rows[2]?.[CSV_COLUMNS.indexOf('explanation')]).toBe(`reputation.listed: ${text}`);
    expect(csvText('a"b')).toBe('"a""b"');
  });

  it.each(['=HYPERLINK("http://x","y")', '+cmd|x', '-2+3', '@SUM(A1)', '\t=1'])(
    'defuses a text cell that starts like a formula: %j',
    (raw) => {
      const rows = parseCsv(csvRow(record({ caller: raw })));
      const cell = rows[0]?.[CSV_COLUMNS.indexOf('caller')] as string;
      expect(cell).toBe(`'${raw}`);
    },
  );

  it('writes numbers as numbers (a negative score stays a number)', () => {
    const rows = parseCsv(csvRow(record({ decision: { score: -20 } })));
    expect(rows[0]?.[CSV_COLUMNS.indexOf('score')]).toBe('-20');
  });
});
