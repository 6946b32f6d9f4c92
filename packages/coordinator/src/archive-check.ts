import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactInvalidError, createArchiveEntryChecker } from '@hiveforge/sdk';
import * as tar from 'tar';

/** At most this many problems are named in one refusal. */
const MAX_PROBLEMS = 5;

/**
 * A pass-through stream that parses the artifact archive (a tar, gzipped or not) flowing through
 * it and fails at its end with `HF_ARTIFACT_INVALID`, naming the problems, when it is not a tar
 * or an entry breaks the archive rules (`createArchiveEntryChecker` of `@hiveforge/sdk`: relative
 * paths without `..`, links that stay inside, hard links to earlier files, no devices). Used as
 * the `verify` stage of a blob put, so a refused archive is never stored.
 * `entries()` gives the number of entries once it has ended.
 */
export function createArchiveCheck(): Transform & { entries(): string[] } {
  const checker = createArchiveEntryChecker();
  const problems: string[] = [];
  const paths: string[] = [];
  let parseError: Error | null = null;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const problem = checker.check({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
      if (problem && problems.length < MAX_PROBLEMS) problems.push(problem);
      if (paths.length < 100_000) paths.push(entry.path);
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
        callback();
      });
    },
  });
  return Object.assign(check, { entries: () => paths });
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
