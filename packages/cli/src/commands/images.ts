import { relative, sep } from 'node:path';
import { type BuiltImage, createImageBuilder } from '@hiveforge/agent';
import { analyzePipeline, formatDiagnostic } from '@hiveforge/coordinator';
import { isHiveForgeError } from '@hiveforge/sdk';
import { projectRoot } from '../bundle.js';
import { resolveEntry } from '../entry.js';
import type { CommandIO } from './run.js';

/** Options of `hiveforge images build`. */
export interface ImagesBuildOptions {
  file?: string;
  /** `host:port` bases without a registry host are pulled from, and `--push` pushes to. */
  registry?: string;
  /** Push each image to `REGISTRY/hiveforge/<name>:<hash>`. @default false */
  push?: boolean;
}

/** A size as `docker images` shows it (decimal units). */
function size(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)}${units[unit]}`;
}

/** The first line of an error, with its HF_* code: what the CLI prints for a failure. */
function oneLine(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const code = isHiveForgeError(error) ? error.code : 'HF_IMAGE_BUILD';
  return `error ${code}: ${message}\n`;
}

/**
 * `hiveforge images build [file]`: analyzes the pipeline as `validate` does and builds each of
 * its images on the local Docker engine (reusing those already there), streaming the build
 * output to stderr. Prints `name tag id` per image; exit 1 on analysis errors, 2 when an image
 * fails.
 */
export async function imagesBuildCommand(options: ImagesBuildOptions, io: CommandIO): Promise<number> {
  const entry = resolveEntry(options.file);
  const root = projectRoot(entry);
  const result = analyzePipeline({ entry: relative(root, entry).split(sep).join('/'), root });
  for (const d of result.diagnostics) io.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!result.ok) {
    io.stderr.write(`${result.diagnostics.filter((d) => d.severity === 'error').length} error(s)\n`);
    return 1;
  }
  const builder = createImageBuilder({
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    push: options.push ?? false,
  });
  for (const image of result.spec.images) {
    try {
      const prepared = await builder.ensure(image, {
        strict: result.spec.strictImages,
        onLog: (text) => io.stderr.write(text),
      });
      io.stdout.write(`${image.name} ${prepared.tag} ${prepared.id}\n`);
    } catch (error) {
      io.stderr.write(oneLine(error));
      return 2;
    }
  }
  return 0;
}

/** `hiveforge images list`: the images on the local engine that descriptions produced. */
export async function imagesListCommand(options: { json?: boolean }, io: CommandIO): Promise<number> {
  let images: BuiltImage[];
  try {
    images = await createImageBuilder().list();
  } catch (error) {
    io.stderr.write(oneLine(error));
    return 2;
  }
  if (options.json) {
    io.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
    return 0;
  }
  const rows = [
    ['NAME', 'TAG', 'ID', 'CREATED', 'SIZE'],
    ...images.map((i) => [
      i.name,
      i.tag,
      i.id.replace(/^sha256:/, '').slice(0, 12),
      new Date(i.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      size(i.sizeBytes),
    ]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  for (const row of rows)
    io.stdout.write(
      `${row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}
