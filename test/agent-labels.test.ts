import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient } from 'hiveforge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot, runCli } from './helpers/cli.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a job whose labels no agent has says why it waits (coordinator, agent and CLI processes)', () => {
  let coordinator: ServiceProcess & { url: string };
  let agent: ServiceProcess;
  let dir: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli(args, { env });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-labels-'));
    coordinator = await startCoordinatorProcess({ agentSecret, adminToken });
    env = { HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: adminToken, XDG_CONFIG_HOME: join(dir, 'config') };
  }, 60_000);
  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await coordinator?.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('deploy warns only once agents are known; runs.get, status and trigger --follow say "no agent has labels [gpu]"', async () => {
    // No agent registered yet: the coordinator does not know its agents, and says nothing.
    const before = await cli(['deploy', 'test/fixtures/labels']);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stderr).not.toMatch(/no registered agent/);

    agent = await startAgentProcess({ urls: [coordinator.url], agentSecret, name: 'cpu', workDir: join(dir, 'cpu') });
    const deployed = await cli(['deploy', 'test/fixtures/labels']);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain(
      "warning: job 'train' needs labels [gpu], which no registered agent has: its runs will wait until such an agent registers",
    );
    expect(deployed.stderr).toContain("warning: job 'publish' needs labels [gpu]");
    expect(deployed.stderr).not.toMatch(/job 'build'/);

    // trigger --follow prints the reason at once, instead of waiting without a word.
    const follow = spawn(process.execPath, [cliBin, 'trigger', 'labels', '--follow'], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follow.stdout.on('data', (d) => (followed += d));
    follow.stderr.on('data', (d) => (followed += d));
    const exited = new Promise<number | null>((resolve) => follow.on('close', resolve));
    const client = createUserClient(coordinator.url, adminToken);
    try {
      const deadline = Date.now() + 30_000;
      // train is queued from the start; publish becomes queued once build succeeded, while followed.
      while (!/publish\s*\| waiting: no agent has labels \[gpu\]/.test(followed)) {
        if (Date.now() > deadline) throw new Error(`trigger --follow printed no reason for publish:\n${followed}`);
        await sleep(100);
      }
      expect(followed).toMatch(/train\s*\| waiting: no agent has labels \[gpu\]/);
      expect(followed.search(/build\s+\| succeeded/)).toBeGreaterThan(0);
      expect(followed.search(/build\s+\| succeeded/)).toBeLessThan(followed.search(/publish\s+\| waiting/));
      const [run] = await client.runs.list.query({ pipeline: 'labels' });
      const runId = run?._id as string;
      // The job the agent can take runs; the other waits, and says why.
      for (;;) {
        const { jobs } = await client.runs.get.query({ runId });
        if (jobs.find((j) => j.name === 'build')?.state === 'succeeded') {
          expect(jobs.map((j) => [j.name, j.state, j.waiting])).toEqual([
            ['build', 'succeeded', null],
            ['train', 'queued', 'no agent has labels [gpu]'],
            ['publish', 'queued', 'no agent has labels [gpu]'],
          ]);
          break;
        }
        if (Date.now() > deadline) throw new Error('build did not succeed');
        await sleep(200);
      }
      const status = await cli(['status', runId]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('waiting: train: no agent has labels [gpu]');

      // An agent with the label registers: the job no longer waits for want of one.
      await using gpu = await startAgentProcess({
        urls: [coordinator.url],
        agentSecret,
        name: 'gpu',
        workDir: join(dir, 'gpu'),
        args: ['--labels', 'gpu'],
      });
      expect(await exited).toBe(0);
      expect(gpu.output()).toMatch(/leased .*train/);
      const { jobs } = await client.runs.get.query({ runId });
      expect(jobs.map((j) => [j.name, j.state, j.waiting])).toEqual([
        ['build', 'succeeded', null],
        ['train', 'succeeded', null],
        ['publish', 'succeeded', null],
      ]);
    } finally {
      follow.kill('SIGKILL');
    }
  }, 90_000);

  it('hiveforge run prints "waiting: no agent has labels [gpu]" for a job its local agent cannot take', async () => {
    const local = spawn(
      process.execPath,
      [cliBin, 'run', 'test/fixtures/labels', '--executor', 'process', '--work-dir', join(dir, 'local')],
      { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let printed = '';
    local.stdout.on('data', (d) => (printed += d));
    local.stderr.on('data', (d) => (printed += d));
    const exited = new Promise<void>((resolve) => local.on('close', () => resolve()));
    try {
      const deadline = Date.now() + 30_000;
      while (!/train\s*\| waiting: no agent has labels \[gpu\]/.test(printed)) {
        if (Date.now() > deadline) throw new Error(`hiveforge run printed no reason:\n${printed}`);
        await sleep(100);
      }
      expect(printed).toMatch(/build\s*\| build/);
      expect(printed).not.toMatch(/build\s*\| queued/);
    } finally {
      local.kill('SIGKILL');
      await exited;
    }
  }, 60_000);
});
