/**
 * Downloading a feed into a temporary file: https: (or http: when the feed allows it) and file: URLs.
 *
 * HTTP: a conditional GET (If-None-Match with the ETag, If-Modified-Since with the Last-Modified of the
 * last import); 304 means nothing to do. At most MAX_REDIRECTS redirects, never from https to plain
 * http unless the feed allows http, and the feed's own headers (credentials) are not sent on to another
 * origin. gzip and deflate are accepted and unpacked on the way. The whole download must finish within
 * the feed's timeout and the server must not fall silent for a tenth of it; more than maxBytes (after
 * unpacking) aborts it. Every failure is a FeedDownloadError naming the feed and what went wrong.
 *
 * file: the file is read in place. Its size and modification time stand in for an ETag, so an unchanged
 * file is "not modified" like a 304.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { FeedDownloadError, type FeedDownloadFailure } from '../../errors/feed-download-error';
import { redactUrl } from '../../ports/log-redaction';

export const MAX_REDIRECTS = 5;
const USER_AGENT = 'callscreen feed subscription';

export interface DownloadRequest {
  feed: string;
  url: string;
  /** the feed's headers, values resolved (sent to the feed's origin only) */
  headers: Readonly<Record<string, string>>;
  /** validators of the live import; absent: an unconditional GET */
  etag?: string | undefined;
  lastModified?: string | undefined;
  allowInsecureHttp: boolean;
  maxBytes: number;
  timeoutMs: number;
  /** where the download is written (a folder of the caller's, removed by it) */
  directory: string;
  signal?: AbortSignal | undefined;
}

export type DownloadResult =
  | { kind: 'not-modified'; httpStatus: number | undefined }
  | {
      kind: 'downloaded';
      /** the file to import (for file: URLs the file itself) */
      file: string;
      bytes: number;
      httpStatus: number | undefined;
      etag: string | undefined;
      lastModified: string | undefined;
      /** what was imported, for the source table: the URL's last path segment */
      origin: string;
    };

export async function downloadFeed(request: DownloadRequest): Promise<DownloadResult> {
  const url = new URL(request.url);
  if (url.protocol === 'file:') return readFileFeed(request, url);
  return downloadHttp(request, url);
}

async function readFileFeed(request: DownloadRequest, url: URL): Promise<DownloadResult> {
  const file = fileURLToPath(url);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (e) {
    throw failure(request, 'file', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  if (!stat.isFile()) throw failure(request, 'file', `${file} is not a file`);
  if (stat.size > request.maxBytes)
    throw failure(request, 'too-large', `${file} has ${stat.size} bytes, more than maxBytes (${request.maxBytes})`);
  const etag = `"file-${stat.size}-${Math.trunc(stat.mtimeMs)}"`;
  if (request.etag === etag) return { kind: 'not-modified', httpStatus: undefined };
  return {
    kind: 'downloaded',
    file,
    bytes: stat.size,
    httpStatus: undefined,
    etag,
    lastModified: undefined,
    origin: path.basename(file),
  };
}

async function downloadHttp(request: DownloadRequest, first: URL): Promise<DownloadResult> {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(failure(request, 'timeout', `not finished after ${request.timeoutMs / 1000} s`)),
    request.timeoutMs,
  );
  const onAbort = (): void => deadline.abort(failure(request, 'aborted', 'stopped (the runner is closing)'));
  request.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let url = first;
    for (let redirects = 0; ; redirects++) {
      const sameOrigin = url.origin === first.origin;
      const response = await get(request, url, sameOrigin, deadline);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && status !== 304 && response.headers.location !== undefined) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) throw failure(request, 'redirects', `more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(response.headers.location, url);
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && request.allowInsecureHttp))
          throw failure(
            request,
            'redirects',
            `redirected to ${next.protocol}// (${redactUrl(next.origin)}): only https:// is followed`,
          );
        url = next;
        continue;
      }
      if (status === 304) {
        response.resume();
        return { kind: 'not-modified', httpStatus: 304 };
      }
      if (status !== 200) {
        response.resume();
        throw failure(
          request,
          'status',
          `${redactUrl(url.origin + url.pathname)} answered ${status}`,
          undefined,
          status,
        );
      }
      return await save(request, url, response, deadline.signal);
    }
  } catch (e) {
    // the abort's reason (timeout, closing) says more than the socket error it caused
    if (deadline.signal.aborted && deadline.signal.reason instanceof FeedDownloadError) throw deadline.signal.reason;
    if (e instanceof FeedDownloadError) throw e;
    throw failure(request, 'network', (e as Error).message, e);
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }
}

