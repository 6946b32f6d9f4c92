import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobLines, repoRoot, runCli } from './helpers/cli.js';

/** A project depending on a local tarball package with a `bin`: `npm install --offline` installs it. */
async function projectWithBin(base: string): Promise<string> {
  const pkg = join(base, 'hello-cli');
  const project = join(base, 'project');
  await mkdir(join(pkg, 'bin'), { recursive: true });
  await mkdir(join(project, 'vendor'), { recursive: true });
  await writeFile(
    join(pkg, 'package.json'),
    JSON.stringify({ name: 'hello-cli', version: '1.0.0', bin: { 'hello-cli': 'bin/hello.js' } }),
  );
  await writeFile(
    join(pkg, 'bin/hello.js'),
    '#!/usr/bin/env node\nconsole.log("hello from " + require("../package.json").name);\n',
  );
  await chmod(join(pkg, 'bin/hello.js'), 0o755);
  execFileSync('npm', ['pack', '--pack-destination', join(project, 'vendor'), '--silent'], { cwd: pkg });
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'proj', private: true, dependencies: { 'hello-cli': 'file:vendor/hello-cli-1.0.0.tgz' } }),
  );
  return project;
}

describe('node_modules as an artifact (hiveforge run subprocess)', () => {
  it('an installed node_modules with .bin links and a hard link passes to the next job, which runs npx of its .bin entry; links leaving the tree are refused', async () => {
    const base = await mkdtemp(join(tmpdir(), 'hf-node-modules-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(base, { recursive: true, force: true }) };
    const project = await projectWithBin(base);
    const kept = join(base, 'kept');
    const timeline = join(base, 'timeline.txt');
    const r = await runCli(
      [
        'run',
        join(repoRoot, 'test/fixtures/node-modules'),
        '--pass-env',
        'PROJECT_DIR',
        '--executor',
        'process',
        '--artifacts',
        kept,
        '--work-dir',
        join(base, 'work'),
      ],
      { env: { PROJECT_DIR: project, HIVEFORGE_TIMELINE: timeline }, timeoutMs: 120_000 },
    );
    expect(r.stdout).toMatch(/^install\s+succeeded/m);
    expect(r.stdout, r.stdout).toMatch(/^use\s+succeeded/m);
    const use = jobLines(r.stdout, 'use').join('\n');
    expect(use).toContain('hello from hello-cli');
    expect(use).toContain('executable bit kept');
    expect(use).toContain('../hello-cli/bin/hello.js');
    expect(use).toContain('hard link kept (2 names)');
    // The embedded agent uploaded node_modules itself: \`use\` extracts the archive it kept (the
    // coordinator answering "not modified"), and the kept archives go when the agent stops.
    const steps = await readFile(timeline, 'utf8');
    expect(steps).toMatch(/^\s*\d+ use\s+download node_modules: unpack kept$/m);
    expect(steps).not.toMatch(/^\s*\d+ use\s+download node_modules: unpack$/m);
    await expect(stat(join(base, 'work/artifact-copies'))).rejects.toThrow(/ENOENT/);

    expect(r.stdout).toMatch(/^escaping-link\s+failed/m);
    expect(jobLines(r.stdout, 'escaping-link').join('\n')).toMatch(
      /HF_ARTIFACT_INVALID: .*link "tree\/sub\/up" points outside the uploaded tree "tree"/,
    );
    expect(r.stdout).toMatch(/^absolute-link\s+failed/m);
    expect(jobLines(r.stdout, 'absolute-link').join('\n')).toMatch(
      /HF_ARTIFACT_INVALID: .*link "tree\/abs" points to an absolute path "\/etc\/passwd"/,
    );

    // The local run keeps its artifacts where --artifacts says, and the summary lists them. Its
    // agent talks to its coordinator over loopback, so archives are stored uncompressed.
    expect(await readdir(kept)).toEqual(['node_modules.tar']);
    const size = (await stat(join(kept, 'node_modules.tar'))).size;
    expect(r.stdout).toMatch(/^artifacts in .*kept$/m);
    expect(r.stdout).toMatch(/^node_modules\.tar\s+\d+(\.\d)? (bytes|KiB)$/m);
    const listed = execFileSync('tar', ['tvf', join(kept, 'node_modules.tar')], { encoding: 'utf8' });
    expect(listed).toMatch(/node_modules\/\.bin\/hello-cli -> \.\.\/hello-cli\/bin\/hello\.js/);
    expect(listed).toMatch(
      /node_modules\/hello-cli\/bin\/hello(-hard)?\.js link to node_modules\/hello-cli\/bin\/hello(-hard)?\.js/,
    );
    expect(size).toBeGreaterThan(100);
  });
});
