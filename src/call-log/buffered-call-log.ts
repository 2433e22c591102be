/**
 * The screened-call log as the screener sees it: append() returns at once and never fails, and every
 * record reaches the log behind it (the Redis stream), in order, even across a Redis outage.
 *
 * One writer loop sends the records one after the other. A write that fails (Redis down, failing over,
 * read-only, no answer within writeTimeoutMs) keeps its record at the head of the queue and is tried
 * again when the Redis client says it is ready, or after a short backoff (retryMinMs doubling up to
 * retryMaxMs). The queue in memory holds up to bufferRecords records; past that, records go to the spill
 * file (JSON lines), and so does every record after them until the file has been read back, so the order
 * stays the order of the calls. When the memory queue is empty the writer reads the next records back
 * from the file; once the file is written whole it is removed. At close, what is still waiting (the memory
 * queue, then the rest of the file) is put in the spill file, and the next start replays a spill file it
 * finds before anything else.
 *
 * No record is written twice: a retry after a write whose answer was lost, or the replay of a record the
 * last run spilled while its write was in flight, sends the same record again, and the log below adds it
 * only once (the CallLog port's promise; the Redis log checks the record's id in one script).
 *
 * Said once per outage: a warning when records start waiting, one when they start going to the spill
 * file, an info line with how many were written late once all are written; an error when records are
 * dropped (the spill file could not be written, or a line of it could not be read back).
 */
