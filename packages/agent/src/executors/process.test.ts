import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spoolTo } from '../artifact-spool.js';
import { createProcessExecutor } from './process.js';
import type { JobEnvironment } from './types.js';

describe('process executor', () => {
  let dir: string;
  let env: JobEnvironment;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-exec-'));
    env = await createProcessExecutor({ killGraceMs: 200 }).start({
      jobId: 'j',
      hostWorkspace: dir,
      image: null,
      env: { JOB_VAR: 'job' },
    });
  });
  afterEach(async () => {
    await env.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a command in the workspace with the job env and streams its output', async () => {
    let out = '';
    let err = '';
    const { exitCode } = await env.exec('pwd; echo "$JOB_VAR $EXTRA"; echo oops >&2; exit 7', {
      env: { EXTRA: 'extra' },
      onStdout: (c) => {
        out += c;
      },
      onStderr: (c) => {
        err += c;
      },
    });
    expect(exitCode).toBe(7);
    expect(out).toBe(`${dir}\njob extra\n`);
    expect(err).toBe('oops\n');
  });

  it('an abort stops the command and its children', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const run = env.exec('sleep 30 & sleep 30; wait', { signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    const { exitCode } = await run;
    expect(exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('copies a directory out and into another workspace', async () => {
    await mkdir(join(dir, 'dist/sub'), { recursive: true });
    await writeFile(join(dir, 'dist/sub/a.txt'), 'A');
    const archive = join(dir, '..', `${Date.now()}-dist.tar`);
    await spoolTo(await env.copyOut('dist'), archive);
    const other = await mkdtemp(join(tmpdir(), 'hf-exec-'));
    try {
      const target = await createProcessExecutor().start({ jobId: 'k', hostWorkspace: other, image: null, env: {} });
      await target.copyIn(archive, '.');
      expect(await readFile(join(other, 'dist/sub/a.txt'), 'utf8')).toBe('A');
      await target.copyIn(archive, 'nested');
      expect(await readFile(join(other, 'nested/dist/sub/a.txt'), 'utf8')).toBe('A');
    } finally {
      await rm(other, { recursive: true, force: true });
      await rm(archive, { force: true });
    }
  });

  it('refuses paths outside the workspace', async () => {
    await expect(env.copyOut('../etc')).rejects.toThrow(/inside the workspace/);
    await expect(env.copyOut('/etc')).rejects.toThrow(/inside the workspace/);
    await expect(env.copyIn(join(dir, 'none.tar'), '../x')).rejects.toThrow(/inside the workspace/);
    await expect(env.exec('true', { cwd: '../..' })).rejects.toThrow(/inside the workspace/);
    await expect(env.copyOut('missing')).rejects.toThrow(/does not exist/);
  });
});
