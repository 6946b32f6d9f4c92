import {
  ArtifactInvalidError,
  CoordinatorUnavailableError,
  FencedError,
  NotFoundError,
  StoreUnavailableError,
  UnauthenticatedError,
} from '@hiveforge/sdk';
import { type Endpoints, createEndpoints } from './endpoints.js';

/** Uploads and downloads run artifacts (gzipped tar) over the coordinator's HTTP API. */
export interface ArtifactClient {
  upload(input: { runId: string; name: string; jobId: string; attempt: number; archive: Buffer }): Promise<void>;
  download(input: { runId: string; name: string }): Promise<Buffer>;
}

/** How long one artifact upload or download may take, by default: archives go up to 256 MiB. */
export const DEFAULT_ARTIFACT_TIMEOUT_MS = 300_000;

/** Statuses that mean "not now" when no HiveForge code says otherwise. */
const UNAVAILABLE_STATUS = new Set([408, 429, 502, 503, 504]);

/** The typed error of a failed artifact request: retryable ones (see `isRetryable`) for an outage. */
async function failure(res: Response): Promise<Error> {
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
  /** How long one upload or download may take. @default DEFAULT_ARTIFACT_TIMEOUT_MS (5 min) */
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
      const res = await endpoints.fetch(`/api/artifacts/${encodeURIComponent(runId)}?${query}`, {
        method: 'PUT',
        headers: { ...headers(), 'content-type': 'application/gzip' },
        body: archive,
        signal: deadline(timeoutMs),
      });
      if (!res.ok) throw await failure(res);
    },
    async download({ runId, name }) {
      const res = await endpoints.fetch(
        `/api/artifacts/${encodeURIComponent(runId)}?${new URLSearchParams({ name })}`,
        {
          headers: headers(),
          signal: deadline(timeoutMs),
        },
      );
      if (!res.ok) throw await failure(res);
      return Buffer.from(await res.arrayBuffer());
    },
  };
}
