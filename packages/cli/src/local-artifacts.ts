import { open, mkdir, rename, rm } from 'node:fs/promises';
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
 * Keeps a local run's artifacts: each archive is streamed from the embedded coordinator's
 * `GET /api/artifacts` into `dir` (created when there is one) as `<name>.tar.gz`, or `<name>.tar`
 * when the agent found it incompressible. `tar xf` unpacks either.
 */
export async function keepRunArtifacts(options: {
  url: string;
  token: string;
  runId: string;
  names: readonly string[];
  dir: string;
}): Promise<KeptArtifact[]> {
  if (options.names.length === 0) return [];
  await mkdir(options.dir, { recursive: true });
  const kept: KeptArtifact[] = [];
  for (const name of options.names) {
    const res = await fetch(
      `${options.url}/api/artifacts/${encodeURIComponent(options.runId)}?${new URLSearchParams({ name })}`,
      { headers: { authorization: `Bearer ${options.token}` } },
    );
    if (!res.ok || !res.body) throw new Error(`the embedded coordinator answered ${res.status} for artifact '${name}'`);
    const part = join(options.dir, `.${name}.part`);
    try {
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(part));
      const handle = await open(part);
      const head = Buffer.alloc(2);
      const { size } = await handle.stat();
      await handle.read(head, 0, 2, 0);
      await handle.close();
      const file = join(options.dir, head[0] === 0x1f && head[1] === 0x8b ? `${name}.tar.gz` : `${name}.tar`);
      await rename(part, file);
      kept.push({ name, file, size });
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
