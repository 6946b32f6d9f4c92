import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactClient } from './artifact-client.js';
import type { ArchiveCompression } from './archive-compression.js';
import { spoolTo } from './artifact-spool.js';
import type { LocalArtifacts } from './local-artifacts.js';
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
  /** The archives this agent uploaded, kept for its later jobs. @default null (none kept) */
  local?: LocalArtifacts | null;
  /** Retries a call that failed for a transient reason (`withRetry`). */
  retry: <T>(call: () => Promise<T>) => Promise<T>;
  /** Receives the transfer's steps (see timeline.ts). @default none */
  mark?: (step: string) => void;
}): ArtifactTransfer {
  const mark = deps.mark ?? (() => {});
  const { lease } = deps;
  const spoolFile = async () => {
    await mkdir(deps.spoolDir, { recursive: true, mode: 0o700 });
    return join(deps.spoolDir, `${randomUUID()}.tar`);
  };
  return {
    async upload({ path, name }) {
      const file = await spoolFile();
      try {
        mark(`upload ${name}: pack`);
        const archive = await spoolTo(await deps.env.copyOut(path, { compression: deps.compression ?? 'auto' }), file);
        mark(`upload ${name}: packed ${archive.size} bytes`);
        await deps.retry(() =>
          deps.artifacts.upload({ runId: lease.runId, name, jobId: lease.jobId, attempt: lease.attempt, archive }),
        );
        mark(`upload ${name}: sent`);
        await deps.local?.keep(lease.runId, name, archive);
        return { size: archive.size };
      } finally {
        await rm(file, { force: true });
      }
    },
    async download({ name, path }) {
      const kept = (await deps.local?.find(lease.runId, name)) ?? null;
      const file = await spoolFile();
      try {
        mark(`download ${name}: fetch`);
        const fetch = (unlessSha256?: string) =>
          deps.retry(() => deps.artifacts.download({ runId: lease.runId, name, file, unlessSha256 }));
        if (kept && (await fetch(kept.sha256)) === null) {
          // Not modified: extracted from the archive this agent uploaded.
          try {
            mark(`download ${name}: unpack kept`);
            await deps.env.copyIn(kept.file, path);
            mark(`download ${name}: unpacked`);
            return;
          } catch (error) {
            // Gone meanwhile (evicted before it was opened; nothing was written): download it.
            if ((error as { code?: string }).code !== 'ENOENT') throw error;
            await deps.local?.drop(lease.runId, name);
            await fetch();
          }
        } else if (kept) {
          // The artifact is other bytes than this agent uploaded (fetched into `file`).
          await deps.local?.drop(lease.runId, name);
        } else await fetch();
        mark(`download ${name}: unpack`);
        await deps.env.copyIn(file, path);
        mark(`download ${name}: unpacked`);
      } finally {
        await rm(file, { force: true });
      }
    },
  };
}
