import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { basename, dirname, join, normalize, sep } from 'node:path';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gzipSync } from 'node:zlib';
import { createArchiveCheck, MAX_ARCHIVE_PROBLEMS } from '@hiveforge/archive';
import { ArtifactInvalidError, createArchiveEntryChecker, isHiveForgeError } from '@hiveforge/sdk';
import type { ArchiveCompression } from './archive-compression.js';
import { moveStagedInto } from './staged-merge.js';
import { TarFormatError, extractTar } from './tar-extract.js';
import { createTarStream } from './tar-stream.js';
/** Resolves a workspace-relative path, refusing absolute paths and `..`. */
export function insideWorkspace(workspace: string, path: string): string {
  const clean = normalize(path).replace(/\/+$/, '');
  if (path.startsWith('/') || clean === '..' || clean.startsWith('../') || clean.split('/').includes('..')) {
    throw new ArtifactInvalidError(`"${path}" must be a path inside the workspace`);
  }
  return clean === '' || clean === '.' ? workspace : join(workspace, clean);
}

const isInside = (root: string, real: string) =>
  real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Resolves a workspace-relative path through the links on its way (realpath), against the
 * workspace's own real path: a path that leaves the workspace through a symbolic link (a linked
 * directory on the way, or the path itself a link) is refused with `HF_ARTIFACT_INVALID`. The
 * path need not exist: its deepest existing ancestor is resolved and the rest appended.
 * @returns the real path
 */
export async function resolveInWorkspace(workspace: string, path: string): Promise<string> {
  const lexical = insideWorkspace(workspace, path);
  const root = await realpath(workspace);
  const rest: string[] = [];
  for (let at = lexical; ; at = dirname(at)) {
    let real: string;
    try {
      real = await realpath(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || at === workspace) throw error;
      // A link to nowhere would be created (or written through) where it points: refuse it.
      if (
        await lstat(at).then(
          (s) => s.isSymbolicLink(),
          () => false,
        )
      )
        throw new ArtifactInvalidError(`"${path}" goes through a link to a missing target, outside the workspace`);
      rest.unshift(basename(at));
      continue;
    }
    if (!isInside(root, real))
      throw new ArtifactInvalidError(`"${path}" leads out of the workspace through a symbolic link (to ${real})`);
    return rest.length ? join(real, ...rest) : real;
  }
}

/**
 * The gzip level of compressible archives: on a real node_modules tree level 1 packs at about
 * 3x the speed of level 6 for an archive 14% larger (docs/benchmarks.md, "Artifact compression").
 */
export const ARCHIVE_GZIP_LEVEL = 1;
/** How much of the tar stream is compressed on trial to choose between gzip and none. */
export const ARCHIVE_SAMPLE_BYTES = 1024 * 1024;
/**
 * Above this compressed/plain ratio of the sample, the archive is sent as a plain tar: gzip
 * gains nothing on already-compressed content and costs ~45 s per GiB on this machine.
 */
export const INCOMPRESSIBLE_RATIO = 0.9;

/**
 * A pass-through stream that parses the tar (gzipped or not) flowing through it and fails at its
 * end, with `HF_ARTIFACT_INVALID` naming the problems, when an entry breaks the archive rules for
 * `root`: the check of `@hiveforge/archive`, which the coordinator runs on uploads too.
 * `onEntries` gets the count.
 */
export function createArchiveGuard(options: { root?: string; onEntries?: (count: number) => void } = {}): Transform {
  return createArchiveCheck({ root: options.root, maxPaths: 0, onEntries: options.onEntries });
}

/**
 * Gzips `source` at {@link ARCHIVE_GZIP_LEVEL}, or passes it through when its first
 * {@link ARCHIVE_SAMPLE_BYTES} hardly compress. A tar and a gzipped tar tell themselves apart by
 * their first bytes, so the reader needs no flag.
 */
