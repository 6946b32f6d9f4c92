import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliBin, repoRoot, runCli } from './helpers/cli.js';

const fixture = (name: string) => join(repoRoot, 'test/fixtures', name);

describe('hiveforge run: timeouts, secrets, cancellation', () => {
  it('stops a job at its timeout, marks it timed_out and skips its dependents', async () => {
    const started = Date.now();
    const r = await runCli(['run', fixture('timeouts'), '--job', 'after-slow']);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/job timed out after 1000 ms/);
    expect(r.stdout).not.toMatch(/slow finished|must not run/);
    expect(r.stdout).toMatch(/^slow\s+timed_out\s+1\s+/m);
    expect(r.stdout).toMatch(/^after-slow\s+skipped\s+1\s+-/m);
  });

  it('hands declared secrets to the job and masks their values in the log', async () => {
    const r = await runCli(['run', fixture('secrets'), '--secret', 'API_TOKEN'], {
      env: { API_TOKEN: 's3cr3t-value-42' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/uses-secret \| token is \*\*\*/);
    expect(r.stdout).toMatch(/length 15/);
    expect(r.stdout).not.toMatch(/s3cr3t-value-42/);
  });

  it('a job that declares a secret the run was not given fails with a clear error', async () => {
    const r = await runCli(['run', fixture('secrets')], { env: { API_TOKEN: '' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no value for the secret\(s\) API_TOKEN/);
  });

  it('Ctrl-C cancels the run: the running job is stopped, the exit code is 130', async () => {
    const child = spawn(process.execPath, [cliBin, 'run', fixture('timeouts'), '--job', 'long'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no exit after Ctrl-C\n${stdout}\n${stderr}`));
      }, 30_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/LONG STARTED/.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(stderr).toMatch(/cancelling the run/);
    expect(code).toBe(130);
    expect(stdout).toMatch(/^long\s+cancelled\s+1\s+/m);
    expect(stdout).toMatch(/run timeouts\/1 cancelled/);
  });
});
