import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobLines, repoRoot, runCli } from './helpers/cli.js';

const fixture = (name: string) => join(repoRoot, 'test/fixtures', name);

function stamps(stdout: string): Map<string, { start: number; end: number }> {
  const out = new Map<string, { start: number; end: number }>();
  for (const m of stdout.matchAll(/(START|END) (\w+) (\d+)/g)) {
    const entry = out.get(m[2] as string) ?? { start: Number.NaN, end: Number.NaN };
    if (m[1] === 'START') entry.start = Number(m[3]);
    else entry.end = Number(m[3]);
    out.set(m[2] as string, entry);
  }
  return out;
}

describe('hiveforge run (CLI subprocess, embedded coordinator and agent over loopback HTTP)', () => {
  it('runs the hello diamond: prefixed live logs, outputs and artifacts between jobs, summary, exit 0', async () => {
    const r = await runCli(['run', 'examples/hello']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(jobLines(r.stdout, 'prepare')).toEqual(expect.arrayContaining([expect.stringMatching(/^preparing on \S+/)]));
    expect(jobLines(r.stdout, 'left')).toContain('hello from the left');
    expect(jobLines(r.stdout, 'right')).toContain('hello from the right');
    expect(jobLines(r.stdout, 'report')).toEqual(
      expect.arrayContaining(['hello from the left', 'hello from the right', 'both sides reported']),
    );
    expect(r.stdout).toMatch(/JOB\s+STATUS\s+ATTEMPT\s+DURATION/);
    for (const job of ['prepare', 'left', 'right', 'report'])
      expect(r.stdout).toMatch(new RegExp(`^${job}\\s+succeeded\\s+1\\s+`, 'm'));
    expect(r.stdout).toMatch(/run hello\/1 succeeded/);
    // Workspaces are deleted once their jobs finish.
    const workspaces = join(repoRoot, 'examples/hello/.hiveforge/workspaces');
    expect(existsSync(workspaces) ? readdirSync(workspaces) : []).toEqual([]);
  });

  it('starts a dependent only after all its needs finished, and runs independent jobs concurrently', async () => {
    const r = await runCli(['run', fixture('ordering'), '--concurrency', '3']);
    expect(r.code).toBe(0);
    const t = stamps(r.stdout);
    const get = (name: string) => {
      const v = t.get(name);
      if (!v || Number.isNaN(v.start) || Number.isNaN(v.end))
        throw new Error(`no timestamps for ${name}:\n${r.stdout}`);
      return v;
    };
    expect(get('b').start).toBeGreaterThanOrEqual(get('a').end);
    expect(get('c').start).toBeGreaterThanOrEqual(get('a').end);
    expect(get('d').start).toBeGreaterThanOrEqual(Math.max(get('b').end, get('c').end));
    // `lone` needs nothing, so it overlaps `a` rather than waiting for it.
    expect(get('lone').start).toBeLessThan(get('a').end);
    // b and c overlap each other.
    expect(get('c').start).toBeLessThan(get('b').end);
    expect(get('b').start).toBeLessThan(get('c').end);
  });

  it('skips the dependents of a failed job, retries it, runs the rest, and exits 1', async () => {
    const r = await runCli(['run', fixture('failing')]);
    expect(r.code).toBe(1);
    expect(jobLines(r.stdout, 'broken')).toEqual(expect.arrayContaining(['attempt 1', 'attempt 2']));
    expect(r.stdout).toMatch(/attempt 1 failed \(exit 3\); retrying as attempt 2/);
    expect(r.stdout).not.toMatch(/must not run/);
    expect(r.stdout).toMatch(/^broken\s+failed\s+2\s+/m);
    expect(r.stdout).toMatch(/^after-broken\s+skipped\s+1\s+-/m);
    expect(r.stdout).toMatch(/^after-after\s+skipped\s+1\s+-/m);
    expect(r.stdout).toMatch(/^independent\s+succeeded\s+1\s+/m);
    expect(r.stdout).toMatch(/command exited with status 3: exit 3/);
    expect(r.stdout).toMatch(/run failing\/1 failed/);
  });

  it('--job runs one job and what it needs, nothing else', async () => {
    const r = await runCli(['run', fixture('ordering'), '--job', 'b']);
    expect(r.code).toBe(0);
    const t = stamps(r.stdout);
    expect([...t.keys()].sort()).toEqual(['a', 'b']);
    expect(r.stdout).not.toMatch(/^lone\s/m);
  });

  it('an unknown --job is a clear error and runs nothing', async () => {
    const r = await runCli(['run', fixture('ordering'), '--job', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no job 'nope'/);
    expect(r.stdout).not.toMatch(/START/);
  });

  it('runs the node-lib example: lint and build in parallel, then test on the built artifact', async () => {
    const r = await runCli(['run', 'examples/node-lib'], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test\s+\|.*# pass 3/m);
    for (const job of ['lint', 'build', 'test'])
      expect(r.stdout).toMatch(new RegExp(`^${job}\\s+succeeded\\s+1\\s+`, 'm'));
  });

  it('a pipeline with analysis errors is reported with positions and nothing runs', async () => {
    const r = await runCli(['run', fixture('cycle')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /hiveforge\.ts:\d+:\d+ error HF_ANALYSIS_CYCLE: .*a -> c -> b -> a|hiveforge\.ts:\d+:\d+ error HF_ANALYSIS_CYCLE/,
    );
    expect(r.stderr).toMatch(/nothing was run/);
    expect(r.stdout).toBe('');
  });

  it('a pipeline that does not parse is reported as validate reports it, with its position, and nothing runs', async () => {
    const r = await runCli(['run', fixture('syntax-error')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hiveforge\.ts:6:\d+ error HF_ANALYSIS_SOURCE: syntax error/);
    expect(r.stderr).toMatch(/nothing was run/);
    expect(r.stderr).not.toMatch(/HF_INTERNAL| {4}at /);
    expect(r.stdout).toBe('');
  });

  it('a missing pipeline file is a clear input error, not a stack trace', async () => {
    const r = await runCli(['run', fixture('does-not-exist')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error HF_CONFIG: no such file or directory/);
    expect(r.stderr).not.toMatch(/ {4}at /);
  });
});
