import { execFile } from 'node:child_process';

const git = (cwd: string, args: string[]) =>
  new Promise<string | null>((resolve) => {
    execFile('git', args, { cwd, timeout: 5_000 }, (error, stdout) => resolve(error ? null : stdout.trim() || null));
  });

/** The branch and commit of the checkout containing `dir`, when it is one. */
export async function gitInfo(dir: string): Promise<{ branch: string | null; commit: string | null }> {
  const [branch, commit] = await Promise.all([
    git(dir, ['rev-parse', '--abbrev-ref', 'HEAD']),
    git(dir, ['rev-parse', 'HEAD']),
  ]);
  return { branch: branch === 'HEAD' ? null : branch, commit };
}
