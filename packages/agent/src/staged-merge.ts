import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactInvalidError } from '@hiveforge/sdk';

/** One move of a staged entry into place; `replace` when something else is there now. */
interface StagedMove {
  from: string;
  to: string;
  replace: boolean;
}

/** The moves that put `staging`'s tree into `dest`, merging directories that exist in both. */
async function planMoves(staging: string, dest: string, label: string, moves: StagedMove[]): Promise<void> {
  for (const name of await readdir(staging)) {
    const from = join(staging, name);
    const to = join(dest, name);
    const there = await lstat(to).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (there === null) {
      moves.push({ from, to, replace: false });
      continue;
    }
    const staged = await lstat(from);
    if (staged.isDirectory() && there.isDirectory()) await planMoves(from, to, label, moves);
    else if (staged.isDirectory() && there.isSymbolicLink())
      throw new ArtifactInvalidError(
        `cannot unpack into "${label}": an entry would be written through the symbolic link "${name}" of the workspace`,
      );
    else moves.push({ from, to, replace: true });
  }
}

/**
 * Moves an extracted tree from its staging directory (on the same file system) into `dest`:
 * what `dest` lacks is renamed into place whole (one rename for a new `node_modules`),
 * directories present on both sides are merged, files and links of the archive replace what
 * was there. Every conflict is found before anything moves, so a refusal (a directory of the
 * archive where the workspace has a symbolic link, `HF_ARTIFACT_INVALID`) changes nothing.
 * @param label the destination as the job named it, for messages
 */
export async function moveStagedInto(staging: string, dest: string, label: string): Promise<void> {
  const moves: StagedMove[] = [];
  await planMoves(staging, dest, label, moves);
  for (const move of moves) {
    if (move.replace) await rm(move.to, { recursive: true, force: true });
    await rename(move.from, move.to);
  }
}
