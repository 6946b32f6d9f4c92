// Dispatch speed: how fast coordinators hand out jobs. N "protocol agents" (register, then
// pull -> complete, no job bodies) talk to real coordinators over loopback HTTP from one worker
// thread, so the coordinators keep the main thread to themselves (on a 2-core machine: one core
// for the coordinators, one for the agents and the store's server).
//   idle:  while the agents wait in their long-polls, runs of N/2 jobs are triggered, each once
//          the previous one completed and not before i * `burstEveryMs` (closed loop, so every
//          burst finds idle agents); dispatch latency = leasedAt - readyAt of those jobs (both
//          recorded by the coordinator). This is the latency the goals are about.
//   drain: then a run of `jobs` independent jobs, all ready at once. Throughput = jobs / (last
//          finishedAt - first leasedAt). Its leasedAt - readyAt is mostly time spent queued
//          behind other jobs, not dispatch: it is printed as "queue wait" for information only.
//          A drain still going at `drainDeadlineMs` is cut short and reported as PARTIAL.
// Variants: memory store with 1 coordinator; MongoDB wire (FerretDB) with 1 and with 3
// coordinators (each with its own store instance on one database, agents round-robin across
// them); BullMQ over Redis under the same load as the reference (bench/dispatch-bullmq.mjs).
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createAgentClient } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { DISPATCH_HEADER, benchBullMQ, dispatchRow, sleep, startLoadThread } from './dispatch-bullmq.mjs';
import { median, percentile, writeProject } from './lib.mjs';

const SECRET = 'bench-secret';
const OK = { status: 'succeeded', exitCode: 0, error: null, outputs: {} };

export const DISPATCH_DEFAULTS = {
  /**
   * Jobs of the drain phase of the memory and BullMQ variants: enough that the drain lasts a few
   * seconds at the goal's rate, so that it measures the steady rate rather than the ramp.
   */
  jobs: 8_000,
  /** Jobs of the drain phase of the MongoDB variants (cut at `drainDeadlineMs` anyway). */
  mongoJobs: 2_000,
  /** The drain's jobs come in this many runs of `jobs / drainRuns` jobs. */
  drainRuns: 1,
  /** Agent counts of the memory and BullMQ variants. */
  agents: [8, 16],
  /** Agent count of the MongoDB variants. */
  mongoAgents: 8,
  /** Idle phase: up to `bursts` runs of N/2 jobs, run i once run i-1 completed and not before i * `burstEveryMs`, for at most `idleBudgetMs`. */
  bursts: 60,
  burstEveryMs: 40,
  idleBudgetMs: 10_000,
  /** Warm-up: the same, not measured. */
  warmupBursts: 20,
  warmupBudgetMs: 3_000,
  /** Also call `agent.start` between pull and complete, as a real agent does. */
  withStart: false,
  /** Pull the next job with the completion (`agent.complete` with `next`): one request per job. */
  completeAndPull: true,
  /** A warm-up or idle phase that has not finished after this long fails the variant. */
  deadlineMs: 20_000,
  /** A drain that has not finished this long after its trigger started is cut short and reported as partial. */
  drainDeadlineMs: 20_000,
  /** Which variants to run. */
  variants: ['memory', 'bullmq', 'mongodb'],
  /** Called as `onPhase(label, phase, 'start' | 'end')` around each phase, e.g. to profile one. */
  onPhase: null,
};

/** A pipeline of `n` independent no-op jobs. */
function independentPipeline(name, n) {
  const width = String(n - 1).length;
  const lines = ["import { job, pipeline } from '@hiveforge/sdk';", '', `export default pipeline('${name}', () => {`];
  for (let i = 0; i < n; i++) lines.push(`  job('j${String(i).padStart(width, '0')}', {}, async () => {});`);
  lines.push('});', '');
  return lines.join('\n');
}

// ---- the worker thread: N protocol agents ----

/** One protocol agent: registers, then pulls -> (starts ->) completes until stopped, in `loop`. */
async function protocolAgent({ url, name, withStart, completeAndPull, signal, onComplete, onError }) {
  const { token } = await createAgentClient({ url }).agent.register.mutate({
    secret: SECRET,
    name,
    labels: [],
    capacity: 1,
  });
  const client = createAgentClient({ url, token: () => token });
  const pull = () => ({ requestId: randomUUID(), waitMs: 5_000 });
  // The pull riding on a completion does not wait: the completion is answered at once, and an
  // agent that got no job waits in a plain pull.
  const pullNow = () => ({ requestId: randomUUID(), waitMs: 0 });
  const loop = (async () => {
    let lease = null;
    while (!signal.aborted) {
      try {
        lease ??= (await client.agent.pull.mutate(pull(), { signal })).lease;
        if (!lease) continue;
        const attempt = { jobId: lease.jobId, attempt: lease.attempt };
        if (withStart) await client.agent.start.mutate(attempt);
        const done = await client.agent.complete.mutate(
          { ...attempt, result: OK, next: completeAndPull ? pullNow() : undefined },
          { signal },
        );
        lease = done.next?.lease ?? null;
        onComplete();
      } catch (error) {
        lease = null;
        if (signal.aborted) return;
        onError(error);
        await sleep(20);
      }
    }
  })();
  return { loop };
}