function get(
  request: DownloadRequest,
  url: URL,
  sameOrigin: boolean,
  deadline: AbortController,
): Promise<http.IncomingMessage> {
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    'accept-encoding': 'gzip, deflate',
    ...(sameOrigin ? request.headers : {}),
  };
  if (request.etag !== undefined) headers['if-none-match'] = request.etag;
  if (request.lastModified !== undefined) headers['if-modified-since'] = request.lastModified;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { headers, signal: deadline.signal }, resolve);
    req.on('error', reject);
    // a server that falls silent (no headers, no body bytes) for a tenth of the timeout
    const idleMs = Math.max(1000, Math.floor(request.timeoutMs / 10));
    req.setTimeout(idleMs, () =>
      deadline.abort(failure(request, 'timeout', `the server said nothing for ${idleMs / 1000} s`)),
    );
  });
}

async function save(
  request: DownloadRequest,
  url: URL,
  response: http.IncomingMessage,
  signal: AbortSignal,
): Promise<DownloadResult> {
  const encoding = String(response.headers['content-encoding'] ?? 'identity').toLowerCase();
  const declared = Number(response.headers['content-length']);
  if (encoding === 'identity' && Number.isFinite(declared) && declared > request.maxBytes) {
    response.destroy();
    throw failure(request, 'too-large', `${declared} bytes announced, more than maxBytes (${request.maxBytes})`);
  }
  const stages: NodeJS.ReadWriteStream[] = [];
  if (encoding === 'gzip' || encoding === 'x-gzip') stages.push(zlib.createGunzip());
  else if (encoding === 'deflate') stages.push(zlib.createInflate());
  else if (encoding !== 'identity')
    throw failure(request, 'network', `the server sent an encoding callscreen does not unpack: ${encoding}`);
  const limit = new ByteLimit(request.maxBytes, () =>
    failure(request, 'too-large', `more than maxBytes (${request.maxBytes} bytes)`),
  );
  const file = path.join(request.directory, 'download');
  await pipeline([response, ...stages, limit, createWriteStream(file)], { signal });
  const header = (name: string): string | undefined => {
    const value = response.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return {
    kind: 'downloaded',
    file,
    bytes: limit.bytes,
    httpStatus: response.statusCode,
    etag: header('etag'),
    lastModified: header('last-modified'),
    origin: originName(url),
  };
}

/** Passes bytes on until `max`, then fails the stream with the error `tooLarge` makes. */
class ByteLimit extends Transform {
  bytes = 0;
  constructor(
    private readonly max: number,
    private readonly tooLarge: () => Error,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(this.tooLarge());
    else done(null, chunk);
  }
}

/** the URL's last path segment (the file name the source table shows), else its host */
function originName(url: URL): string {
  const raw = url.pathname.split('/').filter(Boolean).pop() ?? '';
  let last = raw;
  try {
    last = decodeURIComponent(raw);
  } catch {
    // a stray % in the path: the name as it is written
  }
  return (last || url.hostname).slice(0, 200);
}

function failure(
  request: DownloadRequest,
  kind: FeedDownloadFailure,
  detail: string,
  cause?: unknown,
  httpStatus?: number,
): FeedDownloadError {
  return new FeedDownloadError(
    { feed: request.feed, failure: kind, detail, ...(httpStatus !== undefined && { httpStatus }) },
    cause === undefined ? undefined : { cause },
  );
}