import { appendFileSync, createReadStream, createWriteStream, existsSync } from 'node:fs';
import { appendFile, open, rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { CallLog, ScreenedCallRecord } from '../ports/call-log';
import type { Logger } from '../ports/logger';

/** What the buffer reports (the daemon's Prometheus metrics). */
export interface CallLogBufferMetrics {
  /** records waiting now, in memory and in the spill file */
  queued(count: number): void;
  /** records that went to the spill file */
  spilled(count: number): void;
  /** records lost: the spill file could not be written, or a line of it not read back */
  dropped(count: number): void;
}

/** The log below, with the retention job the daemon starts and stops. */
export type WrappedCallLog = CallLog & { startRetention?(): void; close?(): Promise<void> };

export interface BufferedCallLogOptions {
  /** records kept in memory while the log cannot be written; past these they go to the spill file */
  bufferRecords: number;
  /** the spill file (JSON lines, one record each) */
  spillFile: string;
  logger: Logger;
  metrics?: CallLogBufferMetrics;
  /** subscribes to "the log below can be written again" (the Redis client's 'ready'); returns the unsubscribe */
  onReady?: (listener: () => void) => () => void;
  /** first wait after a failed write (default 250 ms), doubled after each failure up to retryMaxMs (default 2 s) */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** a write with no answer within this long counts as failed and is tried again (default 5 s) */
  writeTimeoutMs?: number;
  /** at close, how long the writer may go on while writes succeed before the rest is spilled (default 1 s) */
  closeWaitMs?: number;
}

const READ_CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export class BufferedCallLog implements CallLog {
  /** the next records to write, oldest first */
  private readonly memory: ScreenedCallRecord[] = [];
  /** lines for the spill file not yet appended to it */
  private staging: string[] = [];
  /** records in the spill file (or staged for it) not yet taken back into memory */
  private inFile = 0;
  /** the spill file holds records newer than all in memory: new records go there too, after them */
  private fileMode: boolean;
  /** bytes of the spill file already taken back into memory */
  private fileOffset = 0;
  /** every change of the spill file, one after the other */
  private fileWork: Promise<void> = Promise.resolve();
  private flushQueued = false;
  /** the spill file has records: warned once until it is written whole */
  private spillWarned = false;
  private writer: Promise<void> | undefined;
  /** set when the writer waits before a retry: wakes it at once (Redis ready, close) */
  private wake: (() => void) | undefined;
  private readonly stopListening: () => void;
  /** the outage in progress: since the first failed write, until everything waiting is written */
  private outage: { late: number } | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** records appended after close() began, until its spill is done */
  private readonly afterClose: ScreenedCallRecord[] = [];
  private spilledAtClose = false;
  /** close() left records in the spill file: later ones go after them */
  private leftInFile = false;

  private readonly bound: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly writeTimeoutMs: number;
  private readonly closeWaitMs: number;

  constructor(
    private readonly target: WrappedCallLog,
    private readonly options: BufferedCallLogOptions,
  ) {
    this.bound = Math.max(1, options.bufferRecords);
    this.retryMinMs = options.retryMinMs ?? 250;
    this.retryMaxMs = options.retryMaxMs ?? 2000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 5000;
    this.closeWaitMs = options.closeWaitMs ?? 1000;
    this.stopListening = options.onReady?.(() => this.wake?.()) ?? (() => undefined);
    // checked once, at start (not on a call's path): records the last run could not write come first
    this.fileMode = existsSync(options.spillFile);
    if (this.fileMode) {
      this.fileWork = this.recover(); // before any record of this run is appended to the file
      this.kick();
    }
  }

  /** Records waiting to be written, in memory and in the spill file. */
  get waiting(): number {
    return this.memory.length + Math.max(0, this.inFile);
  }

  /** Queues the record and returns at once: it never waits for Redis, and never fails. */
  append(record: ScreenedCallRecord): Promise<void> {
    if (this.closed) {
      if (this.spilledAtClose) this.appendAfterClose(record);
      else this.afterClose.push(record);
      return Promise.resolve();
    } else if (!this.fileMode && this.memory.length < this.bound) {
      this.memory.push(record);
    } else {
      this.toFile(record);
    }
    this.options.metrics?.queued(this.waiting);
    this.kick();
    return Promise.resolve();
  }

  recent(count: number): Promise<ScreenedCallRecord[]> {
    return this.target.recent(count);
  }

  startRetention(): void {
    this.target.startRetention?.();
  }

  /**
   * Lets the writer go on for up to closeWaitMs while writes succeed, then puts what still waits in the
   * spill file (for the next start) and closes the log below. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const until = Date.now() + this.closeWaitMs;
      while (this.waiting > 0 && !this.outage && Date.now() < until) await sleep(10);
      this.closed = true;
      this.stopListening();
      this.wake?.();
      await this.fileWork;
      this.leftInFile = this.waiting > 0;
      await this.spillWaiting();
      this.spilledAtClose = true;
      for (const record of this.afterClose.splice(0)) this.appendAfterClose(record);
      await this.target.close?.();
    })();
    return this.closing;
  }

  // ---- the writer ----

  private kick(): void {
    if (this.writer || this.closed) return;
    this.writer = this.writeAll().finally(() => {
      this.writer = undefined;
      // a record appended between the loop's last look and now
      if (this.memory.length > 0 || this.fileMode) this.kick();
    });
  }

  private async writeAll(): Promise<void> {
    let delay = this.retryMinMs;
    while (!this.closed) {
      if (this.memory.length === 0) {
        if (!this.fileMode) return;
        await this.refill();
        continue;
      }
      const record = this.memory[0] as ScreenedCallRecord;
      try {
        await this.writeOne(record);
      } catch (e) {
        if (this.closed) return;
        if (!this.outage) {
          this.outage = { late: 0 };
          const waiting = this.waiting;
          this.options.logger.warn(
            { waiting, err: errorText(e) },
            `screened-call log: Redis not writable, ${waiting} records waiting`,
          );
        }
        await this.pause(delay);
        delay = Math.min(delay * 2, this.retryMaxMs);
        continue;
      }
      if (this.closed) return; // close() has spilled it too: the next start's write adds nothing
      this.memory.shift();
      delay = this.retryMinMs;
      this.options.metrics?.queued(this.waiting);
      if (this.outage) {
        this.outage.late += 1;
        if (this.waiting === 0) {
          const { late } = this.outage;
          this.outage = undefined;
          this.options.logger.info({ late }, `screened-call log: Redis writable again, ${late} records written late`);
        }
      }
    }
  }

  /** the target's append, failed when it does not answer within writeTimeoutMs */
  private writeOne(record: ScreenedCallRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${this.writeTimeoutMs} ms`)),
        this.writeTimeoutMs,
      );
      timer.unref();
      this.target.append(record).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** waits ms, or until the log below says it is ready, or until close */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
    });
  }

  // ---- the spill file ----

  private toFile(record: ScreenedCallRecord): void {
    this.fileMode = true;
    this.staging.push(`${JSON.stringify(record)}\n`);
    this.inFile += 1;
    this.options.metrics?.spilled(1);
    if (!this.spillWarned) {
      this.spillWarned = true;
      this.options.logger.warn(
        { spillFile: this.options.spillFile, bufferRecords: this.bound },
        'screened-call log: memory queue full (callLog.bufferRecords); further records go to the spill file',
      );
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.fileWork = this.fileWork.then(() => this.flushStaging());
    }
  }

  private async flushStaging(): Promise<void> {
    this.flushQueued = false;
    const lines = this.staging;
    this.staging = [];
    if (lines.length === 0) return;
    try {
      await appendFile(this.options.spillFile, lines.join(''), { mode: 0o600 });
    } catch (e) {
      this.inFile -= lines.length;
      this.dropped(lines.length, 'the spill file could not be written', e);
    }
  }

  /**
   * Takes the next records of the spill file back into memory (up to bufferRecords). When the file has
   * been read whole and nothing more is on its way to it, it is removed and new records go to memory again.
   */
  private async refill(): Promise<void> {
    for (;;) {
      await this.fileWork; // the staged lines are in the file
      if (this.closed) return;
      let lines: string[];
      let bytes: number;
      try {
        ({ lines, bytes } = await readLines(this.options.spillFile, this.fileOffset, this.bound));
      } catch (e) {
        if (this.closed) return;
        // the file cannot be read back: what it holds (and what was on its way there) is lost, and new
        // records go to memory again
        this.dropped(this.inFile, 'the spill file could not be read back', e);
        this.staging = [];
        this.endFileMode();
        return;
      }
      if (this.closed) return; // close() spills from the offset it saw
      this.fileOffset += bytes;
      this.inFile -= lines.length;
      let unreadable = 0;
      for (const line of lines) {
        const record = parseRecord(line);
        if (record) this.memory.push(record);
        else unreadable += 1;
      }
      if (unreadable > 0) this.dropped(unreadable, 'lines of the spill file are not records');
      if (lines.length > 0) return;
      if (this.staging.length === 0 && !this.flushQueued) {
        this.endFileMode();
        return;
      }
    }
  }

  /** the spill file is done with: removed (after whatever file work is queued), new records go to memory */
  private endFileMode(): void {
    this.fileMode = false;
    this.spillWarned = false;
    this.fileOffset = 0;
    this.inFile = 0;
    this.fileWork = this.fileWork
      .then(() => rm(this.options.spillFile, { force: true }))
      .catch((e: unknown) =>
        this.options.logger.warn(
          { spillFile: this.options.spillFile, err: errorText(e) },
          'screened-call log: the spill file, written whole, could not be removed',
        ),
      );
  }

  /** The last run's spill file: counted (for the metric), and ended with a newline if it was cut short. */
  private async recover(): Promise<void> {
    const file = this.options.spillFile;
    try {
      const { count, endsWithNewline } = await countLines(file);
      if (!endsWithNewline) await appendFile(file, '\n'); // a line cut short by a crash stays one bad line
      const records = count + (endsWithNewline ? 0 : 1);
      this.inFile += records;
      this.options.metrics?.queued(this.waiting);
      this.options.logger.info(
        { spillFile: file, records },
        `screened-call log: ${records} records the last run could not write are written first`,
      );
    } catch (e) {
      this.options.logger.error(
        { spillFile: file, err: errorText(e) },
        'screened-call log: the spill file of the last run could not be read',
      );
    }
  }

  /** At close: the memory queue, then the rest of the file, in the spill file for the next start. */
  private async spillWaiting(): Promise<void> {
    const file = this.options.spillFile;
    const waiting = this.waiting;
    if (this.memory.length === 0 && this.fileOffset === 0) {
      if (waiting > 0) this.options.logger.warn({ waiting, spillFile: file }, spilledAtCloseMessage(waiting));
      return; // the file (if any) is already all that waits, in order
    }
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      const out = createWriteStream(temporary, { mode: 0o600 });
      const head = this.memory.map((r) => `${JSON.stringify(r)}\n`).join('');
      const rest = this.fileMode && existsSync(file) ? createReadStream(file, { start: this.fileOffset }) : undefined;
      await pipeline(
        (async function* () {
          yield head;
          if (rest) yield* rest;
        })(),
        out,
      );
      await rename(temporary, file);
      this.memory.length = 0;
      this.options.logger.warn({ waiting, spillFile: file }, spilledAtCloseMessage(waiting));
    } catch (e) {
      await rm(temporary, { force: true }).catch(() => undefined);
      this.dropped(waiting, 'the spill file could not be written at close', e);
    }
  }

  /**
   * A call screened while the daemon shuts down (after the log's close, before Redis is closed): written
   * straight to the log below while nothing waits, else (or when that write fails) after the rest in
   * the spill file.
   */
  private appendAfterClose(record: ScreenedCallRecord): void {
    if (this.leftInFile) {
      this.spillAfterClose([record]);
      return;
    }
    this.target.append(record).catch(() => {
      this.leftInFile = true;
      this.spillAfterClose([record]);
    });
  }

  /** records for the spill file after close, written at once (no writer runs any more) */
  private spillAfterClose(records: ScreenedCallRecord[]): void {
    if (records.length === 0) return;
    try {
      appendFileSync(this.options.spillFile, records.map((r) => `${JSON.stringify(r)}\n`).join(''), { mode: 0o600 });
      this.options.metrics?.spilled(records.length);
    } catch (e) {
      this.dropped(records.length, 'the spill file could not be written after close', e);
    }
  }

  private dropped(count: number, why: string, e?: unknown): void {
    if (count <= 0) return;
    this.options.metrics?.dropped(count);
    this.options.logger.error(
      { dropped: count, spillFile: this.options.spillFile, ...(e !== undefined && { err: errorText(e) }) },
      `screened-call log: ${count} records dropped: ${why}`,
    );
  }
}

const spilledAtCloseMessage = (waiting: number): string =>
  `screened-call log: ${waiting} records not written yet; kept in the spill file for the next start`;

/** one line of the spill file -> the record, or undefined when it is not one */
function parseRecord(line: string): ScreenedCallRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && typeof (value as { callId?: unknown }).callId === 'string')
      return value as ScreenedCallRecord;
  } catch {
    // not JSON: counted as dropped by the caller
  }
  return undefined;
}

/**
 * Up to max whole lines of the file from offset (a line still being appended, with no newline yet, is
 * left for the next read), and how many bytes they take. A missing file has no lines.
 */
async function readLines(file: string, offset: number, max: number): Promise<{ lines: string[]; bytes: number }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], bytes: 0 };
    throw e;
  }
  try {
    const lines: string[] = [];
    let bytes = 0;
    let chunk = Buffer.alloc(READ_CHUNK_BYTES);
    while (lines.length < max) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset + bytes);
      if (bytesRead === 0) break;
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE, 0); end >= 0 && end < bytesRead; end = chunk.indexOf(NEWLINE, start)) {
        const line = chunk.toString('utf8', start, end);
        start = end + 1;
        if (line !== '') lines.push(line);
        if (lines.length >= max) break;
      }
      if (start === 0) {
        if (bytesRead < chunk.length) break; // the last line is still being written
        chunk = Buffer.alloc(chunk.length * 2); // a line longer than the chunk
        continue;
      }
      bytes += start;
    }
    return { lines, bytes };
  } finally {
    await handle.close();
  }
}

/** lines in the file (newlines), and whether it ends with one (an empty file does) */
async function countLines(file: string): Promise<{ count: number; endsWithNewline: boolean }> {
  let count = 0;
  let last = NEWLINE;
  for await (const chunk of createReadStream(file)) {
    const bytes = chunk as Buffer;
    for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) count += 1;
    if (bytes.length > 0) last = bytes[bytes.length - 1] as number;
  }
  return { count, endsWithNewline: last === NEWLINE };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
