/**
 * POST /api/v1/feedback: an agent's verdict on a number.
 *
 *   request   Content-Type: application/json   { "number": "...", "verdict": "spam" | "ok", "note"?: "...", "agent"?: "..." }
 *   200       { number: E.164, verdict, spam, ok, last, promoted }   (+ listError when the managed allow list could not be changed)
 *   400       a number that is not one, a verdict other than spam/ok, a bad field (the reason says which)
 *   401       no or wrong credentials (the server's onRequest hook)
 *   415       a body that is not application/json
 *   503       Redis not reachable: nothing was stored
 *
 * CSRF: a page on another site can make a browser send a POST without a CORS preflight only with a
 * "simple" content type (text/plain, form encodings) and no Authorization header it sets itself. This
 * route accepts application/json only (415 otherwise), the server sets no cookies and answers no CORS
 * preflight, and credentials travel in the Authorization header: a forged cross-site request either is
 * refused with 415 before anything is stored (even when the browser adds cached Basic credentials), or
 * needs a preflight that fails.
 */
import { bad, jsonObjectBody } from './json-body';
import type { CountryCode } from 'libphonenumber-js';
import type { FastifyInstance } from 'fastify';
import { type FeedbackReport } from '../ports/feedback-store';
import { FEEDBACK_VERDICTS, type FeedbackVerdict } from '../domain/reputation-entry';
import { cleanText, numberForFeedback, type FeedbackOutcome } from '../reputation/managed-allow-list';

export const FEEDBACK_PATH = '/api/v1/feedback';
const MAX_NOTE = 500;
const MAX_AGENT = 64;
const FIELDS = ['number', 'verdict', 'note', 'agent'];

export interface FeedbackRouteDeps {
  record(report: FeedbackReport): Promise<FeedbackOutcome>;
  defaultRegion: CountryCode;
}

export function registerFeedbackRoute(app: FastifyInstance, deps: FeedbackRouteDeps): void {
  app.post(FEEDBACK_PATH, async (request, reply) => {
    const body = jsonObjectBody(request, reply, FIELDS, '{ "number": "...", "verdict": "spam" | "ok" }');
    if ('sent' in body) return body.sent;
    const { fields } = body;
    if (typeof fields.number !== 'string') return bad(reply, 'number must be a string, e.g. "+1 212 555 0147"');
    if (typeof fields.verdict !== 'string' || !FEEDBACK_VERDICTS.includes(fields.verdict as FeedbackVerdict))
      return bad(reply, 'verdict must be "spam" or "ok"');
    for (const [name, max] of [
      ['note', MAX_NOTE],
      ['agent', MAX_AGENT],
    ] as const) {
      const v = fields[name];
      if (v !== undefined && (typeof v !== 'string' || v.length > max))
        return bad(reply, `${name} must be text of at most ${max} characters`);
    }
    const number = numberForFeedback(fields.number, deps.defaultRegion);
    if ('reason' in number) return bad(reply, `number ${number.reason}`);
    const agent =
      cleanText(fields.agent as string | undefined, MAX_AGENT) ??
      (request.identity?.scheme === 'basic' ? request.identity.name : undefined);
    const report: FeedbackReport = {
      e164: number.e164,
      verdict: fields.verdict as FeedbackVerdict,
      note: cleanText(fields.note as string | undefined, MAX_NOTE),
      agent,
      at: Date.now(),
      host: request.ip,
    };
    let outcome: FeedbackOutcome;
    try {
      outcome = await deps.record(report);
    } catch (e) {
      request.log.warn({ err: (e as Error).message }, 'feedback not stored');
      return reply.code(503).send({
        error: 'unavailable',
        message: 'the feedback store (Redis) is not reachable; nothing was stored, try again',
      });
    }
    if (outcome.listError)
      request.log.warn({ number: number.e164, err: outcome.listError }, 'managed allow list not changed');
    const { entry } = outcome;
    return reply.code(200).send({
      number: number.e164,
      verdict: report.verdict,
      spam: entry.spam,
      ok: entry.ok,
      last: entry.last,
      promoted: outcome.promoted,
      ...(outcome.listError ? { listError: outcome.listError } : {}),
    });
  });
}
