import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobLines, repoRoot, runCli } from './helpers/cli.js';

describe('artifacts and symbolic links (hiveforge run subprocess)', () => {
  it('a path through a linked directory that leaves the workspace is refused, uploading and downloading', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'hf-outside-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(outside, { recursive: true, force: true }) };
    await writeFile(join(outside, 'secret.txt'), 'SECRET');
    const r = await runCli(['run', join(repoRoot, 'test/fixtures/symlinks'), '--pass-env', 'OUTSIDE_DIR'], {
      env: { OUTSIDE_DIR: outside },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^make\s+succeeded/m);
    for (const job of ['upload-escape', 'download-escape']) {
      expect(r.stdout).toMatch(new RegExp(`^${job}\\s+failed`, 'm'));
      expect(jobLines(r.stdout, job).join('\n')).toMatch(/HF_ARTIFACT_INVALID: .*leads out of the workspace/);
    }
    expect(r.stdout).not.toContain('SECRET');
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });
});
