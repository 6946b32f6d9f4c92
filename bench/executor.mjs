// What running a job costs through an executor, against the bare command in the same run:
//   process: a 20-job chain of `true` (embedded coordinator + one agent over loopback, as
//            `hiveforge run` does) against 20 `sh -c true`;
//   docker:  the same chain in an image through the Docker executor against 20 bare
//            `docker run --rm IMAGE true`; the image's build time cold and warm; agent start to
//            its first lease.
// The Docker half runs when an engine answers and says why when it cannot.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createAgent, createExecutor, createImageBuilder, executors } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { resolveImage } from '@hiveforge/sdk';
import { createUserClient, packagePipeline } from 'hiveforge';
import { fmt, median, writeProject } from './lib.mjs';

const JOBS = 20;
/** Measured chains per executor (after one unmeasured warm-up chain). */
const ROUNDS = 5;
/** The base of the Docker half: scripts/docker-test-images.sh imports it without a registry. */
const BASE = process.env.HIVEFORGE_BENCH_IMAGE ?? 'hiveforge-test/busybox:1';

/** A chain of `n` jobs running `true`, optionally in an image built from `base`. */
function chainSource(n, base) {
  const lines = ["import { image, job, pipeline } from '@hiveforge/sdk';", ''];
  if (base) lines.push(`const img = image('bench', { from: '${base}' });`, '');
  lines.push("export default pipeline('chain', () => {");
  for (let i = 0; i < n; i++) {
    const opts = [i ? `needs: [j${i - 1}]` : '', base ? 'image: img' : ''].filter(Boolean).join(', ');
    lines.push(`  const j${i} = job('j${i}', { ${opts} }, async (ctx) => { await ctx.sh\`true\`; });`);
  }
  lines.push('  void j0;', '});', '');
  return lines.join('\n');
}

