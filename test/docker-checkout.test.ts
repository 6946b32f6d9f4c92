import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobLines, repoRoot, runCli } from './helpers/cli.js';
import { containersOf, dockerForTests } from './helpers/docker.js';

const engine = await dockerForTests();
const fixture = join(repoRoot, 'test/fixtures/docker-checkout');
/** An image with GNU tar (the checkout action's `--exclude`), made from this host's files. */
const image = `hiveforge-bench/node:${process.versions.node}`;
if (engine) execFileSync('bash', ['scripts/docker-node-image.sh'], { cwd: repoRoot, stdio: 'inherit' });

describe.runIf(engine)('hiveforge run --executor docker, checkout of the local project', () => {
  it('copies the project into the container, which sees it read-only', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'hf-docker-checkout-'));
    try {
      const r = await runCli(
        ['run', fixture, '--executor', 'docker', '--default-image', image, '--work-dir', workDir],
        {
          timeoutMs: 90_000,
        },
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const lines = jobLines(r.stdout, 'copy');
      expect(lines).toContain('hello from the project');
      expect(lines.find((l) => l.includes('writing into the project'))).toMatch(/exit [1-9]/);
      expect(lines.some((l) => /Read-only file system/.test(l))).toBe(true);
      expect(existsSync(join(fixture, 'written-by-the-job'))).toBe(false);
      expect(containersOf(workDir)).toEqual([]);
    } finally {
      await rm(join(fixture, 'written-by-the-job'), { force: true });
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
