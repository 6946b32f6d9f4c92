import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalContext } from './__fixtures__/local-context.js';
import { npm } from './npm.js';

// A project with no dependencies: `npm ci --offline` installs it without the network. Its
// scripts write what they were given to files, so a test sees what reached the real npm.
const ARGV_JS =
  "require('fs').writeFileSync(process.argv[2], JSON.stringify({ argv: process.argv.slice(3), value: process.env.HF_VALUE ?? null }));\n";
const argvScript = (file: string) => `node argv.js ${file}`;
async function writeProject(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const pkg = {
    name: 'tiny',
    version: '1.0.0',
    private: true,
    scripts: {
      postinstall: argvScript('installed.json'),
      show: argvScript('show.json'),
      test: argvScript('test.json'),
    },
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg));
  await writeFile(join(dir, 'argv.js'), ARGV_JS);
  const lock = {
    name: 'tiny',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'tiny', version: '1.0.0' } },
  };
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify(lock));
}
const readJson = async (path: string) =>
  JSON.parse(await readFile(path, 'utf8')) as { argv: string[]; value: string | null };

describe('npm actions (the real npm, a local project without dependencies)', () => {
  it('npm.ci appends args to the install (--ignore-scripts skips the postinstall) and runs in cwd with env', async () => {
    await using local = await createLocalContext();
    const app = join(local.workspace, 'app');
    await writeProject(app);
    await npm.ci(local.ctx, { cwd: 'app', args: ['--offline', '--ignore-scripts'] });
    await expect(readFile(join(app, 'installed.json'))).rejects.toThrow(/ENOENT/);
    expect(local.commands.at(-1)?.command).toBe('npm ci --no-audit --no-fund --offline --ignore-scripts');

    await npm.ci(local.ctx, { cwd: 'app', args: ['--offline'], env: { HF_VALUE: 'from env' } });
    expect(await readJson(join(app, 'installed.json'))).toMatchObject({ value: 'from env' });
  });

  it('npm.run passes args to the script and npmArgs to npm', async () => {
    await using local = await createLocalContext();
    await writeProject(local.workspace);
    await npm.run(local.ctx, { script: 'show', args: ['a b', '--flag=1'], env: { HF_VALUE: 'x' } });
    expect(await readJson(join(local.workspace, 'show.json'))).toEqual({ argv: ['a b', '--flag=1'], value: 'x' });
    // An npm flag, not a script argument: --silent hides npm's own "> tiny@1.0.0 show" banner.
    await npm.run(local.ctx, { script: 'show', npmArgs: ['--silent'] });
    expect(local.commands.at(-1)).toMatchObject({ command: 'npm run show --silent', stdout: '' });
    expect(await readJson(join(local.workspace, 'show.json'))).toEqual({ argv: [], value: null });
  });

  it('npm.test passes args to the test script', async () => {
    await using local = await createLocalContext();
    await writeProject(join(local.workspace, 'lib'));
    await npm.test(local.ctx, { cwd: 'lib', args: ['--reporter=dot'] });
    expect(await readJson(join(local.workspace, 'lib', 'test.json'))).toEqual({
      argv: ['--reporter=dot'],
      value: null,
    });
  });

  it('npm.ci restores ~/.npm keyed by the lockfile hash before installing; cache: false opts out', async () => {
    await using local = await createLocalContext();
    const app = join(local.workspace, 'app');
    await writeProject(app);
    await npm.ci(local.ctx, { cwd: 'app', args: ['--offline', '--ignore-scripts'] });
    const key = `npm-${await local.ctx.hashFiles('app/package-lock.json')}`;
    expect(local.caches).toEqual([{ key, paths: ['~/.npm'], restoreKeys: ['npm-'], save: true, skipHostHome: true }]);
    // Another lockfile is another key.
    await writeFile(join(app, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: {}, name: 'b' }));
    await npm.ci(local.ctx, { cwd: 'app', args: ['--offline', '--ignore-scripts'] }).catch(() => {});
    expect(local.caches[1]?.key).not.toBe(key);
    await npm.ci(local.ctx, { cwd: 'app', cache: false, args: ['--offline', '--ignore-scripts'] }).catch(() => {});
    expect(local.caches).toHaveLength(2);
  });
});