async function runAgents({ urls, agents, withStart, completeAndPull }) {
  const stop = new AbortController();
  // Every agent's requests listen on the one stop signal.
  setMaxListeners(0, stop.signal);
  let completed = 0;
  let expected = Number.POSITIVE_INFINITY;
  const errors = [];
  const check = () => {
    if (completed < expected) return;
    expected = Number.POSITIVE_INFINITY;
    parentPort.postMessage({ type: 'reached', completed });
  };
  const loops = [];
  for (let i = 0; i < agents; i++) {
    const { loop } = await protocolAgent({
      url: urls[i % urls.length],
      name: `bench-agent-${i}`,
      withStart,
      completeAndPull,
      signal: stop.signal,
      onComplete: () => {
        completed++;
        check();
      },
      onError: (error) => {
        if (errors.length < 1_000) errors.push(String(error?.message ?? error).slice(0, 200));
      },
    });
    loops.push(loop);
  }
  parentPort.on('message', async (message) => {
    if (message.type === 'expect') {
      expected = message.total;
      check();
    } else if (message.type === 'stop') {
      stop.abort();
      await Promise.all(loops);
      parentPort.postMessage({ type: 'stopped', completed, errors });
    }
  });
  parentPort.postMessage({ type: 'ready' });
}

if (!isMainThread && workerData?.kind === 'protocol-agents') await runAgents(workerData);

/** Starts the agents' worker thread; `reached(total, ms)` waits until `total` jobs completed. */
async function startFleet(options) {
  const thread = await startLoadThread(new URL(import.meta.url), { kind: 'protocol-agents', ...options });
  return {
    reached: thread.reached,
    async stop() {
      const result = await thread.stop();
      return result?.errors ?? ['the agents did not stop within 10 s'];
    },
  };
}

// ---- one variant: some coordinators on one store, N agents ----

/**
 * Runs the warm-up, idle and drain phases against `coordinators` (already started, one store).
 * `clients` are user clients, one per coordinator; triggers go round-robin across them. The drain
 * comes last: when it is cut short at its deadline, nothing measured after it is disturbed.
 */
async function measure({ label, coordinators, clients, pipelines, agents, options }) {
  const fleet = await startFleet({
    urls: coordinators.map((c) => c.url),
    agents,
    withStart: options.withStart,
    completeAndPull: options.completeAndPull,
  });
  let total = 0;
  const result = { agents, coordinators: coordinators.length, jobs: options.jobs, errors: 0, firstError: null };
  try {
    const burst = Math.max(1, Math.floor(agents / 2));
    // Closed loop: burst i is triggered once the previous one completed, and not before
    // i * burstEveryMs, so that every burst finds all agents waiting. Stops after `count` bursts
    // or `budgetMs`.
    const triggerBursts = async (count, budgetMs) => {
      const runs = [];
      const started = performance.now();
      let complete = true;
      for (let i = 0; i < count && complete && performance.now() - started < budgetMs; i++) {
        const wait = started + i * options.burstEveryMs - performance.now();
        if (wait > 0) await sleep(wait);
        runs.push(await clients[i % clients.length].runs.trigger.mutate({ pipeline: pipelines.burst(agents) }));
        total += burst;
        complete = await fleet.reached(total, options.deadlineMs);
      }
      return { runs, complete };
    };
    const jobsOf = async (runs) => {
      const all = [];
      for (const r of runs) all.push(...(await clients[0].runs.get.query({ runId: r._id })).jobs);
      return all;
    };

    const phase = (name, edge) => options.onPhase?.(label, name, edge);
    const warm = await triggerBursts(options.warmupBursts, options.warmupBudgetMs);
    if (!warm.complete) throw new Error(`the warm-up did not finish within ${options.deadlineMs} ms`);

    // Idle agents: small runs while every agent waits in its long-poll. A job not leased by the
    // end counts as infinitely late, so that a stall cannot improve the percentiles.
    phase('idle', 'start');
    const idle = await triggerBursts(options.bursts, options.idleBudgetMs);
    phase('idle', 'end');
    const latency = (await jobsOf(idle.runs)).map((j) => (j.leasedAt === null ? Infinity : j.leasedAt - j.readyAt));
    Object.assign(result, { idleJobs: latency.length, idleP50: median(latency), idleP99: percentile(latency, 99) });

    // Drain: every job ready at once (in `drainRuns` runs, triggered back to back).
    phase('drain', 'start');
    const triggerStart = performance.now();
    const drainDeadline = triggerStart + options.drainDeadlineMs;
    const drainRuns = [];
    for (let i = 0; i < options.drainRuns; i++) {
      drainRuns.push(await clients[i % clients.length].runs.trigger.mutate({ pipeline: pipelines.drain }));
    }
    result.triggerMs = performance.now() - triggerStart;
    total += Math.ceil(options.jobs / options.drainRuns) * options.drainRuns;
    const drained = await fleet.reached(total, Math.max(0, drainDeadline - performance.now()));
    phase('drain', 'end');
    const done = (await jobsOf(drainRuns)).filter((j) => j.finishedAt !== null);
    const first = Math.min(...done.map((j) => j.leasedAt));
    const last = Math.max(...done.map((j) => j.finishedAt));
    const queueWait = done.map((j) => j.leasedAt - j.readyAt);
    return Object.assign(result, {
      done: done.length,
      partial: !drained || !idle.complete,
      throughput: done.length / ((last - first) / 1000),
      queueWaitP50: median(queueWait),
      queueWaitP99: percentile(queueWait, 99),
    });
  } finally {
    const errors = await fleet.stop();
    result.errors = errors.length;
    result.firstError = errors[0] ?? null;
  }
}

