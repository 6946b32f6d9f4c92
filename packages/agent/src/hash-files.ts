/**
 * `ctx.hashFiles`: one hash over the workspace files that match glob patterns, for cache keys
 * that change exactly when a lockfile does (GitHub Actions' `hashFiles`).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
// The runtime entry: the job host, which hashes, does not load the SDK's schemas.
import { CacheInvalidError } from '@hiveforge/sdk/runtime';

/**
 * The SHA-256 (hex) over the SHA-256 of each regular file under `root` matching `patterns`
 * (`!pattern` excludes; dot files match), in path order; '' when no file matches. Patterns are
 * relative to `root` and may not leave it.
 */
export async function hashFiles(root: string, patterns: readonly string[]): Promise<string> {
  if (!patterns.length) throw new CacheInvalidError('ctx.hashFiles needs at least one pattern');
  for (const pattern of patterns) {
    const bare = typeof pattern === 'string' ? pattern.replace(/^!/, '') : '';
    if (!bare || bare.startsWith('/') || bare.split('/').includes('..'))
      throw new CacheInvalidError(`hashFiles pattern "${String(pattern)}" must be a glob inside the workspace`);
  }
  // Loaded on first use: most jobs never hash, and a job host's start is on every job's path.
  const { glob } = await import('tinyglobby');
  const include = patterns.filter((p) => !p.startsWith('!'));
  const ignore = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const files = (await glob(include, { cwd: root, ignore, dot: true, onlyFiles: true, followSymbolicLinks: false }))
    .slice()
    .sort();
  if (!files.length) return '';
  const total = createHash('sha256');
  for (const file of files) {
    const one = createHash('sha256');
    for await (const chunk of createReadStream(`${root}/${file}`)) one.update(chunk as Buffer);
    total.update(one.digest());
  }
  return total.digest('hex');
}
