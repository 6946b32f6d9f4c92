import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  ArtifactInvalidError,
  CoordinatorUnavailableError,
  FencedError,
  NotFoundError,
  StoreUnavailableError,
  UnauthenticatedError,
} from '@hiveforge/sdk';
import { type SpooledArchive, spoolTo } from './artifact-spool.js';
import { type Endpoints, createEndpoints } from './endpoints.js';
import { type FileUploadInit, putFile } from './file-upload.js';

/**
 * Uploads and downloads run artifacts (tar archives, gzipped or not) over the coordinator's HTTP
 * API, streamed from and to files: memory stays bounded whatever the artifact's size.
 */
export interface ArtifactClient {
  /** Sends a spooled archive; the coordinator checks its SHA-256 against `archive.sha256`. */
  upload(input: {
    runId: string;
    name: string;
    jobId: string;
    attempt: number;
    archive: SpooledArchive;
  }): Promise<void>;
  /**
   * Writes an artifact's archive to `file` (replaced if there) and checks its SHA-256 against the
   * coordinator's; a damaged transfer is a retryable error. With `unlessSha256` (the archive the
   * agent already has), resolves with null and transfers nothing when the artifact is still
   * those bytes (the coordinator answers 304 to `If-None-Match`).
   */
  download(input: { runId: string; name: string; file: string; unlessSha256?: string }): Promise<SpooledArchive | null>;
}

/** How long one artifact upload or download may take, by default. */
export const DEFAULT_ARTIFACT_TIMEOUT_MS = 30 * 60_000;

/** Statuses that mean "not now" when no HiveForge code says otherwise. */
const UNAVAILABLE_STATUS = new Set([408, 429, 502, 503, 504]);

/** The typed error of a failed artifact request: retryable ones (see `isRetryable`) for an outage. */
async function failure(res: { status: number; json(): Promise<unknown> }): Promise<Error> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  const message = body.message ?? `HTTP ${res.status}`;
  if (body.code === 'HF_FENCED') return new FencedError(message);
  if (body.code === 'HF_NOT_FOUND') return new NotFoundError(message);
  if (body.code === 'HF_UNAUTHENTICATED') return new UnauthenticatedError(message);
  if (body.code === 'HF_STORE_UNAVAILABLE') return new StoreUnavailableError(message);
  if (body.code === undefined && (UNAVAILABLE_STATUS.has(res.status) || res.status >= 500))
    return new CoordinatorUnavailableError(`the coordinator answered an artifact request with ${message}`);
  return new ArtifactInvalidError(message);
}

/** A fetch signal that aborts after `ms` as a `TimeoutError` (retryable). */
const deadline = (ms: number) => AbortSignal.timeout(ms);

/** Creates an artifact client for a coordinator URL and an agent token. */
export function createArtifactClient(options: {
  url: string | Endpoints;
  token: () => string | undefined;
  /** How long one upload or download may take. @default DEFAULT_ARTIFACT_TIMEOUT_MS (30 min) */
  timeoutMs?: number;
}): ArtifactClient {
  const endpoints = typeof options.url === 'string' ? createEndpoints([options.url]) : options.url;
  const timeoutMs = options.timeoutMs ?? DEFAULT_ARTIFACT_TIMEOUT_MS;
  const headers = (): Record<string, string> => {
    const t = options.token();
    return t ? { authorization: `Bearer ${t}` } : {};
  };
  return {
    async upload({ runId, name, jobId, attempt, archive }) {
      const query = new URLSearchParams({ name, jobId, attempt: String(attempt) });
      // Not fetch: it reads a file body whole into memory (see `putFile`). Each retry opens the file anew.
      const res = await endpoints.fetch<Awaited<ReturnType<typeof putFile>>, FileUploadInit>(
        `/api/artifacts/${encodeURIComponent(runId)}?${query}`,
        {
          method: 'PUT',
          headers: { ...headers(), 'content-type': 'application/x-tar', 'x-sha256': archive.sha256 },
          file: archive.file,
          size: archive.size,
          signal: deadline(timeoutMs),
        },
        (url, init) => putFile(url, init as FileUploadInit),
      );
      if (!res.ok) throw await failure(res);
    },
    async download({ runId, name, file, unlessSha256 }) {
      const res = await endpoints.fetch(
        `/api/artifacts/${encodeURIComponent(runId)}?${new URLSearchParams({ name })}`,
        {
          headers: unlessSha256 ? { ...headers(), 'if-none-match': `"${unlessSha256}"` } : headers(),
          signal: deadline(timeoutMs),
        },
      );
      if (unlessSha256 && res.status === 304) return null;
      if (!res.ok) throw await failure(res);
      await rm(file, { force: true });
      const spooled = await spoolTo(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), file);
      const expected = res.headers.get('x-sha256');
      if (expected && expected !== spooled.sha256)
        throw new CoordinatorUnavailableError(
          `artifact '${name}' arrived damaged: SHA-256 ${spooled.sha256}, the coordinator sent ${expected}`,
        );
      return spooled;
    },
  };
}