/** Deploys the drain pipeline and one burst pipeline per agent count; returns their names. */
async function deployPipelines(client, packages) {
  const names = { drain: null, drainMongo: null, bursts: new Map() };
  for (const [key, pkg] of packages) {
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    if (key === 'drain') names.drain = pipeline;
    else if (key === 'drain-mongo') names.drainMongo = pipeline;
    else names.bursts.set(key, pipeline);
  }
  return { drain: names.drain, drainMongo: names.drainMongo, burst: (agents) => names.bursts.get(agents) };
}

async function packageAll(dir, options, agentCounts) {
  const packages = new Map();
  const write = async (key, name, n) => {
    const file = join(dir, `${name}.ts`);
    await writeFile(file, independentPipeline(name, n));
    packages.set(key, await packagePipeline(file));
  };
  await write('drain', 'dispatch-drain', Math.ceil(options.jobs / options.drainRuns));
  await write('drain-mongo', 'dispatch-drain-mongo', Math.ceil(options.mongoJobs / options.drainRuns));
  for (const agents of new Set(agentCounts))
    await write(agents, `dispatch-burst-${agents}`, Math.max(1, Math.floor(agents / 2)));
  return packages;
}

/** One variant on `stores` (one coordinator each, all on the same data). */
async function variant({ kind, stores, packages, agents, options }) {
  const coordinators = [];
  try {
    for (const store of stores) coordinators.push(await createCoordinator({ store, agentSecret: SECRET }));
    const token = await createUserToken(stores[0], { name: 'bench', role: 'admin' });
    const clients = coordinators.map((c) => createUserClient(c.url, token));
    const deployed = await deployPipelines(clients[0], packages);
    const label = `${kind}/${stores.length}c/${agents}a`;
    const mongo = kind === 'mongodb';
    const pipelines = { ...deployed, drain: mongo ? deployed.drainMongo : deployed.drain };
    const jobs = mongo ? options.mongoJobs : options.jobs;
    return await measure({ label, coordinators, clients, pipelines, agents, options: { ...options, jobs } });
  } finally {
    for (const c of coordinators) await c.close();
  }
}

/** `createMongoStore` from the package's `./mongodb` entry; null (with the reason noted) when it does not load. */
async function loadMongoStore(results) {
  try {
    return (await import('@hiveforge/coordinator/mongodb')).createMongoStore;
  } catch (error) {
    results.mongoError = `@hiveforge/coordinator/mongodb did not load: ${error.message}`;
    return null;
  }
}

/** Starts FerretDB through the test helper (TypeScript, loaded with tsx). */
async function startFerretDB() {
  const { tsImport } = await import('tsx/esm/api');
  const helper = await tsImport('../test/helpers/ferretdb.ts', import.meta.url);
  return helper.startFerretDB();
}

