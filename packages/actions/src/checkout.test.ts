import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalContext } from './__fixtures__/local-context.js';
import { checkout } from './checkout.js';

describe('checkout (real tar and git)', () => {
  it('a local directory is copied with the extra tar args (an exclude) and env', async () => {
    await using local = await createLocalContext();
    const source = join(local.workspace, '..', 'source');
    await mkdir(join(source, 'src'), { recursive: true });
    await writeFile(join(source, 'src', 'a.ts'), 'export {};');
    await writeFile(join(source, 'debug.log'), 'noise');
    await checkout(local.ctx, {
      repository: source,
      path: 'copy',
      args: ['--exclude=*.log'],
      env: { TAR_OPTIONS: '--no-same-owner' },
    });
    expect(await readdir(join(local.workspace, 'copy'))).toEqual(['src']);
  });

  it('a git repository is fetched with the extra git fetch args, and env reaches git', async () => {
    await using local = await createLocalContext();
    const origin = join(local.workspace, '..', 'origin');
    await mkdir(origin);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: origin, stdio: 'pipe' });
    git('init', '-q', '-b', 'main');
    await writeFile(join(origin, 'README.md'), 'hello');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'first');
    git('tag', 'v1');
    // A relative path is a git remote (not a local directory to copy): relative to `path`.
    await checkout(local.ctx, {
      repository: '../../origin',
      ref: 'main',
      path: 'src',
      args: ['--no-tags'],
      env: { GIT_TRACE: '1' },
    });
    expect(await readdir(join(local.workspace, 'src'))).toContain('README.md');
    // git's own trace (GIT_TRACE from env) shows the fetch it ran, with the extra argument.
    expect(local.commands.at(-1)?.stderr).toMatch(/git fetch -q --depth 1 --no-tags origin main/);
  });
});
