// Scheduling overhead on the memory store: a 200-job chain of `true` commands, run by the
// embedded coordinator and one agent over loopback HTTP. The gap from a job's completion to its
// dependent's start is the scheduler's share; it is reported beside the time a bare shell takes
// to run the same 200 commands, measured in the same run.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createAgent, createProcessExecutor } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { chainPipeline, fmt, median, percentile, writeProject } from './lib.mjs';

const JOBS = 200;

export async function benchScheduling() {
  const dir = await writeProject('chain', chainPipeline(JOBS));
  const pkg = await packagePipeline(join(dir, 'hiveforge.ts'));
  const store = createMemoryStore();
  const coordinator = await createCoordinator({ store, agentSecret: 'bench-secret' });
  const client = createUserClient(coordinator.url, await createUserToken(store, { name: 'bench', role: 'admin' }));
  const agent = createAgent({
    url: coordinator.url,
    registrationSecret: 'bench-secret',
    capacity: 1,
    workDir: join(dir, '.hiveforge'),
    executor: createProcessExecutor(),
    pullWaitMs: 5_000,
  });
  const agentDone = agent.run();
  try {
    const deployed = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const started = performance.now();
    const run = await client.runs.trigger.mutate({ pipeline: deployed.pipeline });
    for (;;) {
      const batch = await client.runs.watch.query({ runId: run._id, waitMs: 5_000 });
      if (batch.done) break;
    }
    const wallMs = performance.now() - started;
    const { run: final, jobs } = await client.runs.get.query({ runId: run._id });
    if (final.status !== 'succeeded') throw new Error(`the chain run ${final.status}`);
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const gaps = [];
    const leaseGaps = [];
    const hostMs = [];
    for (const job of jobs) {
      hostMs.push(job.finishedAt - job.startedAt);
      const need = job.spec.needs[0];
      if (!need) continue;
      gaps.push(job.startedAt - byName.get(need).finishedAt);
      leaseGaps.push(job.leasedAt - byName.get(need).finishedAt);
    }
    const shellStart = performance.now();
    for (let i = 0; i < JOBS; i++) spawnSync('/bin/sh', ['-c', 'true']);
    const shellMs = performance.now() - shellStart;
    return {
      jobs: JOBS,
      gapP50: median(gaps),
      gapP99: percentile(gaps, 99),
      leaseP50: median(leaseGaps),
      leaseP99: percentile(leaseGaps, 99),
      jobP50: median(hostMs),
      wallMs,
      shellMs,
    };
  } finally {
    await agent.stop({ cancel: true });
    await agentDone.catch(() => {});
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function reportScheduling(r) {
  return [
    `scheduling overhead, memory store, ${r.jobs}-job chain of 'true'`,
    `  completion -> dependent leased     p50 ${fmt(r.leaseP50)}  p99 ${fmt(r.leaseP99)}   (the scheduler's share)`,
    `  completion -> dependent started    p50 ${fmt(r.gapP50)}  p99 ${fmt(r.gapP99)}   goal p50 < 5 ms   ${r.gapP50 < 5 ? 'MET' : 'MISSED'}`,
    `  one job, start -> completion       p50 ${fmt(r.jobP50)}  (job host process, bundle load, 'true', log flush)`,
    `  whole run                          ${fmt(r.wallMs)}`,
    `    baseline: bare shell, ${r.jobs} x 'sh -c true'  ${fmt(r.shellMs)}   ratio ${(r.wallMs / r.shellMs).toFixed(1)}x`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(reportScheduling(await benchScheduling()));