export async function benchDispatch(overrides = {}) {
  const options = { ...DISPATCH_DEFAULTS, ...overrides };
  const dir = await writeProject('dispatch', '');
  const results = {
    options,
    memory: [],
    bullmq: [],
    mongo: [],
    mongoError: null,
    loadavg: loadavg()[0],
  };
  try {
    const packages = await packageAll(dir, options, [...options.agents, options.mongoAgents]);

    for (const agents of options.variants.includes('memory') ? options.agents : []) {
      results.memory.push(await variant({ kind: 'memory', stores: [createMemoryStore()], packages, agents, options }));
    }
    for (const agents of options.variants.includes('bullmq') ? options.agents : []) {
      results.bullmq.push(await benchBullMQ({ ...options, workers: agents }));
    }

    const createMongoStore = options.variants.includes('mongodb') ? await loadMongoStore(results) : null;
    if (createMongoStore) {
      let ferret;
      try {
        ferret = await startFerretDB();
        for (const count of [1, 3]) {
          const dbName = `bench-dispatch-${count}`;
          const stores = [];
          try {
            for (let i = 0; i < count; i++) stores.push(await createMongoStore({ uri: ferret.uri, dbName }));
            results.mongo.push(
              await variant({ kind: 'mongodb', stores, packages, agents: options.mongoAgents, options }),
            );
          } finally {
            for (const store of stores) await store.close().catch(() => {});
          }
        }
      } catch (error) {
        results.mongoError = error.message;
      } finally {
        await ferret?.stop();
      }
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const verdict = (ok) => (ok ? 'MET' : 'MISSED');
export function reportDispatch(results) {
  const { options: o } = results;
  const out = [
    `dispatch: N protocol agents (${[o.completeAndPull ? 'complete+pull next' : 'pull -> complete', o.withStart ? 'with start' : ''].filter(Boolean).join(', ')}, no job bodies) over loopback HTTP`,
    `  idle = up to ${o.bursts} closed-loop runs of N/2 jobs, each when all agents wait (at most ${o.idleBudgetMs / 1000} s);` +
      ` drain = ${o.drainRuns === 1 ? 'one run' : `${o.drainRuns} runs`} of ${o.jobs / o.drainRuns} independent jobs (MongoDB wire: ${o.mongoJobs / o.drainRuns}), all ready at once (cut at ${o.drainDeadlineMs / 1000} s)`,
    `  load average (1 min) when it started: ${results.loadavg.toFixed(2)} on ${availableParallelism()} CPUs; other load on the machine skews every number`,
    ...DISPATCH_HEADER,
  ];
  for (const r of results.memory) out.push(dispatchRow(`memory, 1 coordinator, ${r.agents} agents`, r));
  for (const r of results.bullmq) out.push(dispatchRow(`BullMQ/Redis (reference), ${r.workers} workers`, r));
  for (const r of results.mongo) {
    out.push(
      dispatchRow(`MongoDB wire, ${r.coordinators} coordinator${r.coordinators > 1 ? 's' : ''}, ${r.agents} agents`, r),
    );
  }
  if (results.mongoError) out.push(`  MongoDB wire: NOT RUN (${results.mongoError})`);

  out.push('  goals (2-core machine)');
  for (const r of results.memory) {
    out.push(
      `    memory, ${r.agents} agents: >= 2000 jobs/s ${verdict(r.throughput >= 2_000 && !r.partial)};` +
        ` idle p50 < 5 ms ${verdict(r.idleP50 < 5)}`,
    );
  }
  for (const r of results.memory) {
    const ref = results.bullmq.find((b) => b.workers === r.agents);
    if (!ref) continue;
    const ratio = r.throughput / ref.throughput;
    out.push(
      `    memory / BullMQ throughput, ${r.agents} agents: ${ratio.toFixed(2)}, goal >= 0.5 ${verdict(ratio >= 0.5 && !r.partial)}`,
    );
  }
  for (const r of results.mongo) {
    const p99Goal = r.coordinators === 1 ? 100 : 250;
    out.push(
      `    MongoDB wire, ${r.coordinators} coordinator${r.coordinators > 1 ? 's' : ''}: >= 300 jobs/s ${verdict(r.throughput >= 300 && !r.partial)};` +
        ` idle p50 < 25 ms ${verdict(r.idleP50 < 25)}; idle p99 < ${p99Goal} ms ${verdict(r.idleP99 < p99Goal)}`,
    );
  }
  if (results.mongoError) out.push('    MongoDB wire: NOT RUN, goals not measured');
  return out.join('\n');
}

if (isMainThread && import.meta.url === `file://${process.argv[1]}`) {
  // `node bench/dispatch.mjs [memory] [bullmq] [mongodb]`: all three when none is named.
  const variants = process.argv.slice(2);
  console.log(reportDispatch(await benchDispatch(variants.length ? { variants } : {})));
}
