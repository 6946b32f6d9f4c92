import { execFileSync } from 'node:child_process';
import { chown, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, type ImageSpec, OutOfMemoryError, resolveImage } from '@hiveforge/sdk';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageBuilder } from '../images/image-builder.js';
import { ContainerLabels, createDockerExecutor, dockerAnswers, workDirLabel } from './docker.js';
import type { Executor, JobEnvironment, StartOptions } from './types.js';

const BASE = 'hiveforge-test/busybox:1';
const docker = new Docker();
const engine = await dockerAnswers(docker, 3_000);
if (!engine && process.env.CI) throw new Error('CI=true and no Docker engine answers: the Docker tests cannot run');
if (!engine)
  console.warn('docker executor tests skipped: no Docker engine answers on DOCKER_HOST or /var/run/docker.sock');

// The real image builder: descriptions become content-addressed images built on this engine.
const images = createImageBuilder({ docker });

const busybox: ImageSpec = resolveImage('busybox', { from: BASE });
const text = () => {
  const chunks: Buffer[] = [];
  return { on: (c: Buffer) => void chunks.push(c), get: () => Buffer.concat(chunks).toString() };
};
const containersOf = (workDir: string) =>
  docker.listContainers({ all: true, filters: { label: [`${ContainerLabels.workdir}=${workDirLabel(workDir)}`] } });

