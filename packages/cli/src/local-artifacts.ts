import { copyFile, link, mkdir, open, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { formatBytes } from '@hiveforge/sdk';
import type { Style } from './output.js';
import { renderTable } from './table.js';

/** An artifact of a local run, kept on disk. */
export interface KeptArtifact {
  name: string;
  /** The archive's file: `<name>.tar.gz`, or `<name>.tar` when it was stored uncompressed. */
  file: string;
  /** The archive's size in bytes. */
  size: number;
}

/**
 * Keeps a local run's artifacts: each archive is hard-linked from the embedded store's blob file
 * when `blobFile` names one (copied across file systems), otherwise streamed from the embedded
 * coordinator's `GET /api/artifacts`, into `dir` (created when there is one) as `<name>.tar.gz`,
 * or `<name>.tar` when it was stored uncompressed. `tar xf` unpacks either.
 */
export async function keepRunArtifacts(options: {
  url: string;
  token: string;
  runId: string;
  /** The artifacts, with their SHA-256 when `blobFile` may know their bytes. */
  artifacts: readonly { name: string; sha256?: string }[];
  dir: string;
  /**
   * Where the embedded store keeps a blob's bytes on this disk (`<artifactsDir>/<sha256>`): the
   * archive is then hard-linked (or copied) from there instead of streamed over HTTP.
   */
  blobFile?: (sha256: string) => string;
}): Promise<KeptArtifact[]> {
  if (options.artifacts.length === 0) return [];
  await mkdir(options.dir, { recursive: true });
  const kept: KeptArtifact[] = [];
  /** Names the part file as what it holds (`.tar.gz` when it starts as gzip). */
  const settle = async (name: string, part: string) => {
    const handle = await open(part);
    const head = Buffer.alloc(2);
    const { size } = await handle.stat();
    await handle.read(head, 0, 2, 0);
    await handle.close();
    const file = join(options.dir, head[0] === 0x1f && head[1] === 0x8b ? `${name}.tar.gz` : `${name}.tar`);
    await rename(part, file);
    kept.push({ name, file, size });
  };
  for (const { name, sha256 } of options.artifacts) {
    const part = join(options.dir, `.${name}.part`);
    if (sha256 && /^[0-9a-f]{64}$/.test(sha256) && options.blobFile) {
      const blob = options.blobFile(sha256);
      try {
        await rm(part, { force: true });
        await link(blob, part).catch(async (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') throw error;
          await copyFile(blob, part);
        });
        await settle(name, part);
        continue;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // Not there: asked of the coordinator below.
      } finally {
        await rm(part, { force: true });
      }
    }
    const res = await fetch(
      `${options.url}/api/artifacts/${encodeURIComponent(options.runId)}?${new URLSearchParams({ name })}`,
      { headers: { authorization: `Bearer ${options.token}` } },
    );
    if (!res.ok || !res.body) throw new Error(`the embedded coordinator answered ${res.status} for artifact '${name}'`);
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(part));
      await settle(name, part);
    } finally {
      await rm(part, { force: true });
    }
  }
  return kept;
}

/** The summary's artifact lines: where they are, then each file and its size. */
export function renderKeptArtifacts(kept: readonly KeptArtifact[], dir: string, style: Style): string {
  const shown = relative(process.cwd(), dir);
  const where = shown && !shown.startsWith('..') ? shown : dir;
  const rows = kept.map((a) => [relative(dir, a.file), formatBytes(a.size)]);
  return `${style.bold(`artifacts in ${where}`)}\n${renderTable(['FILE', 'SIZE'], rows)}`;
}
