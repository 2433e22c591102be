/**
 * The console API's JSON requests: the body must be sent as application/json and be an object with no field
 * the route does not know; the answers to anything else are the same on every route (415, 400 naming the
 * unknown fields and the expected ones).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export function isJson(request: FastifyRequest): boolean {
  return (
    String(request.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase() === 'application/json'
  );
}

export function bad(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: 'bad-request', message });
}

/**
 * The request's JSON object, or the reply already sent when it is not one: `fields` are the keys allowed (in
 * the order the message lists them), `shape` an example body for the message.
 */
export function jsonObjectBody(
  request: FastifyRequest,
  reply: FastifyReply,
  fields: readonly string[],
  shape: string,
): { fields: Record<string, unknown> } | { sent: FastifyReply } {
  if (!isJson(request))
    return {
      sent: reply.code(415).send({ error: 'unsupported-media-type', message: 'send the body as application/json' }),
    };
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { sent: bad(reply, `the body must be a JSON object ${shape}`) };
  const given = body as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => !fields.includes(k));
  if (unknown.length > 0)
    return {
      sent: bad(
        reply,
        `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (expected ${fields.join(', ')})`,
      ),
    };
  return { fields: given };
}
