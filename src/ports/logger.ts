/**
 * The logger every part writes to: pino's interface (structured, levelled, child loggers carry a call's
 * callId). Created once, by adapters/logging/pino-logger.ts, and handed down.
 */
export type { Logger } from 'pino';
