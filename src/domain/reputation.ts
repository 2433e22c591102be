/**
 * The reputation list as the core sees it: what every source says about one number (feeds imported
 * from files, entries added by hand, agents' verdicts), combined into points by combineReputation.
 * Pure; the store reads all sources in the decision's one round trip
 * (src/adapters/redis/reputation-layout.ts).
 */

/** What one source (a feed, the manual list) says about one number. */
export interface ReputationEntry {
  /** 0 (clean) .. 1 (certainly spam) */
  score: number;
  /** how many reports back it */
  reports: number;
  category?: string;
  /** the source's name, e.g. "robocall" */
  source?: string;
  /** first and last report, epoch ms; the score fades with the age of the last report */
  firstSeenAt?: number;
  lastSeenAt?: number;
}

/** Agents' verdicts on one number (`callscreen report`, the HTTP feedback endpoint). */
export interface AgentFeedback {
  spam: number;
  ok: number;
  /** the most recent verdict decides */
  last: 'spam' | 'ok';
  firstAt: number;
  lastAt: number;
}

/** Everything the reputation list knows about one number; no entries and no feedback = not listed. */
export interface ReputationView {
  entries: ReputationEntry[];
  feedback?: AgentFeedback;
}

export const UNLISTED: ReputationView = Object.freeze({ entries: Object.freeze([]) as unknown as ReputationEntry[] });

export interface ReputationSettings {
  /** points for a combined score of 1 */
  weight: number;
  /** a source's score halves every halfLifeDays since its last report */
  halfLifeDays: number;
  /** entries last reported longer ago are ignored (stale: spam numbers live ~40 days) */
  maxAgeDays: number;
  /** per source: its score is multiplied by this (0 ignores the source); default 1 */
  sources: Readonly<Record<string, { weight: number }>>;
}

export interface FeedbackSettings {
  /** points when the agents' last verdict is `ok` (negative: towards allow); feeds then count nothing */
  okPoints: number;
  /** points when the agents' last verdict is `spam`, fading like a source's score */
  spamPoints: number;
}

/** One source's contribution after fading and weighting. */
export interface SourceContribution {
  entry: ReputationEntry;
  /** score x fade x source weight, 0..1 */
  effective: number;
  /** 0..1: how much of the score the age leaves */
  fade: number;
  ageDays?: number;
  /** older than maxAgeDays: ignored */
  stale: boolean;
}

export interface CombinedReputation {
  /** 1 - prod(1 - effective): several independent sources agreeing raise it */
  score: number;
  contributions: SourceContribution[];
  /** agents' last verdict was ok: the feeds are overruled */
  overruled: boolean;
}

const DAY_MS = 86_400_000;

/** Each source's score faded by the age of its last report and weighted, combined with noisy-or. */
export function combineReputation(view: ReputationView, at: number, s: ReputationSettings): CombinedReputation {
  const contributions: SourceContribution[] = [];
  let clean = 1;
  for (const entry of view.entries) {
    const ageDays = entry.lastSeenAt !== undefined ? Math.max(0, (at - entry.lastSeenAt) / DAY_MS) : undefined;
    const stale = ageDays !== undefined && ageDays > s.maxAgeDays;
    const fade = ageDays === undefined ? 1 : 0.5 ** (ageDays / s.halfLifeDays);
    // the source name comes from the store: only a source the settings name has a weight (an own key)
    const sourceWeight =
      entry.source !== undefined && Object.hasOwn(s.sources, entry.source) ? (s.sources[entry.source]?.weight ?? 1) : 1;
    const effective = stale ? 0 : clamp01(clamp01(entry.score) * fade * sourceWeight);
    const contribution: SourceContribution = { entry, effective, fade, stale };
    if (ageDays !== undefined) contribution.ageDays = ageDays;
    contributions.push(contribution);
    clean *= 1 - effective;
  }
  contributions.sort((a, b) => b.effective - a.effective);
  // rounded to 1e-9: 1 - (1 - 0.45) must give 0.45, not 0.44999999999999996 (points are rounded later)
  return {
    score: Math.round((1 - clean) * 1e9) / 1e9,
    contributions,
    overruled: view.feedback?.last === 'ok' && view.feedback.ok > 0,
  };
}

/** points for the agents' verdicts: undefined when there are none */
export function feedbackPoints(
  feedback: AgentFeedback | undefined,
  at: number,
  reputation: ReputationSettings,
  s: FeedbackSettings,
): { points: number; fade: number } | undefined {
  if (!feedback || feedback.spam + feedback.ok === 0) return undefined;
  if (feedback.last === 'ok') return { points: s.okPoints, fade: 1 };
  const ageDays = Math.max(0, (at - feedback.lastAt) / DAY_MS);
  if (ageDays > reputation.maxAgeDays) return { points: 0, fade: 0 };
  const fade = 0.5 ** (ageDays / reputation.halfLifeDays);
  return { points: Math.round(s.spamPoints * fade), fade };
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
}

// ---- candidates for copies of the list (the AstDB blacklist) ------------------------------------------

/** A reputation list entry that may be copied. */
export interface ReputationCandidate {
  e164: string;
  /** 0..1 as listed */
  score: number;
  reports: number;
  category?: string;
  /** epoch ms of the last report; the score fades from there */
  lastSeenAt?: number;
}

/** The reputation score as the reputation signal weighs it at `now`: halved every halfLifeDays since the last report. */
export function effectiveReputationScore(
  candidate: Pick<ReputationCandidate, 'score' | 'lastSeenAt'>,
  now: number,
  halfLifeDays: number | undefined,
): number {
  const score = Math.min(1, Math.max(0, Number.isFinite(candidate.score) ? candidate.score : 0));
  if (candidate.lastSeenAt === undefined || halfLifeDays === undefined || halfLifeDays <= 0) return score;
  const ageDays = Math.max(0, (now - candidate.lastSeenAt) / DAY_MS);
  return score * 0.5 ** (ageDays / halfLifeDays);
}

/** Higher effective score first, then more reports, then the number (a stable, total order). */
export function compareCandidates(
  a: { effective: number; reports: number; e164: string },
  b: { effective: number; reports: number; e164: string },
): number {
  return b.effective - a.effective || b.reports - a.reports || (a.e164 < b.e164 ? -1 : a.e164 > b.e164 ? 1 : 0);
}
