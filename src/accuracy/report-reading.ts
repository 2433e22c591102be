/**
 * Reading what the accuracy and shadow reports need, through the ports: first the whole feedback
 * audit stream (each number's latest verdict: a report given after the range still judges the calls
 * in it, and one given long before still says whose number it is), then the calls of the range in
 * batches, each fed to the report and dropped. Shared by the CLI commands and the console's API.
 */
import type { CallLogReader } from '../ports/call-log';
import type { FeedbackAuditReader } from '../ports/feedback-store';
import { idRange } from '../call-log/call-log-query';
import { AccuracyReport, type AccuracyReportResult, type GroupBy } from './accuracy-report';
import { AgentVerdicts } from './call-truth';
import { ShadowReport, type ShadowReportResult } from './shadow-report';

/** the range read when none is given: a month of calls for accuracy, a week for a shadow rollout */
export const DEFAULT_ACCURACY_SINCE = '30d';
export const DEFAULT_SHADOW_SINCE = '7d';

export interface ReportRange {
  sinceMs: number;
  /** up to now when absent */
  untilMs?: number;
  nowMs: number;
}

/** Each number's latest verdict from the audit stream (kept by count, ~100,000 entries at most). */
export async function readAgentVerdicts(feedback: FeedbackAuditReader): Promise<AgentVerdicts> {
  const verdicts = new AgentVerdicts();
  for await (const entry of feedback.auditEntries({ fromMs: 0 })) {
    // `at` is the reporter's time; an entry without a usable one is placed at its append time
    const at = Number.isFinite(entry.at) && entry.at > 0 ? entry.at : Number(entry.id.split('-')[0]);
    verdicts.add(entry.e164, entry.verdict, at);
  }
  return verdicts;
}

export async function readAccuracyReport(
  log: CallLogReader,
  feedback: FeedbackAuditReader,
  range: ReportRange,
  by: GroupBy | undefined,
): Promise<AccuracyReportResult> {
  const report = new AccuracyReport(await readAgentVerdicts(feedback), by);
  for await (const call of log.entries(idRange(range), { onUnreadable: () => report.skipped() })) report.add(call);
  return report.result({ fromMs: range.sinceMs, untilMs: range.untilMs ?? range.nowMs });
}

/** shadowPolicies: each configured policy's `shadow` setting by name (./shadow-report.ts) */
export async function readShadowReport(
  log: CallLogReader,
  feedback: FeedbackAuditReader,
  range: ReportRange,
  shadowPolicies: ReadonlyMap<string, boolean>,
): Promise<ShadowReportResult> {
  const report = new ShadowReport(await readAgentVerdicts(feedback), shadowPolicies);
  for await (const call of log.entries(idRange(range), { onUnreadable: () => report.skipped() })) report.add(call);
  return report.result({ fromMs: range.sinceMs, untilMs: range.untilMs ?? range.nowMs });
}

/** The policies that set `shadow`, by name, from the configuration's screening.policies. */
export function shadowPolicies(
  policies: readonly { name: string; shadow?: boolean | undefined }[],
): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const p of policies) if (p.shadow !== undefined) out.set(p.name, p.shadow);
  return out;
}