describe.runIf(engine)('docker executor (real engine)', () => {
  let workDir: string;
  let executor: Executor;
  const envs: JobEnvironment[] = [];
  const start = async (options: Partial<StartOptions> = {}) => {
    const hostWorkspace = await mkdtemp(join(workDir, 'ws-'));
    // The agent owns its workspaces: here the agent plays uid 4321.
    await chown(hostWorkspace, 4321, 4321);
    const env = await executor.start({
      jobId: 'job-1',
      hostWorkspace,
      image: busybox,
      env: {},
      agentId: 'agent-1',
      runId: 'run-1',
      job: 'build',
      attempt: 1,
      ...options,
    });
    envs.push(env);
    return { env, hostWorkspace };
  };

  beforeAll(async () => {
    execFileSync('bash', [fileURLToPath(new URL('../../../../scripts/docker-test-images.sh', import.meta.url))], {
      stdio: 'inherit',
    });
    workDir = await mkdtemp(join(tmpdir(), 'hf-docker-'));
    executor = createDockerExecutor({ images, workDir, docker, user: '4321:4321', killGraceMs: 500 });
    await executor.prepare(busybox);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(envs.map((e) => e.teardown().catch(() => {})));
    if (!workDir) return;
    const left = await containersOf(workDir);
    // Leave the engine clean even when teardown is what failed; then say so.
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    await rm(workDir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it("runs commands in the image's container: its os-release, its ENV, the job's env, separate streams, the exit code", async () => {
    const { env } = await start({ env: { JOB_VAR: 'job' } });
    const out = text();
    const err = text();
    const { exitCode } = await env.exec(
      '. /etc/os-release; echo "$ID $HIVEFORGE_TEST_IMAGE $JOB_VAR $EXTRA"; pwd; echo oops >&2; exit 7',
      { env: { EXTRA: 'extra' }, onStdout: out.on, onStderr: err.on },
    );
    expect(exitCode).toBe(7);
    expect(out.get()).toBe('hiveforge-busybox busybox job extra\n/workspace\n');
    expect(err.get()).toBe('oops\n');
    expect((await env.exec('exit 0', {})).exitCode).toBe(0);
    expect((await env.exec('kill -9 $$', {})).exitCode).toBe(137);
  });

  it("runs as the executor's uid:gid so workspace files stay the agent's; user 'root' runs as root", async () => {
    const { env, hostWorkspace } = await start();
    const out = text();
    const made1 = await env.exec('mkdir -p sub && echo hi > sub/made.txt && id -u', {
      cwd: 'sub/..',
      onStdout: out.on,
    });
    expect(made1.exitCode).toBe(0);
    expect(out.get()).toBe('4321\n');
    const made = await stat(join(hostWorkspace, 'sub/made.txt'));
    expect([made.uid, made.gid]).toEqual([4321, 4321]);

    const { env: rootEnv } = await start({ user: 'root' });
    const root = text();
    await rootEnv.exec('id -u', { onStdout: root.on });
    expect(root.get()).toBe('0\n');
  });

  it('puts no job env nor secret in the container: each exec gets them; labels name the agent, run, job and attempt', async () => {
    const { env } = await start({ env: { JOB_SECRETISH: 'job-value-7f3a' } });
    const out = text();
    await env.exec('echo "$JOB_SECRETISH $API_TOKEN"', { env: { API_TOKEN: 'secret-value-91c2' }, onStdout: out.on });
    expect(out.get()).toBe('job-value-7f3a secret-value-91c2\n');
    const [listed] = await containersOf(workDir).then((all) => all.filter((c) => c.Labels[ContainerLabels.job]));
    const inspected = await docker.getContainer(listed?.Id as string).inspect();
    const dump = JSON.stringify(inspected);
    expect(dump).not.toContain('job-value-7f3a');
    expect(dump).not.toContain('secret-value-91c2');
    expect(inspected.Config.Env).toEqual(['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HIVEFORGE_TEST_IMAGE=busybox']);
    expect(inspected.Config.Labels).toMatchObject({
      [ContainerLabels.agent]: 'agent-1',
      [ContainerLabels.run]: 'run-1',
      [ContainerLabels.job]: 'build',
      [ContainerLabels.attempt]: '1',
      [ContainerLabels.workdir]: workDirLabel(workDir),
    });
  });

  it('waits while the receiver of the output asks to (backpressure), and loses nothing', async () => {
    const { env } = await start();
    let received = 0;
    let duringWait = 0;
    let mostDuringWait = 0;
    let pending = false;
    const { exitCode } = await env.exec('head -c 4000000 /dev/zero', {
      onStdout: (chunk) => {
        received += chunk.length;
        if (pending) {
          duringWait += chunk.length;
          mostDuringWait = Math.max(mostDuringWait, duringWait);
          return;
        }
        pending = true;
        duringWait = 0;
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            pending = false;
            resolve();
          }, 20),
        );
      },
    });
    expect(exitCode).toBe(0);
    expect(received).toBe(4_000_000);
    // While a wait is pending only what was already on its way arrives, not the rest of the output.
    expect(mostDuringWait).toBeLessThan(512 * 1024);
  });

  it('an abort stops a running command; teardown removes the container', async () => {
    const { env } = await start();
    const abort = new AbortController();
    const started = Date.now();
    const run = env.exec('sleep 30 & sleep 30; wait', { signal: abort.signal });
    setTimeout(() => abort.abort(), 300);
    const { exitCode } = await run;
    expect(exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    // SIGTERM first, so a command can clean up; SIGKILL only after the grace period.
    const polite = new AbortController();
    const out = text();
    const trapped = env.exec("trap 'echo got-term; exit 5' TERM; sleep 30 & wait", {
      signal: polite.signal,
      onStdout: out.on,
    });
    setTimeout(() => polite.abort(), 300);
    expect((await trapped).exitCode).toBe(5);
    expect(out.get()).toBe('got-term\n');
    const before = (await containersOf(workDir)).length;
    await env.teardown();
    await env.teardown();
    expect((await containersOf(workDir)).length).toBe(before - 1);
  });

  it('applies cpus and memory as container limits; going over memory is an out-of-memory error, not a bare 137', async () => {
    const { env } = await start({ resources: { cpus: 0.5, memoryBytes: 64 * 1024 * 1024 } });
    const [listed] = (await containersOf(workDir)).filter((c) => c.Labels[ContainerLabels.job]);
    const ids = await Promise.all((await containersOf(workDir)).map((c) => docker.getContainer(c.Id).inspect()));
    const limited = ids.find((c) => c.HostConfig.Memory === 64 * 1024 * 1024);
    expect(listed).toBeDefined();
    expect(limited?.HostConfig).toMatchObject({ NanoCpus: 500_000_000, MemorySwap: 64 * 1024 * 1024 });
    const failure = await env.exec('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived', {}).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OutOfMemoryError);
    expect((failure as OutOfMemoryError).code).toBe(ErrorCodes.outOfMemory);
    expect((failure as Error).message).toContain('out of memory (limit 64 MiB)');
    // The container survives its command's kill: the next command runs, and a plain kill is not OOM.
    expect((await env.exec('echo still here', {})).exitCode).toBe(0);
    expect((await env.exec('kill -9 $$', {})).exitCode).toBe(137);
  });

  it("the agent's next start removes the containers a killed life left; another agent's stay", async () => {
    const other = await mkdtemp(join(tmpdir(), 'hf-docker-other-'));
    try {
      const otherExecutor = createDockerExecutor({ images, workDir: other, docker });
      const otherEnv = await otherExecutor.start({ jobId: 'o', hostWorkspace: other, image: busybox, env: {} });
      envs.push(otherEnv);
      await start();
      const mine = (await containersOf(workDir)).length;
      expect(mine).toBeGreaterThan(0);
      // A new life of the agent: a new executor on the same work directory.
      const restarted = createDockerExecutor({ images, workDir, docker });
      expect(await restarted.reap?.()).toBe(mine);
      expect(await containersOf(workDir)).toEqual([]);
      expect(await containersOf(other)).toHaveLength(1);
      await otherEnv.teardown();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a description with steps and env runs in the image the builder made of it', async () => {
    const tools = resolveImage('tools', {
      from: BASE,
      steps: ['echo from-a-step > /etc/built'],
      env: { TOOL: 'ready' },
    });
    const logs: string[] = [];
    await executor.prepare(tools, { onLog: (t) => void logs.push(t) });
    const { env } = await start({ image: tools });
    const out = text();
    await env.exec('cat /etc/built; echo "$TOOL"', { onStdout: out.on });
    expect(out.get()).toBe('from-a-step\nready\n');
    // The container runs the image the builder tagged with the description's content hash.
    const built = (await docker.getImage(tools.tag).inspect()).Id;
    expect((await containersOf(workDir)).map((c) => c.ImageID)).toContain(built);

    // Removed from the engine after it was prepared (an image prune): the next job makes it again.
    await env.teardown();
    await docker.getImage(tools.tag).remove({ force: true });
    const { env: again } = await start({ image: tools });
    const rebuilt = text();
    await again.exec('cat /etc/built', { onStdout: rebuilt.on });
    expect(rebuilt.get()).toBe('from-a-step\n');
  });

  it('a job without image runs in the default image; without one configured it is a clear config error', async () => {
    await expect(start({ image: null })).rejects.toMatchObject({
      code: ErrorCodes.config,
      message: expect.stringContaining('--default-image'),
    });
    const withDefault = createDockerExecutor({ images, workDir, docker, defaultImage: BASE });
    const env = await withDefault.start({ jobId: 'd', hostWorkspace: workDir, image: null, env: {} });
    envs.push(env);
    const out = text();
    await env.exec('. /etc/os-release; echo $ID', { onStdout: out.on });
    expect(out.get()).toBe('hiveforge-busybox\n');
    const missing = createDockerExecutor({ images, workDir, docker, defaultImage: 'hiveforge-test/none:0' });
    await expect(missing.prepare(null)).rejects.toThrow(/hiveforge-test\/none:0 is not on this Docker engine/);
  });
});
