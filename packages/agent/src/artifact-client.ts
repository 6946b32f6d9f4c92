import { ArtifactInvalidError, FencedError, NotFoundError } from '@hiveforge/sdk';
import { type Endpoints, createEndpoints } from './endpoints.js';

/** Uploads and downloads run artifacts (gzipped tar) over the coordinator's HTTP API. */
export interface ArtifactClient {
  upload(input: { runId: string; name: string; jobId: string; attempt: number; archive: Buffer }): Promise<void>;
  download(input: { runId: string; name: string }): Promise<Buffer>;
}

async function failure(res: Response): Promise<Error> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  const message = body.message ?? `HTTP ${res.status}`;
  if (body.code === 'HF_FENCED') return new FencedError(message);
  if (body.code === 'HF_NOT_FOUND') return new NotFoundError(message);
  return new ArtifactInvalidError(message);
}

/** Creates an artifact client for a coordinator URL and an agent token. */
export function createArtifactClient(options: {
  url: string | Endpoints;
  token: () => string | undefined;
}): ArtifactClient {
  const endpoints = typeof options.url === 'string' ? createEndpoints([options.url]) : options.url;
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
      });
      if (!res.ok) throw await failure(res);
    },
    async download({ runId, name }) {
      const res = await endpoints.fetch(
        `/api/artifacts/${encodeURIComponent(runId)}?${new URLSearchParams({ name })}`,
        {
          headers: headers(),
        },
      );
      if (!res.ok) throw await failure(res);
      return Buffer.from(await res.arrayBuffer());
    },
  };
}
