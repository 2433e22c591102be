/** The one logger: pino, structured JSON on stdout; a call's lines carry its callId (logger.child). */
import pino from 'pino';
import type { Logger } from '../../ports/logger';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'callscreen' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.password', '*.secret', 'password', 'secret'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
