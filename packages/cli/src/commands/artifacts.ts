import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createEndpoints, unpackInto } from '@hiveforge/agent';
import { ConfigError, type ErrorCode, ErrorCodes, NotFoundError, formatBytes } from '@hiveforge/sdk';
import { ClusterCommandError, withCluster } from '../cluster-client.js';
import { formatTime, renderTable, toJson } from '../table.js';
import type { CommandIO } from './run.js';
import { parseRunRef } from './runs.js';

/** What `hiveforge artifacts` is asked: a run, and optionally an artifact to download into a directory. */
export interface ArtifactsCommandOptions {
  run: string;
  /** The artifact to download; without it the run's artifacts are listed. */
  download?: string;
  /** Where the downloaded artifact is extracted (created if missing). @default the current directory */
  to?: string;
  json?: boolean;
}

/**
 * `hiveforge artifacts RUN`: a run's artifacts (name, size, the job and attempt that uploaded it,
 * when). With `--download NAME --to DIR` it fetches that artifact's archive from
 * `GET /api/artifacts/RUN?name=NAME` and extracts it into DIR in one read of the response,
 * checking every entry as it goes: an absolute path, a `..` segment, a link leaving DIR or an
 * entry written through a link is refused as HF_ARTIFACT_INVALID, and then nothing is extracted
 * and no directory is left behind.
 */
export async function artifactsCommand(options: ArtifactsCommandOptions, io: CommandIO): Promise<number> {
  const { runId, job } = parseRunRef(options.run);
  if (job !== null) throw new ConfigError(`artifacts belong to a run: give PIPELINE/NUMBER, not '${options.run}'`);
  if (options.to !== undefined && options.download === undefined)
    throw new ConfigError('--to says where to extract an artifact: give --download NAME too');
  return withCluster(async ({ client, urls, token }) => {
    const artifacts = await client.runs.artifacts.query({ runId });
    if (options.download === undefined) {
      if (options.json) io.stdout.write(toJson(artifacts));
      else if (artifacts.length === 0) io.stdout.write(`run ${runId} has no artifacts\n`);
      else {
        const rows = artifacts.map((a) => [
          a.name,
          formatBytes(a.size),
          a.job ?? '-',
          a.attempt === null ? '-' : String(a.attempt),
          formatTime(a.createdAt),
        ]);
        io.stdout.write(`${renderTable(['NAME', 'SIZE', 'JOB', 'ATTEMPT', 'UPLOADED'], rows)}\n`);
      }
      return 0;
    }
    const name = options.download;
    const artifact = artifacts.find((a) => a.name === name);
    if (!artifact) {
      const known = artifacts.length ? `its artifacts: ${artifacts.map((a) => a.name).join(', ')}` : 'it has none';
      throw new NotFoundError(`run '${runId}' has no artifact '${name}' (${known})`);
    }
    const response = await createEndpoints(urls).fetch(
      `/api/artifacts/${encodeURIComponent(runId)}?name=${encodeURIComponent(name)}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { code?: unknown; message?: unknown } | null;
      const known = Object.values(ErrorCodes) as string[];
      const code = (
        typeof body?.code === 'string' && known.includes(body.code) ? body.code : ErrorCodes.internal
      ) as ErrorCode;
      throw new ClusterCommandError(code, String(body?.message ?? `the coordinator answered ${response.status}`));
    }
    // One pass: the response is checked entry by entry as it is extracted into a staging
    // directory inside DIR, which moves into place only when the whole archive passed. DIR must
    // exist for that; when it did not, a refusal removes what was created for it.
    const dir = resolve(options.to ?? '.');
    const created = await firstMissingOf(dir);
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    try {
      await mkdir(dir, { recursive: true });
      const entries = await unpackInto(dir, body, '.');
      if (options.json) io.stdout.write(toJson({ ...artifact, dir, entries }));
      else io.stdout.write(`downloaded ${name} (${formatBytes(artifact.size)}, ${entries} entries) into ${dir}\n`);
      return 0;
    } catch (error) {
      body.destroy();
      if (created !== null) await rm(created, { recursive: true, force: true });
      throw error;
    }
  });
}

/** The highest ancestor of `dir` (or `dir` itself) that does not exist yet, or null when `dir` exists. */
async function firstMissingOf(dir: string): Promise<string | null> {
  let missing: string | null = null;
  for (let at = dir; ; at = dirname(at)) {
    const exists = await stat(at).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (exists || dirname(at) === at) return missing;
    missing = at;
  }
}