export function compressArchive(source: Readable): Readable {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let done = false;
  const rest = async function* () {
    yield* head;
    head.length = 0;
    if (!done) for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  };
  const out = new Transform({ transform: (chunk, _e, callback) => callback(null, chunk) });
  void (async () => {
    let size = 0;
    while (size < ARCHIVE_SAMPLE_BYTES) {
      const r = await iterator.next();
      if (r.done) {
        done = true;
        break;
      }
      head.push(r.value);
      size += r.value.length;
    }
    const sample = Buffer.concat(head).subarray(0, ARCHIVE_SAMPLE_BYTES);
    const gzip =
      sample.length > 0 &&
      gzipSync(sample, { level: ARCHIVE_GZIP_LEVEL }).length / sample.length <= INCOMPRESSIBLE_RATIO;
    const plain = Readable.from(rest(), { objectMode: false });
    if (gzip) pipelineCb(plain, createGzip({ level: ARCHIVE_GZIP_LEVEL }), out, () => {});
    else pipelineCb(plain, out, () => {});
  })().catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/**
 * Packs a workspace-relative file or directory into a tar stream (entries relative to the
 * workspace), gzipped when it compresses (unless `compression` is `none`). Links inside the tree are kept as links when their
 * target stays inside the uploaded tree, hard links as hard links, file modes as they are; the
 * stream fails with `HF_ARTIFACT_INVALID` at its end when an entry breaks the archive rules.
 */
export async function packPath(
  workspace: string,
  path: string,
  options: {
    /** `none` sends a plain tar without trying gzip (a coordinator on loopback). @default 'auto' */
    compression?: ArchiveCompression;
  } = {},
): Promise<Readable> {
  const target = insideWorkspace(workspace, path);
  await lstat(target).catch(() => {
    throw new ArtifactInvalidError(`cannot upload "${path}": it does not exist in the workspace`);
  });
  // Links on the way must stay inside; links inside the packed tree are archived as links.
  await resolveInWorkspace(workspace, path);
  const rel = target === workspace ? '.' : target.slice(workspace.length + 1);
  // Each entry is checked as it is written (not by parsing the archive again: a quarter of the
  // packing's CPU on a node_modules); the stream fails at its end when one broke the rules.
  const checker = createArchiveEntryChecker({ root: rel === '.' ? '' : rel });
  const problems: string[] = [];
  const packed = createTarStream(workspace, rel, {
    onEntry: (entry) => {
      const problem = checker.check(entry);
      if (problem && problems.length < MAX_ARCHIVE_PROBLEMS) problems.push(problem);
    },
  });
  const checked = new Transform({
    transform: (chunk, _encoding, callback) => callback(null, chunk),
    flush(callback) {
      callback(
        problems.length ? new ArtifactInvalidError(`the artifact archive is unsafe: ${problems.join('; ')}`) : null,
      );
    },
  });
  pipelineCb(packed, checked, (error) => {
    if (error && !checked.destroyed) checked.destroy(error);
  });
  return options.compression === 'none' ? checked : compressArchive(checked);
}

/** What an archive to extract is: the bytes, a file holding them, or a stream of them (read once). */
export type ArchiveSource = Buffer | { file: string } | Readable;

const streamOf = (archive: ArchiveSource): Readable =>
  Buffer.isBuffer(archive)
    ? Readable.from([archive])
    : archive instanceof Readable
      ? archive
      : createReadStream(archive.file);

/**
 * Checks a whole archive against the archive rules (at its root) without extracting anything;
 * resolves with its number of entries, rejects with `HF_ARTIFACT_INVALID`.
 */
export async function checkArchiveSource(archive: ArchiveSource): Promise<number> {
  let count = 0;
  const guard = createArchiveGuard({ onEntries: (n) => (count = n) });
  await pipeline(streamOf(archive), guard, async (chunks: AsyncIterable<Buffer>) => {
    for await (const _ of chunks);
  });
  return count;
}

/** The prefix of the staging directory a download is extracted into before it moves into place. */
export const STAGING_PREFIX = '.hiveforge-unpack-';

/** How much of an archive file is read at once when extracting it. */
const UNPACK_READ_BYTES = 1024 * 1024;

/**
 * The plain tar bytes of an archive: gunzipped (in the thread pool, off the agent's thread)
 * when it starts as gzip, as they are otherwise.
 */
async function* tarBytesOf(archive: ArchiveSource): AsyncGenerator<Buffer> {
  const source = Buffer.isBuffer(archive)
    ? Readable.from([archive])
    : archive instanceof Readable
      ? archive
      : createReadStream(archive.file, { highWaterMark: UNPACK_READ_BYTES });
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await iterator.next();
  if (first.done) return;
  const raw = async function* () {
    yield first.value;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  };
  if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) return yield* raw();
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  pipelineCb(Readable.from(raw(), { objectMode: false }), gunzip, (error) => {
    if (error && !gunzip.destroyed) gunzip.destroy(error);
  });
  yield* gunzip as AsyncIterable<Buffer>;
}

/**
 * Extracts an archive (a tar, gzipped or not) into a workspace-relative directory in one pass:
 * every entry is checked against the archive rules as it is read, into a fresh staging directory
 * next to the destination (inside it when it is the workspace itself), and the tree moves into
 * place only when the whole archive passed; a refused archive leaves the workspace as it was.
 * The directory must not lead out of the workspace through a link; unsafe entries (absolute,
 * `..`, links leaving the archive, written through a link) are refused as `HF_ARTIFACT_INVALID`.
 * Permission bits (executable bits) and hard links are kept. Files are written concurrently
 * through the thread pool (`extractTar`), so the agent's thread, which may be its coordinator's
 * too, does little more than parse headers. Resolves with the number of entries extracted.
 */
export async function unpackInto(workspace: string, archive: ArchiveSource, path: string): Promise<number> {
  const root = await realpath(workspace);
  const checker = createArchiveEntryChecker();
  const staging = await (async () => {
    const dest = await resolveInWorkspace(workspace, path);
    await mkdir(dest === root ? dest : dirname(dest), { recursive: true });
    return mkdtemp(join(dest === root ? dest : dirname(dest), STAGING_PREFIX));
  })();
  try {
    let problems: string[];
    let entries: number;
    try {
      ({ problems, entries } = await extractTar(tarBytesOf(archive), staging, {
        check: (entry) => checker.check(entry),
        maxProblems: MAX_ARCHIVE_PROBLEMS,
      }));
    } catch (error) {
      const e = error as { code?: string; message?: string };
      // Only what the archive is to blame for (its format, its gzip, entries that collide) is the artifact's fault.
      if (
        isHiveForgeError(error) ||
        !(error instanceof TarFormatError || /^(Z_|ENOTDIR|EISDIR|ELOOP)/.test(e.code ?? ''))
      )
        throw error;
      throw new ArtifactInvalidError(`cannot unpack into "${path}": ${e.message ?? String(error)}`, { cause: error });
    }
    if (problems.length) throw new ArtifactInvalidError(`the artifact archive is unsafe: ${problems.join('; ')}`);
    const dest = await resolveInWorkspace(workspace, path);
    await mkdir(dest, { recursive: true });
    // Checked again once it exists: a link made on its way meanwhile is caught here.
    await moveStagedInto(staging, await resolveInWorkspace(workspace, path), path);
    return entries;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
