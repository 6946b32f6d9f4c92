import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, createExecutor, createImageBuilder } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken, type MemoryStore } from '@hiveforge/coordinator';
import { resolveImage } from '@hiveforge/sdk';
import type Docker from 'dockerode';
import { createUserClient, packagePipeline } from 'hiveforge';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { containersOf } from './helpers/docker.js';
import { imageEngine, TEST_BASE, tagEvents, testImages, trackLeftLayers } from './helpers/image-engine.js';
import { jobLog } from './helpers/job-log.js';
import { startRegistry } from './helpers/registry.js';
import { startAgentProcess } from './helpers/services.js';

let docker: Docker;
beforeAll(async () => {
  docker = await imageEngine();
});

const SECRET = 'a-registration-secret-for-images';

/**
 * A directory under the repository's `.tmp/` (so the bundler finds `@hiveforge/sdk`), holding a
 * pipeline written for one test; removed at dispose.
 */
async function project(source: string): Promise<{ dir: string; entry: string } & AsyncDisposable> {
  await mkdir(join(repoRoot, '.tmp'), { recursive: true });
  const dir = await mkdtemp(join(repoRoot, '.tmp', 'hf-job-images-'));
  await writeFile(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
  await writeFile(join(dir, 'hiveforge.ts'), source);
  return {
    dir,
    entry: join(dir, 'hiveforge.ts'),
    [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A pipeline of one job `use` in an image `name` made of `from` and `steps`. */
const onePipeline = (name: string, from: string, steps: string[], command: string) => `
import { image, job, pipeline } from '@hiveforge/sdk';

const img = image(${JSON.stringify(name)}, { from: ${JSON.stringify(from)}, steps: ${JSON.stringify(steps)} });

export default pipeline(${JSON.stringify(name)}, () => {
  job('use', { image: img }, async (ctx) => {
    await ctx.sh(${JSON.stringify(command)});
  });
});
`;

/** An in-process coordinator on a memory store, with a maintainer's client. */
async function cluster() {
  const store: MemoryStore = createMemoryStore();
  const coordinator = await createCoordinator({ store, agentSecret: SECRET, scheduler: { pullWait: '500ms' } });
  const client = createUserClient(coordinator.url, await createUserToken(store, { name: 'mia', role: 'maintainer' }));
  return {
    store,
    coordinator,
    client,
    /** Triggers the pipeline and waits for the run's end; resolves with its job and its log. */
    async run(pipeline: string) {
      const run = await client.runs.trigger.mutate({ pipeline });
      const deadline = Date.now() + 120_000;
      while (!(await client.runs.watch.query({ runId: run._id, waitMs: 2_000 })).done) {
        if (Date.now() > deadline) throw new Error(`run ${run._id} did not end in time`);
      }
      const { jobs } = await client.runs.get.query({ runId: run._id });
      const log = (await jobLog(client, { runId: run._id, job: 'use' })).map((c) => c.text).join('');
      return { job: jobs[0], log };
    },
    async [Symbol.asyncDispose]() {
      await coordinator.close();
      await store.close();
    },
  };
}

describe('images of jobs on a docker agent (real engine)', () => {
  it('two jobs needing one new image at once: one build, both logs show it, cancelling the first does not fail the second', async () => {
    await using images = testImages(docker);
    const workDir = await mkdtemp(join(tmpdir(), 'hf-two-jobs-'));
    await using _workDir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
    const executor = createExecutor('docker', { workDir });
    const spec = resolveImage('twice', { from: TEST_BASE, steps: [`sleep 2; echo built-${images.nonce}`] });
    images.track(spec.tag);
    const since = Date.now();
    const first = new AbortController();
    let firstLog = '';
    let secondLog = '';
    const cancelled = executor
      .prepare(spec, {
        signal: first.signal,
        onLog: (text) => {
          firstLog += text;
          // Cancelled once the build runs its step.
          if (/Running in/.test(firstLog)) first.abort(new Error('the first job was cancelled'));
        },
      })
      .catch((error: unknown) => error);
    const second = executor.prepare(spec, {
      onLog: (text) => {
        secondLog += text;
      },
    });
    expect(await cancelled).toMatchObject({ message: 'the first job was cancelled' });
    const prepared = await second;
    expect(prepared?.tag).toBe(spec.tag);
    expect(secondLog).toContain(`built-${images.nonce}`);
    expect(secondLog).toContain(`Successfully tagged ${spec.tag}`);
    expect(await tagEvents(docker, spec.tag, since)).toBe(1);

    // The second job runs in the image.
    const hostWorkspace = await mkdtemp(join(workDir, 'ws-'));
    const env = await executor.start({ jobId: 'j', hostWorkspace, image: spec, env: {} });
    try {
      let out = '';
      const { exitCode } = await env.exec('echo in-$HOSTNAME', {
        onStdout: (c) => {
          out += c.toString();
        },
      });
      expect(exitCode).toBe(0);
      expect(out).toMatch(/^in-/);
    } finally {
      await env.teardown();
    }
    expect(containersOf(workDir)).toEqual([]);
  });

  it("strictImages: an unpinned base fails the job with HF_IMAGE_BUILD and builds nothing; without it, a warning in the job's log", async () => {
    await using images = testImages(docker);
    await using c = await cluster();
    const name = `loose-${images.nonce}`;
    const spec = resolveImage(name, { from: TEST_BASE, steps: [`echo built-${images.nonce}`] });
    images.track(spec.tag);
    await using p = await project(onePipeline(name, TEST_BASE, spec.steps as string[], 'echo job-ran'));
    const pkg = await packagePipeline(p.entry);
    const deployed = await c.client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    expect(deployed.warnings.map((w) => w.code)).toContain('HF_ANALYSIS_UNPINNED_IMAGE');

    const workDir = await mkdtemp(join(tmpdir(), 'hf-strict-'));
    const agent = createAgent({
      url: c.coordinator.url,
      registrationSecret: SECRET,
      workDir,
      executor: createExecutor('docker', { workDir }),
      pullWaitMs: 500,
    });
    const running = agent.run();
    await using _agent = {
      async [Symbol.asyncDispose]() {
        await agent.stop({ cancel: true });
        await running;
        await rm(workDir, { recursive: true, force: true });
      },
    };

    // The analyzer refuses this at deploy; a version stored without that check (by an older
    // coordinator, or by hand) still reaches agents, which refuse it too.
    const strictId = `strict-${images.nonce}`;
    await c.store.putPipelineVersion({
      _id: strictId,
      pipeline: name,
      spec: { ...deployed.spec, strictImages: true },
      bundle: pkg.bundle,
      entry: pkg.entry,
      createdAt: Date.now(),
    });
    await c.store.setPipelineHead(name, strictId, Date.now());
    const since = Date.now();
    const strict = await c.run(name);
    expect(strict.job).toMatchObject({ state: 'failed' });
    expect(strict.job?.error).toMatch(
      /^HF_IMAGE_BUILD: image 'loose-[0-9a-f]+' \(hiveforge\/loose-[0-9a-f]+:[0-9a-f]+\): its base hiveforge-test\/busybox:1 is not pinned by digest and the pipeline asks for strictImages/,
    );
    expect(strict.log).not.toContain('job-ran');
    expect(await tagEvents(docker, spec.tag, since)).toBe(0);

    await c.store.setPipelineHead(name, deployed.versionId, Date.now());
    const loose = await c.run(name);
    expect(loose.job).toMatchObject({ state: 'succeeded' });
    expect(loose.log).toContain(
      `warning HF_ANALYSIS_UNPINNED_IMAGE: image '${name}' is not pinned by digest (${TEST_BASE})`,
    );
    expect(loose.log).toContain(`built-${images.nonce}`);
    expect(loose.log).toContain('job-ran');
  });

  it('hiveforge agent --registry --push: a base missing from the engine is pulled from the registry, the built image is pushed', async () => {
    await using registry = await startRegistry();
    await using images = testImages(docker);
    await using c = await cluster();
    // A base that exists only in the registry: made here, pushed, then removed from the engine.
    const seedRepo = `hiveforge-test/seed-${images.nonce}`;
    const seedRemote = `${registry.host}/${seedRepo}`;
    const seed = resolveImage('seed', { from: TEST_BASE, steps: [`echo ${images.nonce} > /seed.txt`] });
    images.track(seed.tag);
    await createImageBuilder({ docker }).ensure(seed);
    await docker.getImage(seed.tag).tag({ repo: seedRemote, tag: '1' });
    let pushed = '';
    for await (const chunk of await docker.getImage(seedRemote).push({ tag: '1' })) pushed += chunk.toString();
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    expect(digest, pushed).toBeDefined();
    for (const ref of [`${seedRemote}:1`, seed.tag]) await docker.getImage(ref).remove({ force: true });

    const name = `shipped-${images.nonce}`;
    const from = `${seedRepo}@${digest}`;
    const spec = resolveImage(name, { from, steps: ['cat /seed.txt > /copy.txt'] });
    const [repository, hash] = spec.tag.split(':') as [string, string];
    images.track(spec.tag);
    images.track(`${registry.host}/${spec.tag}`);
    images.track(`${seedRemote}@${digest}`);
    await using p = await project(onePipeline(name, from, spec.steps as string[], 'cat /copy.txt'));
    const pkg = await packagePipeline(p.entry);
    await c.client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });

    const workDir = await mkdtemp(join(tmpdir(), 'hf-registry-agent-'));
    await using _workDir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
    await using agent = await startAgentProcess({
      urls: [c.coordinator.url],
      agentSecret: SECRET,
      name: 'pushing-agent',
      workDir,
      args: ['--executor', 'docker', '--registry', registry.host, '--push'],
    });
    expect(agent.output()).toContain(`"registry":"${registry.host}","push":true`);
    const { job, log } = await c.run(name);
    await trackLeftLayers(docker, images, name);
    expect(job, log).toMatchObject({ state: 'succeeded' });
    expect(log).toContain(`pulling base ${seedRemote}@${digest}`);
    expect(log).toContain(`pushing ${registry.host}/${spec.tag}`);
    expect(log).toContain(images.nonce);
    expect(await registry.api<{ name: string; tags: string[] }>(`/v2/${repository}/tags/list`)).toEqual({
      name: repository,
      tags: [hash],
    });
  });
});
