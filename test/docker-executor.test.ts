import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, jobLines, repoRoot, runCli } from './helpers/cli.js';
import { TEST_IMAGE, containersOf, dockerForTests, inspect } from './helpers/docker.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const engine = await dockerForTests();
const fixture = join(repoRoot, 'test/fixtures/docker');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `hiveforge run` subprocess the test can watch and signal while it runs. */
function startRun(args: string[]) {
  const child = spawn(process.execPath, [cliBin, 'run', ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    stdout: () => stdout,
    async until(pattern: RegExp, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`no ${pattern} in:\n${stdout}\n${stderr}`);
        await sleep(50);
      }
    },
    async exit() {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      return { code, stdout, stderr };
    },
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

describe.runIf(engine)('the docker executor, end to end (real engine, CLI subprocesses)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-docker-e2e-'));
  });
  const workDirs: string[] = [];
  afterAll(async () => {
    // Whatever a failed test left: its assertions have spoken, the engine is left clean.
    const left = workDirs.flatMap(containersOf);
    if (left.length) execFileSync('docker', ['rm', '-f', ...left]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const workDirOf = async (name: string) => {
    const workDir = await mkdtemp(join(dir, `${name}-`));
    workDirs.push(workDir);
    return workDir;
  };

  it("runs jobs in their image's containers: os-release, image ENV, files the agent's, an artifact between two jobs, exit codes", async () => {
    const workDir = await workDirOf('pipeline');
    const r = await runCli(['run', fixture, '--job', 'use', '--work-dir', workDir, '--keep-workspaces'], {
      timeoutMs: 90_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run docker\/1: 2 jobs, executor docker,/);
    expect(jobLines(r.stdout, 'make')).toContain('os=hiveforge-busybox image-env=busybox job-env=yes');
    expect(jobLines(r.stdout, 'make')).toContain(`uid=${process.getuid?.()} workspace=/workspace`);
    expect(jobLines(r.stdout, 'use')).toContain('built');
    expect(jobLines(r.stdout, 'use')).toContain('exit=3 stderr=to-stderr stdout=-');
    expect(r.stdout).toMatch(/^make\s+succeeded\s+1\s+\S+\s+docker:busybox$/m);
    const [workspace] = (await readdir(join(workDir, 'workspaces'))).filter((w) => w.includes('make'));
    const made = await stat(join(workDir, 'workspaces', workspace as string, 'dist/a.txt'));
    expect(made.uid).toBe(process.getuid?.());
    expect(containersOf(workDir)).toEqual([]);
  });

  it('a declared image run by the process executor is a printed warning naming the job and the image', async () => {
    const r = await runCli([
      'run',
      fixture,
      '--job',
      'make',
      '--executor',
      'process',
      '--work-dir',
      await workDirOf('p'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /warning: job 'make' declares the image busybox \(hiveforge-test\/busybox:1\) but runs on the host/,
    );
    expect(r.stdout).toMatch(/executor process,/);
    expect(jobLines(r.stdout, 'make')).toContain(
      'warning: the process executor runs this job on the host; its image busybox (hiveforge-test/busybox:1) is not used',
    );
    expect(jobLines(r.stdout, 'make')).not.toContain('os=hiveforge-busybox image-env=busybox job-env=yes');
  });

  it("caches a `~` path of a docker job: the container's home is a per-job host directory, saved and restored like the workspace", async () => {
    const workDir = await workDirOf('home-cache');
    const first = await runCli(['run', fixture, '--job', 'home-cache', '--work-dir', workDir], { timeoutMs: 90_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('home-cache hit=miss');
    expect(first.stdout).toContain('home=/hiveforge/home');
    expect(first.stdout).not.toMatch(/cannot reach "~\/.stuff"/);
    expect(first.stdout).not.toContain('found written by');
    const second = await runCli(['run', fixture, '--job', 'home-cache', '--work-dir', workDir], { timeoutMs: 90_000 });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain('home-cache hit=exact');
    expect(second.stdout).toMatch(/found written by docker\/1\b/);
    // Each job's home goes with its container.
    expect(await readdir(join(workDir, 'homes')).catch(() => [])).toEqual([]);
  });

  it('a job over its memory limit fails with an out-of-memory error naming the limit', async () => {
    const workDir = await workDirOf('oom');
    const r = await runCli(['run', fixture, '--job', 'hungry', '--work-dir', workDir], { timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(jobLines(r.stdout, 'hungry')).toEqual(
      expect.arrayContaining([expect.stringMatching(/^HF_OUT_OF_MEMORY: out of memory \(limit 64 MiB\)/)]),
    );
    expect(jobLines(r.stdout, 'hungry')).not.toContain('survived');
    expect(containersOf(workDir)).toEqual([]);
  });

  it("docker inspect of a job's container shows neither its secret nor its env", async () => {
    const workDir = await workDirOf('secret');
    const secret = `s3cret-${randomBytes(6).toString('hex')}`;
    await using run = startRun([
      fixture,
      '--job',
      'secretive',
      '--secret',
      `API_TOKEN=${secret}`,
      '--work-dir',
      workDir,
    ]);
    await run.until(/SECRETIVE STARTED 19/);
    const [id] = containersOf(workDir);
    expect(id).toBeDefined();
    const inspected = inspect(id as string);
    expect(inspected).toContain('"dev.hiveforge.job": "secretive"');
    expect(inspected).not.toContain(secret);
    expect(inspected).not.toContain('HIVEFORGE_JOB');
    expect((await run.exit()).code).toBe(0);
    expect(containersOf(workDir)).toEqual([]);
  });

  it('a timeout and a cancel mid-job stop the job and remove its container', async () => {
    const timedOut = await workDirOf('timeout');
    const r = await runCli(['run', fixture, '--job', 'long', '--work-dir', timedOut], { timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/^long\s+timed_out\s+1\s+/m);
    expect(containersOf(timedOut)).toEqual([]);

    const cancelled = await workDirOf('cancel');
    await using run = startRun([fixture, '--job', 'long', '--work-dir', cancelled]);
    await run.until(/LONG STARTED/);
    expect(containersOf(cancelled)).toHaveLength(1);
    run.child.kill('SIGINT');
    const exit = await run.exit();
    expect(exit.code).toBe(130);
    expect(exit.stdout).toMatch(/^long\s+cancelled\s+1\s+/m);
    expect(containersOf(cancelled)).toEqual([]);
  });

  /** A coordinator (memory store) with the `slow` pipeline deployed, and how to start a docker agent on it. */
  const slowCluster = async (workDir: string) => {
    const agentSecret = randomBytes(16).toString('hex');
    const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
    const coordinator = await startCoordinatorProcess({ agentSecret, adminToken });
    const client = createUserClient(coordinator.url, adminToken);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/slow/hiveforge.ts'));
    const deployed = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const agentOptions = {
      urls: [coordinator.url],
      agentSecret,
      name: 'docker-agent',
      workDir,
      args: ['--executor', 'docker', '--default-image', TEST_IMAGE],
    };
    return {
      coordinator,
      client,
      trigger: () => client.runs.trigger.mutate({ pipeline: deployed.pipeline }),
      startAgent: () => startAgentProcess(agentOptions),
      /** Resolves once the job's container is there. */
      async containerUp() {
        const deadline = Date.now() + 15_000;
        while (containersOf(workDir).length === 0 && Date.now() < deadline) await sleep(100);
        return containersOf(workDir);
      },
      [Symbol.asyncDispose]: () => coordinator.kill('SIGKILL'),
    };
  };

  it("an agent SIGKILLed mid-job: its next start removes the container it left, and the job's retry succeeds", async () => {
    const workDir = await workDirOf('agent');
    await using cluster = await slowCluster(workDir);
    await using first = await cluster.startAgent();
    const run = await cluster.trigger();
    await first.waitFor(/leased .*slow attempt 1/);
    expect(await cluster.containerUp()).toHaveLength(1);
    await first.kill('SIGKILL');
    const left = containersOf(workDir);
    expect(left).toHaveLength(1);

    await using second = await cluster.startAgent();
    expect(second.output()).toMatch(/removed 1 job environment\(s\) an earlier run of this agent left/);
    expect(containersOf(workDir)).not.toContain(left[0]);
    await second.waitFor(/finished .*slow attempt 2: succeeded/, 40_000);
    const { jobs } = await cluster.client.runs.get.query({ runId: run._id });
    expect(jobs[0]).toMatchObject({ state: 'succeeded', attempt: 2 });
    await second.kill('SIGTERM');
    expect(containersOf(workDir)).toEqual([]);
  });

  it("an agent's SIGTERM mid-job drains: the job finishes in its container, which is removed before the agent exits", async () => {
    const workDir = await workDirOf('drain');
    await using cluster = await slowCluster(workDir);
    await using agent = await cluster.startAgent();
    const run = await cluster.trigger();
    await agent.waitFor(/leased .*slow attempt 1/);
    expect(await cluster.containerUp()).toHaveLength(1);
    await agent.kill('SIGTERM');
    expect(agent.output()).toMatch(/finished .*slow attempt 1: succeeded/);
    expect(containersOf(workDir)).toEqual([]);
    const { jobs } = await cluster.client.runs.get.query({ runId: run._id });
    expect(jobs[0]).toMatchObject({ state: 'succeeded', attempt: 1 });
  });

  it('examples/hello runs in containers of the default image', async () => {
    const workDir = await workDirOf('hello');
    const r = await runCli(
      ['run', 'examples/hello', '--executor', 'docker', '--default-image', TEST_IMAGE, '--work-dir', workDir],
      { timeoutMs: 90_000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/executor docker \(default image hiveforge-test\/busybox:1\)/);
    expect(jobLines(r.stdout, 'report')).toEqual(
      expect.arrayContaining(['hello from the left', 'hello from the right']),
    );
    for (const job of ['prepare', 'left', 'right', 'report'])
      expect(r.stdout).toMatch(
        new RegExp(`^${job}\\s+succeeded\\s+1\\s+\\S+\\s+docker:hiveforge-test/busybox:1$`, 'm'),
      );
    expect(containersOf(workDir)).toEqual([]);

    // Without a default image, jobs that declare none cannot run in containers: said before any runs.
    const bare = await runCli(['run', 'examples/hello', '--executor', 'docker', '--work-dir', workDir]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe(
      'error HF_CONFIG: the docker executor runs jobs in images, and prepare, left, right, report declare none: give --default-image IMAGE, or --executor process\n',
    );
    expect(bare.stdout).not.toMatch(/succeeded|failed/);
  });
});
