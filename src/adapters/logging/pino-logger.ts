/**
 * The one logger: pino, structured JSON on stdout; a call's lines carry its callId (logger.child).
 *
 * No secret reaches a line, whatever a caller logs (ports/log-redaction.ts): every field named like a
 * secret (password, secret, token, authorization, ... at any depth) is [redacted], and the credentials
 * of any URL in a field, the message, a child's bindings or an error's message and stack are replaced.
 */
import pino, { type LogFn } from 'pino';
import type { Logger } from '../../ports/logger';
import { redactField, redactFields, redactUrl } from '../../ports/log-redaction';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const logger = pino(
    {
      level,
      base: { service: 'callscreen' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // an Error (as `err`, or logged on its own) is serialized by pino: its message and stack may hold a URL
      serializers: { err: redactedError },
      hooks: {
        logMethod(args, method) {
          method.apply(this, redactArguments(args));
        },
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
  // a child's bindings are written once, when it is made (pino's bindings formatter sees only the root's):
  // every child, and its children (they inherit this method), gets them redacted
  // (typed loosely: pino's child is generic over custom levels, which this logger has none of)
  type MakeChild = (this: unknown, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => unknown;
  const makeChild = logger.child as unknown as MakeChild;
  const redactedChild: MakeChild = function (this: unknown, bindings, options) {
    return makeChild.call(this, redactFields(bindings), options);
  };
  logger.child = redactedChild as unknown as Logger['child'];
  return logger;
}

/**
 * A log call's arguments, secrets hidden: the fields object (a copy when it held any) and every string.
 * Without a message pino writes the error's own message (of an Error logged alone, or of `err`): it is
 * passed here as the message, redacted.
 */
function redactArguments(args: Parameters<LogFn>): Parameters<LogFn> {
  const [first, ...rest] = args as unknown[];
  if (typeof first === 'string') return args.map(redactArgument) as Parameters<LogFn>;
  const fields = redactFields(first instanceof Error ? { err: first } : first);
  const message = rest.length === 0 ? errorMessage(fields) : undefined;
  return [fields, ...(message === undefined ? rest.map(redactArgument) : [redactUrl(message)])] as Parameters<LogFn>;
}

/** the message of `err` when the fields have one and no msg of their own (what pino would write as the message) */
function errorMessage(fields: unknown): string | undefined {
  if (typeof fields !== 'object' || fields === null) return undefined;
  const { err, msg } = fields as { err?: { message?: unknown }; msg?: unknown };
  return msg === undefined && typeof err?.message === 'string' ? err.message : undefined;
}

function redactArgument(arg: unknown): unknown {
  return typeof arg === 'string' ? redactUrl(arg) : redactFields(arg);
}

function redactedError(value: unknown): unknown {
  const serialized: unknown = pino.stdSerializers.err(value as Error);
  if (typeof serialized !== 'object' || serialized === null) return redactFields(serialized);
  // pino's own copy (message, stack, type and the error's enumerable fields): changed in place
  const fields = serialized as Record<string, unknown>;
  for (const key of Object.keys(fields)) fields[key] = redactField(key, fields[key]);
  return fields;
}
