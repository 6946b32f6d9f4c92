import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBin, repoRoot } from './helpers/cli.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hiveforge run: its agent is in the same process', () => {
  it('a process held up longer than a cluster lease (SIGSTOP for 8 s) does not lose its own job', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'hf-stall-'));
    const child = spawn(
      process.execPath,
      [cliBin, 'run', 'test/fixtures/stalled-run', '--plain', '--no-color', '--work-dir', workDir],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stdout += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!/long\s+\|\s+started/.test(stdout) && Date.now() < deadline && child.exitCode === null) await sleep(50);
      expect(stdout).toMatch(/long\s+\|\s+started/);
      // Longer than the 6 s a cluster's lease lives without a heartbeat: the whole process,
      // its coordinator and its agent, stands still while the job's command goes on.
      child.kill('SIGSTOP');
      await sleep(8_000);
      child.kill('SIGCONT');
      const code = await exited;
      expect(code, stdout).toBe(0);
      expect(stdout).not.toMatch(/agent was lost|attempt 2/);
      expect(stdout).toMatch(/^long\s+succeeded\s+1\s/m);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      await rm(workDir, { recursive: true, force: true });
    }
  }, 90_000);
});
