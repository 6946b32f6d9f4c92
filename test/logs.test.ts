import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { jobLog } from './helpers/job-log.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A coordinator (memory store) and an agent, as processes, with the `logs` fixture deployed. */
async function startLogCluster(options: { coordinatorArgs?: string[]; agentArgs?: string[] } = {}) {
  const agentSecret = randomBytes(16).toString('hex');
  const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
  const workDir = await mkdtemp(join(tmpdir(), 'hf-logs-'));
  const processes: ServiceProcess[] = [];
  const dispose = async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const coordinator = await startCoordinatorProcess({ agentSecret, adminToken, args: options.coordinatorArgs });
    processes.push(coordinator);
    const agent = await startAgentProcess({
      urls: [coordinator.url],
      agentSecret,
      name: 'logs-agent',
      workDir,
      args: options.agentArgs,
    });
    processes.push(agent);
    const client = createUserClient(coordinator.url, adminToken);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/logs/hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    /** Runs one job of the fixture; resolves with its record and its stored log. */
    const runJob = async (job: string, timeoutMs = 60_000) => {
      const run = await client.runs.trigger.mutate({ pipeline, only: [job] });
      const deadline = Date.now() + timeoutMs;
      while ((await client.runs.get.query({ runId: run._id })).run.status === 'running') {
        if (Date.now() > deadline) throw new Error(`job ${job} did not finish:\n${agent.output()}`);
        await sleep(200);
      }
      const { jobs } = await client.runs.get.query({ runId: run._id });
      const chunks = await jobLog(client, { runId: run._id, job });
      return { job: jobs[0], log: chunks.map((c) => c.text).join(''), runId: run._id };
    };
    return { client, agent, runJob, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** The agent process's peak resident set (VmHWM), in bytes. */
async function peakRss(agent: ServiceProcess): Promise<number> {
  const status = await readFile(`/proc/${agent.child.pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  return kb * 1024;
}

describe('job logs (coordinator and agent processes)', () => {
  it('a 3 MB line of é arrives whole and byte-exact, and the job succeeds', async () => {
    await using cluster = await startLogCluster();
    const { job, log } = await cluster.runJob('utf8');
    expect(job?.state).toBe('succeeded');
    const expected = `${'é'.repeat(1_500_000)}\nafter the long line\n`;
    expect(Buffer.byteLength(log)).toBe(Buffer.byteLength(expected));
    expect(log === expected).toBe(true);
  });

  it("a flood stops at the job's log limit with a truncation line, the job goes on, and the agent's memory stays bounded", async () => {
    await using cluster = await startLogCluster();
    const { job, log } = await cluster.runJob('flood', 90_000);
    const rss = await peakRss(cluster.agent);
    console.info(`timeout 10 yes: agent VmHWM ${(rss / 1048576).toFixed(0)} MiB, log ${Buffer.byteLength(log)} bytes`);
    expect(job?.state).toBe('succeeded');
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(64 * 1048576);
    expect(Buffer.byteLength(log)).toBeGreaterThan(60 * 1048576);
    expect(log).toMatch(/\n\[hiveforge\] the job's log reached its limit of 64 MiB: later output is dropped\n$/);
    expect(rss).toBeLessThan(300 * 1048576);
  }, 120_000);

  it('with --on-log-limit fail, a job past its log limit fails with HF_LOG_LIMIT', async () => {
    await using cluster = await startLogCluster({ agentArgs: ['--log-limit', '1MiB', '--on-log-limit', 'fail'] });
    const { job, log } = await cluster.runJob('big');
    expect(job?.state).toBe('failed');
    expect(job?.error).toMatch(/^HF_LOG_LIMIT: /);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(1048576);
    expect(log).not.toMatch(/after-big|went on/);
  });

  it('with a smaller --log-limit, the log is truncated there and the job goes on', async () => {
    await using cluster = await startLogCluster({ agentArgs: ['--log-limit', '1MiB'] });
    const { job, log } = await cluster.runJob('big');
    expect(job?.state).toBe('succeeded');
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(1048576);
    expect(log).toMatch(/^a{99}\n/);
    expect(log).toMatch(/\n\[hiveforge\] the job's log reached its limit of 1 MiB: later output is dropped\n$/);
  });

  it("a batch the coordinator refuses (past its own log limit) fails the job loudly with the refusal's code", async () => {
    await using cluster = await startLogCluster({
      coordinatorArgs: ['--log-limit', '1MiB'],
      agentArgs: ['--log-limit', '8MiB'],
    });
    const { job, log } = await cluster.runJob('big');
    expect(job?.state).toBe('failed');
    expect(job?.error).toMatch(/^HF_LOG_LIMIT: /);
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(1048576);
  });
});