/** One coordinator and one agent; `chain()` runs the deployed chain once and returns its wall time. */
async function startCluster({ base, executor }) {
  const dir = await writeProject('executor', chainSource(JOBS, base));
  const pkg = await packagePipeline(join(dir, 'hiveforge.ts'));
  const store = createMemoryStore();
  const coordinator = await createCoordinator({ store, agentSecret: 'bench-secret', schedules: false });
  const client = createUserClient(coordinator.url, await createUserToken(store, { name: 'bench', role: 'admin' }));
  const deployed = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
  const workDir = join(dir, '.hiveforge');
  const agent = createAgent({
    url: coordinator.url,
    registrationSecret: 'bench-secret',
    capacity: 1,
    workDir,
    executor: executor(workDir),
    pullWaitMs: 5_000,
  });
  let agentStarted = 0;
  let agentDone = Promise.resolve();
  const startAgent = () => {
    agentStarted = performance.timeOrigin + performance.now();
    agentDone = agent.run();
  };
  const waitRun = async (runId) => {
    let cursor;
    for (;;) {
      const batch = await client.runs.watch.query({ runId, cursor, waitMs: 5_000 });
      cursor = batch.cursor;
      if (batch.done) break;
    }
    const { run, jobs } = await client.runs.get.query({ runId });
    if (run.status !== 'succeeded') throw new Error(`the chain run ${run.status}`);
    return jobs;
  };
  return {
    /**
     * Triggers the chain before the agent starts, then starts it: how long from the agent's
     * start (registration, reaping) to its first lease.
     */
    async firstLease() {
      const run = await client.runs.trigger.mutate({ pipeline: deployed.pipeline });
      startAgent();
      const jobs = await waitRun(run._id);
      return Math.min(...jobs.map((j) => j.leasedAt)) - agentStarted;
    },
    async chain() {
      const started = performance.now();
      const run = await client.runs.trigger.mutate({ pipeline: deployed.pipeline });
      const jobs = await waitRun(run._id);
      return { wallMs: performance.now() - started, jobs, run };
    },
    get started() {
      return agentStarted > 0;
    },
    async close() {
      await agent.stop({ cancel: true });
      await agentDone.catch(() => {});
      await coordinator.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The same 20 commands started one after another, timed. */
function bare(command, args) {
  const started = performance.now();
  for (let i = 0; i < JOBS; i++) {
    const r = spawnSync(command, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}`);
  }
  return performance.now() - started;
}

/** Chains and bare runs interleaved, so that both see the same machine. */
async function measure(cluster, bareRun) {
  // The first chain waits for the agent's start: agent start to first lease, then warm-up.
  const firstLeaseMs = cluster.started ? null : await cluster.firstLease();
  const chains = [];
  const bares = [];
  for (let i = 0; i < ROUNDS; i++) {
    chains.push((await cluster.chain()).wallMs);
    bares.push(bareRun());
  }
  const chainMs = median(chains);
  const bareMs = median(bares);
  return {
    firstLeaseMs,
    chainMs,
    bareMs,
    perJobMs: chainMs / JOBS,
    barePerJobMs: bareMs / JOBS,
    overheadPerJobMs: (chainMs - bareMs) / JOBS,
  };
}

export async function benchProcess() {
  const cluster = await startCluster({ base: null, executor: () => executors.process.create({ workDir: '' }) });
  try {
    return await measure(cluster, () => bare('/bin/sh', ['-c', 'true']));
  } finally {
    await cluster.close();
  }
}

export async function benchDocker() {
  if (!(await executors.docker.available({ workDir: '' })))
    return { skipped: 'no Docker engine answers (is dockerd running, is DOCKER_HOST right?)' };
  if (spawnSync('docker', ['image', 'inspect', BASE], { stdio: 'ignore' }).status !== 0)
    return { skipped: `the base image ${BASE} is not on the engine: run scripts/docker-test-images.sh` };

  // The image build, cold (the built image removed first) and warm (found on the engine).
  const spec = resolveImage('bench-build', { from: BASE, steps: ['echo built > /built.txt'] });
  const builder = createImageBuilder();
  const first = await builder.ensure(spec);
  spawnSync('docker', ['image', 'rm', '-f', first.tag], { stdio: 'ignore' });
  let started = performance.now();
  await createImageBuilder().ensure(spec);
  const buildColdMs = performance.now() - started;
  started = performance.now();
  await createImageBuilder().ensure(spec);
  const buildWarmMs = performance.now() - started;

  // Agent start to its first lease, with a run already waiting for it.
  const cluster = await startCluster({
    base: BASE,
    executor: (workDir) => createExecutor('docker', { workDir }),
  });
  try {
    // The chain's own image: the one its jobs ran in.
    const image = resolveImage('bench', { from: BASE }).tag;
    const result = await measure(cluster, () => bare('docker', ['run', '--rm', image, 'true']));
    return { ...result, buildColdMs, buildWarmMs };
  } finally {
    await cluster.close();
  }
}

export async function benchExecutor() {
  return { process: await benchProcess(), docker: await benchDocker() };
}

const verdict = (ok) => (ok ? 'MET' : 'MISSED');

export function reportExecutor(r) {
  const p = r.process;
  const lines = [
    `executor overhead, ${JOBS}-job chain of 'true', one agent, medians of ${ROUNDS} chains`,
    `  process: chain ${fmt(p.chainMs)}, ${fmt(p.perJobMs)} a job   goal < 50 ms a job   ${verdict(p.perJobMs < 50)}`,
    `    baseline: ${JOBS} x 'sh -c true'  ${fmt(p.bareMs)} (${fmt(p.barePerJobMs)} each)   ratio ${(p.chainMs / p.bareMs).toFixed(1)}x, overhead ${fmt(p.overheadPerJobMs)} a job`,
    `  process: agent start -> first lease ${fmt(p.firstLeaseMs)}`,
  ];
  const d = r.docker;
  if (d.skipped) {
    lines.push(`  docker: not measured: ${d.skipped}`);
  } else {
    const ratio = d.chainMs / d.bareMs;
    lines.push(
      `  docker: chain ${fmt(d.chainMs)}, ${fmt(d.perJobMs)} a job`,
      `    baseline: ${JOBS} x 'docker run --rm IMAGE true'  ${fmt(d.bareMs)} (${fmt(d.barePerJobMs)} each)   ratio ${ratio.toFixed(2)}x   goal <= 1.3x   ${verdict(ratio <= 1.3)}`,
      `  image build: cold ${fmt(d.buildColdMs)}, warm ${fmt(d.buildWarmMs)}`,
      `  agent start -> first lease: ${fmt(d.firstLeaseMs)}   goal < 500 ms   ${verdict(d.firstLeaseMs < 500)}`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv[2];
  if (only === 'process')
    console.log(reportExecutor({ process: await benchProcess(), docker: { skipped: 'not asked for' } }));
  else console.log(reportExecutor(await benchExecutor()));
}
