import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactInvalidError, createArchiveEntryChecker } from '@hiveforge/sdk';
import * as tar from 'tar';

/** At most this many problems are named in one refusal. */
export const MAX_ARCHIVE_PROBLEMS = 5;

/** Options of {@link createArchiveCheck}. */
export interface ArchiveCheckOptions {
  /**
   * The tree every entry must stay in, archive-relative (the uploaded path when packing).
   * @default '' (the archive's root)
   */
  root?: string;
  /** The most entry paths kept for `entries()` (a count is kept of all). @default 100_000 */
  maxPaths?: number;
  /** Called with the number of entries once the whole archive passed. */
  onEntries?: (count: number) => void;
}

/** A pass-through stream checking the archive that flows through it (see {@link createArchiveCheck}). */
export interface ArchiveCheck extends Transform {
  /** The paths of the entries read so far (at most `maxPaths`), in archive order. */
  entries(): string[];
  /** How many entries were read so far. */
  count(): number;
}

/**
 * A pass-through stream that parses the archive (a tar, gzipped or not) flowing through it and
 * fails at its end with `HF_ARTIFACT_INVALID`, naming the problems, when it is not a tar or an
 * entry breaks the archive rules (`createArchiveEntryChecker` of `@hiveforge/sdk`: relative paths
 * without `..`, inside `root`, links that stay inside, hard links to earlier files, no devices).
 * The bytes pass through unchanged as they arrive, so it costs one tar parse and no copy: the
 * agent packs through it, and the coordinator streams uploads through it into the store (as
 * the `verify` stage of a blob put, so a refused archive is never stored).
 * @example
 * const check = createArchiveCheck({ root: 'dist' });
 * await pipeline(createReadStream('dist.tar'), check, createWriteStream('/dev/null'));
 * check.count(); // entries, once it has ended
 */
export function createArchiveCheck(options: ArchiveCheckOptions = {}): ArchiveCheck {
  const checker = createArchiveEntryChecker({ root: options.root });
  const maxPaths = options.maxPaths ?? 100_000;
  const problems: string[] = [];
  const paths: string[] = [];
  let count = 0;
  let parseError: Error | null = null;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      count++;
      const problem = checker.check({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
      if (problem && problems.length < MAX_ARCHIVE_PROBLEMS) problems.push(problem);
      if (paths.length < maxPaths) paths.push(entry.path);
      entry.resume();
    },
  });
  const ended = new Promise<void>((resolve) => {
    parser.on('error', (error: Error) => {
      parseError ??= error;
      resolve();
    });
    parser.on('end', () => resolve());
  });
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (parseError === null) parser.write(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      parser.end();
      void ended.then(() => {
        if (parseError)
          return callback(new ArtifactInvalidError(`the artifact is not a valid tar archive: ${parseError.message}`));
        if (problems.length)
          return callback(new ArtifactInvalidError(`the artifact archive is unsafe: ${problems.join('; ')}`));
        options.onEntries?.(count);
        callback();
      });
    },
  });
  return Object.assign(check, { entries: () => paths, count: () => count });
}

/**
 * Checks a whole archive held in memory (see {@link createArchiveCheck}); resolves with its
 * entries' paths, rejects with `HF_ARTIFACT_INVALID`.
 */
export async function checkArchive(data: Buffer): Promise<string[]> {
  const check = createArchiveCheck();
  await pipeline(Readable.from([data]), check, async (chunks: AsyncIterable<Buffer>) => {
    for await (const _ of chunks);
  });
  return check.entries();
}
