import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactClient } from './artifact-client.js';
import type { ArchiveCompression } from './archive-compression.js';
import { spoolTo } from './artifact-spool.js';
import type { JobEnvironment } from './executors/types.js';

/** One job attempt's artifact calls, as the job runner makes them. */
export interface ArtifactTransfer {
  /** Packs `path` of the environment's workspace, spools it, and uploads it as `name`. Resolves with its size. */
  upload(input: { path: string; name: string }): Promise<{ size: number }>;
  /** Downloads artifact `name` into `path` of the workspace (checked whole before anything is written). */
  download(input: { name: string; path: string }): Promise<void>;
}

/**
 * Creates the artifact calls of one job attempt. Archives pass through a spool file under
 * `spoolDir` (outside the workspace, so no job sees it and no quota counts it): the agent holds
 * a chunk of an artifact in memory, never all of it, and a retry sends the same bytes again.
 */
export function createArtifactTransfer(deps: {
  artifacts: ArtifactClient;
  env: JobEnvironment;
  lease: { runId: string; jobId: string; attempt: number };
  spoolDir: string;
  /** How uploads are compressed (`archiveCompressionFor` the agent's coordinators). @default 'auto' */
  compression?: ArchiveCompression;
  /** Retries a call that failed for a transient reason (`withRetry`). */
  retry: <T>(call: () => Promise<T>) => Promise<T>;
}): ArtifactTransfer {
  const { lease } = deps;
  const spoolFile = async () => {
    await mkdir(deps.spoolDir, { recursive: true, mode: 0o700 });
    return join(deps.spoolDir, `${randomUUID()}.tar`);
  };
  return {
    async upload({ path, name }) {
      const file = await spoolFile();
      try {
        const archive = await spoolTo(await deps.env.copyOut(path, { compression: deps.compression ?? 'auto' }), file);
        await deps.retry(() =>
          deps.artifacts.upload({ runId: lease.runId, name, jobId: lease.jobId, attempt: lease.attempt, archive }),
        );
        return { size: archive.size };
      } finally {
        await rm(file, { force: true });
      }
    },
    async download({ name, path }) {
      const file = await spoolFile();
      try {
        await deps.retry(() => deps.artifacts.download({ runId: lease.runId, name, file }));
        await deps.env.copyIn(file, path);
      } finally {
        await rm(file, { force: true });
      }
    },
  };
}
