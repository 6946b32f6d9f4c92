import { type FileHandle, link, lstat, mkdir, open, rm, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tar from 'tar';

/** What the extractor asks of each entry before writing it: a problem (it is then not written), or null. */
export type EntryCheck = (entry: { path: string; type: string; linkpath?: string }) => string | null;

/** The outcome of {@link extractTar}. */
export interface ExtractResult {
  /** The entries read (metadata entries such as pax headers not counted). */
  entries: number;
  /** The problems the check found, at most `maxProblems`; nothing is written after the first. */
  problems: string[];
}

/** A tar archive that cannot be read (bad checksum, cut short): the archive's fault. */
export class TarFormatError extends Error {
  readonly code = 'TAR_BAD_ARCHIVE';
}

const BLOCK = 512;
/** File data queued to the disk and not yet written: past this, reading waits. */
const MAX_PENDING_BYTES = 32 * 1024 * 1024;
/** Files being written at once: past this, reading waits. */
const MAX_OPEN_FILES = 64;
/** The largest pax or long-name entry read. */
const MAX_META_BYTES = 1024 * 1024;
const META_TYPES: ReadonlySet<string> = new Set([
  'ExtendedHeader',
  'OldExtendedHeader',
  'GlobalExtendedHeader',
  'NextFileHasLongPath',
  'OldGnuLongPath',
  'NextFileHasLongLinkpath',
]);
const FILE_TYPES: ReadonlySet<string> = new Set(['File', 'OldFile', 'ContiguousFile']);

/** One file being written: its data is queued as it is read and written in order. */
interface FileWrite {
  queue: Buffer[];
  /** Set once the whole entry has been read. */
  ended: boolean;
  /** Wakes the writer when data or the end arrives. */
  wake: (() => void) | null;
  done: Promise<void>;
}

/**
 * Extracts a plain tar stream into `dir` (an empty directory the caller made), checking each
 * entry with `check` before anything of it is written. Files are written concurrently through
 * the thread pool while the stream is read on (their data queued, at most 32 MiB and 64 files at
 * once, so memory stays bounded whatever the archive's size); the reading thread only parses
 * headers. Kept: files (their permission bits, under the process umask, and mtime), directories, symbolic
 * links, hard links. Once the check has found a problem nothing more is written, and the rest is
 * read only to name more problems (up to `maxProblems`); the caller discards `dir`.
 *
 * The check must refuse what would be written outside `dir` (absolute paths, `..`, entries below
 * a symbolic link of the archive, links leaving it: `createArchiveEntryChecker` does), since
 * this writes where the entry says. An entry replacing an earlier one of the same path removes
 * it first, so nothing is ever written through a link.
 * @throws TarFormatError when the stream is not a whole tar archive
 */
export async function extractTar(
  source: AsyncIterable<Buffer>,
  dir: string,
  options: { check: EntryCheck; maxProblems?: number },
): Promise<ExtractResult> {
  const maxProblems = options.maxProblems ?? 5;
  const problems: string[] = [];
  let entries = 0;
  /** The latest write of each path, so a later entry of the same path waits for it. */
  const writes = new Map<string, Promise<void>>();
  const madeDirs = new Set<string>([dir]);
  let pendingBytes = 0;
  let openFiles = 0;
  let failure: unknown = null;
  /** Wakes the reader waiting for the writers to catch up. */
  let onProgress: (() => void) | null = null;
  const progressed = () => {
    const wake = onProgress;
    onProgress = null;
    wake?.();
  };
  const track = (path: string, work: Promise<void>) => {
    const tracked = work.catch((error: unknown) => {
      failure ??= error;
    });
    writes.set(path, tracked);
    void tracked.finally(() => {
      if (writes.get(path) === tracked) writes.delete(path);
      progressed();
    });
  };

  /**
   * Tracks, as the write of `path`, making `full` by `make` once the earlier writes of `after`
   * ended and its parent directory exists.
   */
  const place = (path: string, full: string, after: string[], make: () => Promise<unknown>) => {
    const before = after.map((earlier) => writes.get(earlier));
    track(
      path,
      (async () => {
        await Promise.all(before);
        await ensureDir(dirname(full));
        await make();
      })(),
    );
  };

  const ensureDir = async (path: string) => {
    if (madeDirs.has(path)) return;
    await mkdir(path, { recursive: true });
    madeDirs.add(path);
  };
  /** Removes what an earlier entry put at `full`, when the new entry cannot go over it. */
  const clear = async (full: string, keepDirectory: boolean) => {
    const there = await lstat(full).catch(() => null);
    if (!there) return;
    if (there.isDirectory()) {
      if (keepDirectory) return;
      // Below it may be writes under way: let them finish first.
      const below = `${full.slice(dir.length + 1)}/`;
      await Promise.all([...writes].filter(([path]) => path.startsWith(below)).map(([, write]) => write));
      await rm(full, { recursive: true, force: true });
      for (const made of madeDirs) if (made === full || made.startsWith(`${full}/`)) madeDirs.delete(made);
    } else await unlink(full);
  };
  /** Runs `create`, and once more after clearing the path when something is there already. */
  const createOver = async (full: string, create: () => Promise<void>) => {
    try {
      await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await clear(full, false);
      await create();
    }
  };

  const startFile = (path: string, full: string, mode: number, mtime: Date | undefined): FileWrite => {
    const file: FileWrite = { queue: [], ended: false, wake: null, done: Promise.resolve() };
    const before = writes.get(path);
    openFiles++;
    file.done = (async () => {
      let handle: FileHandle | null = null;
      try {
        await before;
        await ensureDir(dirname(full));
        // `wx`: never through whatever is there (an earlier entry's link is removed first).
        await createOver(full, async () => {
          handle = await open(full, 'wx', mode);
        });
        const fh = handle as unknown as FileHandle;
        let position = 0;
        for (;;) {
          const chunk = file.queue.shift();
          if (chunk) {
            for (let at = 0; at < chunk.length; ) {
              const { bytesWritten } = await fh.write(chunk, at, chunk.length - at, position);
              at += bytesWritten;
              position += bytesWritten;
            }
            pendingBytes -= chunk.length;
            progressed();
            continue;
          }
          if (file.ended) break;
          await new Promise<void>((resolve) => {
            file.wake = resolve;
          });
          file.wake = null;
        }
        if (mtime) await fh.utimes(mtime, mtime);
      } finally {
        for (const chunk of file.queue.splice(0)) pendingBytes -= chunk.length;
        await (handle as FileHandle | null)?.close();
        openFiles--;
      }
    })();
    track(path, file.done);
    return file;
  };

  // The parser's state: bytes of the current header or metadata entry gathered so far, and what
  // the bytes after it are.
  let headerParts: Buffer[] = [];
  let headerBytes = 0;
  let state: 'header' | 'data' | 'meta' | 'skip' = 'header';
  /** Data bytes of the current entry still to come, then its padding to the block. */
  let remain = 0;
  let padding = 0;
  let current: FileWrite | null = null;
  let metaType = '';
  let meta: Buffer[] = [];
  let ex: tar.HeaderData | undefined;
  let gex: tar.HeaderData | undefined;
  let sawNull = false;
  let ended = false;

  const onHeader = (block: Buffer) => {
    const header = new tar.Header(block, 0, ex, gex);
    if (header.nullBlock) {
      if (sawNull) ended = true;
      sawNull = true;
      return;
    }
    sawNull = false;
    if (!header.cksumValid) throw new TarFormatError('a tar header has a bad checksum');
    const type = header.type as string;
    const size = header.size ?? 0;
    remain = size;
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (META_TYPES.has(type)) {
      if (size > MAX_META_BYTES) throw new TarFormatError(`a ${type} entry of ${size} bytes is too large`);
      state = 'meta';
      metaType = type;
      meta = [];
      if (remain === 0) finishMeta();
      return;
    }
    ex = undefined;
    const path = (header.path ?? '').replace(/\/+$/, '');
    if (!path) throw new TarFormatError('a tar entry has no path');
    entries++;
    const linkpath = header.linkpath || undefined;
    if (problems.length < maxProblems) {
      const problem = options.check({ path, type, linkpath });
      if (problem) problems.push(problem);
    }
    state = remain > 0 ? 'skip' : 'header';
    if (problems.length > 0 || failure) return;
    const full = join(dir, path);
    if (FILE_TYPES.has(type)) {
      current = startFile(path, full, (header.mode ?? 0o644) & 0o777, header.mtime);
      if (remain > 0) state = 'data';
      else {
        current.ended = true;
        current = null;
      }
    } else if (type === 'Directory') {
      place(path, full, [path], async () => {
        await clear(full, true);
        // Its owner can always write into it, whatever the archive says.
        await mkdir(full, { mode: ((header.mode ?? 0o755) | 0o700) & 0o777 }).catch((error) => {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        });
        madeDirs.add(full);
      });
    } else if (type === 'SymbolicLink' && linkpath) {
      place(path, full, [path], () => createOver(full, () => symlink(linkpath, full)));
    } else if (type === 'Link' && linkpath) {
      const target = linkpath.replace(/\/+$/, '');
      place(path, full, [path, target], () => createOver(full, () => link(join(dir, target), full)));
    }
  };

  const finishMeta = () => {
    const text = Buffer.concat(meta).toString('utf8');
    meta = [];
    if (metaType === 'GlobalExtendedHeader') gex = tar.Pax.parse(text, gex, true);
    else if (metaType === 'ExtendedHeader' || metaType === 'OldExtendedHeader') ex = tar.Pax.parse(text, ex, false);
    else if (metaType === 'NextFileHasLongLinkpath') ex = { ...ex, linkpath: text.replace(/\0.*/s, '') };
    else ex = { ...ex, path: text.replace(/\0.*/s, '') };
    state = 'skip';
    remain = 0;
  };

  const consume = (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length && !ended) {
      if (state === 'header') {
        const take = Math.min(BLOCK - headerBytes, chunk.length - at);
        headerParts.push(chunk.subarray(at, at + take));
        headerBytes += take;
        at += take;
        if (headerBytes < BLOCK) break;
        const block = headerParts.length === 1 ? (headerParts[0] as Buffer) : Buffer.concat(headerParts);
        headerParts = [];
        headerBytes = 0;
        onHeader(block);
        continue;
      }
      if (remain > 0) {
        const take = Math.min(remain, chunk.length - at);
        const piece = chunk.subarray(at, at + take);
        if (state === 'data' && current) {
          current.queue.push(piece);
          pendingBytes += piece.length;
          current.wake?.();
        } else if (state === 'meta') meta.push(piece);
        remain -= take;
        at += take;
        if (remain > 0) break;
        if (state === 'meta') finishMeta();
        if (current) {
          current.ended = true;
          current.wake?.();
          current = null;
        }
      }
      if (padding > 0) {
        const take = Math.min(padding, chunk.length - at);
        padding -= take;
        at += take;
        if (padding > 0) break;
      }
      state = 'header';
    }
  };

  try {
    for await (const chunk of source) {
      if (ended) continue;
      consume(chunk);
      // Back-pressure: the disk sets the pace, memory stays bounded.
      while (!failure && (pendingBytes > MAX_PENDING_BYTES || openFiles > MAX_OPEN_FILES))
        await new Promise<void>((resolve) => {
          onProgress = resolve;
        });
      if (failure) break;
    }
    if (!failure && !ended && (state !== 'header' || headerBytes > 0 || remain > 0 || padding > 0))
      throw new TarFormatError('the tar archive is cut short');
  } finally {
    if (current) {
      (current as FileWrite).ended = true;
      (current as FileWrite).wake?.();
    }
    await Promise.all(writes.values());
  }
  if (failure) throw failure;
  return { entries, problems };
}
