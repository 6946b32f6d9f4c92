import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ArtifactInvalidError,
  BadInputError,
  type CacheHit,
  CacheInvalidError,
  CoordinatorUnavailableError,
  FencedError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  StoreUnavailableError,
  UnauthenticatedError,
} from '@hiveforge/sdk';
import { type Endpoints, createEndpoints } from './endpoints.js';
import { type FileUploadInit, putFile } from './file-upload.js';

/** The typed error of a failed cache request: retryable ones (see `isRetryable`) for an outage. */
async function failure(res: { status: number; json(): Promise<unknown> }): Promise<Error> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string; limit?: number };
  const message = body.message ?? `HTTP ${res.status}`;
  switch (body.code) {
    case 'HF_FENCED':
      return new FencedError(message);
    case 'HF_NOT_FOUND':
      return new NotFoundError(message);
    case 'HF_UNAUTHENTICATED':
      return new UnauthenticatedError(message);
    case 'HF_FORBIDDEN':
      return new ForbiddenError(message);
    case 'HF_STORE_UNAVAILABLE':
      return new StoreUnavailableError(message);
    case 'HF_CACHE_INVALID':
      return new CacheInvalidError(message);
    case 'HF_PAYLOAD_TOO_LARGE':
      return new PayloadTooLargeError(message, body.limit ?? 0);
    case undefined:
      if (res.status >= 500 || res.status === 408 || res.status === 429)
        return new CoordinatorUnavailableError(`the coordinator answered a cache request with ${message}`);
  }
  return new BadInputError(message);
}

/** A cache entry as the coordinator describes it. */
export interface CacheEntryInfo {
  _id: string;
  key: string;
  scope: string;
  size: number;
  sha256: string;
}

/** Which job attempt a cache request is for: the coordinator scopes it by that job's run. */
export interface CacheAttempt {
  jobId: string;
  attempt: number;
}

/** The coordinator's cache API (`/api/caches`, see the coordinator's `caches-http.ts`). */
export interface CacheClient {
  restore(
    input: CacheAttempt & { key: string; restoreKeys: readonly string[]; version: string },
  ): Promise<{ hit: CacheHit; entry: CacheEntryInfo | null }>;
  /** Writes an entry's archive to `file` (replaced), checked against its hash. */
  download(input: CacheAttempt & { entry: CacheEntryInfo; file: string }): Promise<void>;
  /** Saves the archive in `file` (`size` bytes, SHA-256 `sha256`) under the key. */
  save(
    input: CacheAttempt & { key: string; version: string; file: string; size: number; sha256: string },
  ): Promise<{ saved: boolean; entry: CacheEntryInfo; evicted: number }>;
}

/** How long one cache transfer may take, by default: entries go up to 1 GiB. */
export const DEFAULT_CACHE_TIMEOUT_MS = 600_000;

/** Creates a cache client for a coordinator URL and an agent token. */
export function createCacheClient(options: {
  url: string | Endpoints;
  token: () => string | undefined;
  /** How long one request may take. @default DEFAULT_CACHE_TIMEOUT_MS (10 min) */
  timeoutMs?: number;
}): CacheClient {
  const endpoints = typeof options.url === 'string' ? createEndpoints([options.url]) : options.url;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CACHE_TIMEOUT_MS;
  const headers = (): Record<string, string> => {
    const t = options.token();
    return t ? { authorization: `Bearer ${t}` } : {};
  };
  const attemptQuery = (input: CacheAttempt, extra: Record<string, string> = {}) =>
    new URLSearchParams({ jobId: input.jobId, attempt: String(input.attempt), ...extra });
  return {
    async restore(input) {
      const res = await endpoints.fetch('/api/caches/restore', {
        method: 'POST',
        headers: { ...headers(), 'content-type': 'application/json' },
        body: JSON.stringify(input),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw await failure(res);
      return (await res.json()) as { hit: CacheHit; entry: CacheEntryInfo | null };
    },
    async download(input) {
      const res = await endpoints.fetch(
        `/api/caches/entries/${encodeURIComponent(input.entry._id)}?${attemptQuery(input)}`,
        { headers: headers(), signal: AbortSignal.timeout(timeoutMs) },
      );
      if (!res.ok) throw await failure(res);
      if (!res.body) throw new ArtifactInvalidError(`cache entry ${input.entry.key} arrived without a body`);
      const hash = createHash('sha256');
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        hashing,
        createWriteStream(input.file),
      );
      if (hash.digest('hex') !== input.entry.sha256)
        throw new ArtifactInvalidError(`cache entry ${input.entry.key} arrived damaged (its SHA-256 differs)`);
    },
    async save(input) {
      const query = attemptQuery(input, { key: input.key, version: input.version });
      // Not fetch, which reads a file body whole into memory (see `putFile`): streamed from the
      // file as the socket takes it, opened anew for each try.
      const res = await endpoints.fetch<Awaited<ReturnType<typeof putFile>>, FileUploadInit>(
        `/api/caches/entries?${query}`,
        {
          method: 'PUT',
          headers: { ...headers(), 'content-type': 'application/gzip', 'x-sha256': input.sha256 },
          file: input.file,
          size: input.size,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (url, init) => putFile(url, init as FileUploadInit),
      );
      if (!res.ok) throw await failure(res);
      return (await res.json()) as { saved: boolean; entry: CacheEntryInfo; evicted: number };
    },
  };
}
