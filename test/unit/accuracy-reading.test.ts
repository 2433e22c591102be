/**
 * Reading for the reports through the ports (src/accuracy/report-reading.ts): every agent's verdict
 * from the audit stream, however old, before the calls; only the calls of the range; an audit entry
 * without a usable time placed at its append time; the unreadable log entries counted.
 */
import { readAccuracyReport, readAgentVerdicts, readShadowReport } from '../../src/accuracy/report-reading';
import type { CallLogReader, IdRange, LoggedCall, ReadOptions } from '../../src/ports/call-log';
import type { FeedbackAuditEntry, FeedbackAuditReader } from '../../src/ports/feedback-store';
import { logged } from '../support/screened-calls';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-07T00:00:00Z');

/** the log's calls by stream id; an id without a call stands for an unreadable entry */
function logOf(entries: Array<[id: string, call: LoggedCall | undefined]>): CallLogReader {
  const ms = (id: string): number => Number(id.split('-')[0]);
  return {
    async *entries(range: IdRange, options: ReadOptions = {}) {
      for (const [id, call] of entries) {
        if (ms(id) < Number(range.start) || (range.end !== '+' && ms(id) > Number(range.end))) continue;
        if (call) yield call;
        else options.onUnreadable?.(id, 'not JSON');
      }
    },
    entriesNewestFirst: () => {
      throw new Error('not used');
    },
    readAfter: () => Promise.reject(new Error('not used')),
    lastId: () => Promise.resolve('0-0'),
  };
}

function auditOf(entries: FeedbackAuditEntry[]): FeedbackAuditReader & { ranges: unknown[] } {
  const ranges: unknown[] = [];
  return {
    ranges,
    async *auditEntries(range) {
      ranges.push(range);
      yield* entries;
    },
  };
}

const audit = (e164: string, verdict: 'spam' | 'ok', at: number, id = `${at}-0`): FeedbackAuditEntry => ({
  id,
  e164,
  verdict,
  at,
  note: '',
  agent: 'alice',
  host: 'console',
});

test('the whole audit stream is read, from its start, whatever the range of calls', async () => {
  const feedback = auditOf([audit('+12125550101', 'spam', NOW - 300 * DAY)]);
  const verdicts = await readAgentVerdicts(feedback);
  expect(feedback.ranges).toEqual([{ fromMs: 0 }]);
  expect(verdicts.of('+12125550101')).toEqual({ verdict: 'spam', at: NOW - 300 * DAY });
});

test('an audit entry without a usable time is placed at its append time', async () => {
  const appended = NOW - DAY;
  const verdicts = await readAgentVerdicts(
    auditOf([audit('+12125550101', 'ok', NOW - 2 * DAY), audit('+12125550101', 'spam', Number.NaN, `${appended}-3`)]),
  );
  expect(verdicts.of('+12125550101')).toEqual({ verdict: 'spam', at: appended });
});

test('only the calls of the range are counted, and unreadable entries are counted apart', async () => {
  const inside = NOW - 2 * DAY;
  const log = logOf([
    [`${NOW - 40 * DAY}-0`, logged({ caller: '+1 212 555 0101', verdict: 'reject', at: NOW - 40 * DAY })],
    [`${inside}-0`, logged({ caller: '+1 212 555 0101', verdict: 'reject', at: inside })],
    [`${inside + 1}-0`, undefined],
    [
      `${inside + 2}-0`,
      logged({ caller: '+1 212 555 0102', verdict: 'allow', at: inside + 2, shadowVerdict: 'voicemail' }),
    ],
  ]);
  const feedback = auditOf([audit('+12125550101', 'spam', NOW - 50 * DAY), audit('+12125550102', 'spam', NOW)]);
  const range = { sinceMs: NOW - 30 * DAY, nowMs: NOW };
  const accuracy = await readAccuracyReport(log, feedback, range, undefined);
  expect(accuracy.overall).toMatchObject({ calls: 2, spam: { known: 2, keptFromAgents: 1, shadowLetThrough: 1 } });
  expect(accuracy.skipped).toBe(1);
  expect(accuracy.from).toBe(new Date(NOW - 30 * DAY).toISOString());
  expect(accuracy.until).toBe(new Date(NOW).toISOString());
  const shadow = await readShadowReport(log, feedback, range, new Map());
  expect(shadow).toMatchObject({ callsRead: 2, skipped: 1, dids: [{ calls: 1, wouldHave: { voicemail: 1 } }] });
});
