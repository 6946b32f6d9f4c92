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
// MongoDB wire, also: the store's commands per drained job (counted on its clients), and how many
// simple commands per second FerretDB does here (measured in the same run), which give the drain
// rate the server allows at that many commands per job; and the floor: the drain rate of the
// decision rule's writes alone, sent by the driver with no coordinator (`measureFloor`), which
// no coordinator that follows DESIGN.md's rule can pass on that server.
import { rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { DISPATCH_HEADER, benchBullMQ, dispatchRow, medianDrain, sleep } from './dispatch-bullmq.mjs';
import { SECRET, startFleet } from './dispatch-agents.mjs';
import {
  STORE_CLIENT_OPTIONS,
  commandCounter,
  fileSystemOf,
  floorTemplates,
  loadMongoStore,
  measureCapacity,
  measureFloor,
  startFerretDB,
} from './dispatch-wire.mjs';
import { median, percentile, writeProject } from './lib.mjs';

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
  /**
   * Drains per memory and BullMQ variant, one after another; the median's throughput is
   * reported (a drain lasts about two seconds, short enough for a pause of the machine to move
   * one). The MongoDB variants drain once (each is cut at `drainDeadlineMs`).
   */
  drainRepeats: 3,
  /** Drains before those, not counted (the same jobs), so that the measured ones run warm code. */
  drainWarmups: 1,
  /** Agent counts of the memory and BullMQ variants. */
  agents: [8, 16],
  /** Agent count of the MongoDB variants. */
  mongoAgents: 8,
  /** Coordinator counts of the MongoDB variants (each coordinator with its own store instance). */
  mongoCoordinators: [1, 3],
  /**
   * Where FerretDB keeps its SQLite files (`HIVEFORGE_BENCH_FERRETDB_DIR`; default the OS temp
   * directory). The report says which file system that is: FerretDB syncs every write to it, so
   * a disk's sync latency bounds the drain (a tmpfs such as /dev/shm takes that cost away).
   */
  ferretdbDir: process.env.HIVEFORGE_BENCH_FERRETDB_DIR || tmpdir(),
  /**
   * FerretDB capacity baseline, measured in the same run before the MongoDB variants: how many
   * simple commands per second the server does with `capacityCallers` concurrent callers on one
   * client, each kind of command for `capacityMs` (0 skips it), on `capacityDocs` documents.
   */
  capacityMs: 2_000,
  capacityCallers: 8,
  capacityDocs: 2_000,
  /**
   * The floor, measured in the same run after the MongoDB variants (see `measureFloor`): jobs
   * it times (0 skips it), after this many unmeasured ones.
   */
  floorJobs: 2_000,
  floorWarmupJobs: 300,
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

    // Drain: every job ready at once (in `drainRuns` runs, triggered back to back), `repeats`
    // times; the median drain is reported. A drain cut short ends the repeats.
    const drains = [];
    for (let repeat = 0; repeat < options.drainWarmups + options.drainRepeats; repeat++) {
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
      drains.push({
        done: done.length,
        partial: !drained || !idle.complete,
        throughput: done.length / ((last - first) / 1000),
        queueWaitP50: median(queueWait),
        queueWaitP99: percentile(queueWait, 99),
      });
      if (!drained) break;
    }
    return Object.assign(result, medianDrain(drains, options.drainWarmups));
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
    const drainRepeats = mongo ? 1 : options.drainRepeats;
    const drainWarmups = mongo ? 0 : options.drainWarmups;
    return await measure({
      label,
      coordinators,
      clients,
      pipelines,
      agents,
      options: { ...options, jobs, drainRepeats, drainWarmups },
    });
  } finally {
    for (const c of coordinators) await c.close();
  }
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
    capacity: null,
    capacityError: null,
    floor: null,
    floorError: null,
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

    const mongodb = options.variants.includes('mongodb') ? await loadMongoStore(results) : null;
    if (mongodb) {
      const { createMongoStore, MongoClient } = mongodb;
      let ferret;
      try {
        ferret = await startFerretDB(options.ferretdbDir);
        results.ferretdbFiles = `${options.ferretdbDir} (${fileSystemOf(options.ferretdbDir)})`;
        if (options.capacityMs > 0) {
          try {
            results.capacity = await measureCapacity(mongodb, ferret.uri, options);
          } catch (error) {
            results.capacityError = error.message;
          }
        }
        let templates = null;
        for (const count of options.mongoCoordinators) {
          const dbName = `bench-dispatch-${count}`;
          // Each store on a client of its own, so that its commands can be counted.
          const clients = [];
          const stores = [];
          try {
            for (let i = 0; i < count; i++) {
              const client = new MongoClient(ferret.uri, STORE_CLIENT_OPTIONS);
              clients.push(client);
              await client.connect();
              stores.push(await createMongoStore({ client, dbName }));
            }
            // The store's commands are counted over the drain phase, trigger included.
            const commands = commandCounter(clients);
            const onPhase = (label, phase, edge) => {
              if (phase === 'drain') commands[edge === 'start' ? 'start' : 'stop']();
              options.onPhase?.(label, phase, edge);
            };
            const agents = options.mongoAgents;
            const counted = { ...options, onPhase };
            const result = await variant({ kind: 'mongodb', stores, packages, agents, options: counted });
            results.mongo.push(Object.assign(result, commands.perJob(result.done)));
            templates ??= await floorTemplates(clients[0], dbName);
          } finally {
            for (const store of stores) await store.close().catch(() => {});
            for (const client of clients) await client.close().catch(() => {});
          }
        }
        if (options.floorJobs > 0) {
          try {
            if (!templates) throw new Error('no drained job to copy');
            results.floor = await measureFloor(mongodb, ferret.uri, templates, options);
          } catch (error) {
            results.floorError = error.message;
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
const thousands = (n) => Math.round(n).toLocaleString('en-US');

/**
 * The store's commands per job in a MongoDB variant's drain, by command name, and the drain rate
 * the server's capacity (simple commands/s) allows at that many commands per job.
 */
function storeLine(r, capacity) {
  if (!(r.done > 0)) return '    store: no job drained, commands per job not measured';
  const mix = Object.entries(r.commandMix).map(([name, n]) => `${name} ${n.toFixed(n < 0.1 ? 2 : 1)}`);
  const perJob = `${r.commandsPerJob.toFixed(1)} commands/job (${mix.join(', ')})`;
  const sent = `drain sent ${thousands(r.commandsPerSecond)} commands/s`;
  if (!capacity) return `    store: ${perJob}; ${sent}; server capacity not measured, no ceiling`;
  const ceiling = capacity.mixed / r.commandsPerJob;
  return `    store: ${perJob}; ${sent}; server does ~${thousands(capacity.mixed)} simple commands/s here -> ceiling ~${thousands(ceiling)} jobs/s`;
}

/** The store's commands per job by command and collection, those of at least 0.05 per job. */
function targetsLine(r) {
  if (!(r.done > 0) || !r.commandTargets) return null;
  const targets = Object.entries(r.commandTargets).filter(([, n]) => n >= 0.05);
  return `      by collection: ${targets.map(([target, n]) => `${target} ${n.toFixed(2)}`).join(', ')}`;
}

export function reportDispatch(results) {
  const { options: o } = results;
  const out = [
    `dispatch: N protocol agents (${[o.completeAndPull ? 'complete+pull next' : 'pull -> complete', o.withStart ? 'with start' : ''].filter(Boolean).join(', ')}, no job bodies) over loopback HTTP`,
    `  idle = up to ${o.bursts} closed-loop runs of N/2 jobs, each when all agents wait (at most ${o.idleBudgetMs / 1000} s);` +
      ` drain = ${o.drainRuns === 1 ? 'one run' : `${o.drainRuns} runs`} of ${o.jobs / o.drainRuns} independent jobs (MongoDB wire: ${o.mongoJobs / o.drainRuns}), all ready at once (cut at ${o.drainDeadlineMs / 1000} s);` +
      ` memory and BullMQ: ${o.drainWarmups} warm-up drain${o.drainWarmups === 1 ? '' : 's'}, then the median of ${o.drainRepeats}`,
    `  load average (1 min) when it started: ${results.loadavg.toFixed(2)} on ${availableParallelism()} CPUs; other load on the machine skews every number`,
    ...DISPATCH_HEADER,
  ];
  for (const r of results.memory) out.push(dispatchRow(`memory, 1 coordinator, ${r.agents} agents`, r));
  for (const r of results.bullmq) out.push(dispatchRow(`BullMQ/Redis (reference), ${r.workers} workers`, r));
  const capacity = results.capacity;
  for (const r of results.mongo) {
    out.push(
      dispatchRow(`MongoDB wire, ${r.coordinators} coordinator${r.coordinators > 1 ? 's' : ''}, ${r.agents} agents`, r),
      storeLine(r, capacity),
      ...[targetsLine(r)].filter(Boolean),
    );
  }
  if (capacity) {
    out.push(
      `  FerretDB capacity, same run: ${capacity.callers} callers on one client, w: majority, ${capacity.ms / 1000} s each:` +
        ` findOne by _id ${thousands(capacity.findOne)}/s, updateOne by _id ${thousands(capacity.updateOne)}/s,` +
        ` insertOne ${thousands(capacity.insertOne)}/s; mixed (harmonic mean) ${thousands(capacity.mixed)} commands/s`,
    );
  } else if (results.capacityError) {
    out.push(`  FerretDB capacity: NOT MEASURED (${results.capacityError})`);
  }
  const floor = results.floor;
  if (floor) {
    out.push(
      `  floor, same run: the decision rule's writes alone (lease decision, job leased${o.withStart ? ', job running' : ''}, end decision, job ended),` +
        ` by the driver with no coordinator, ${floor.callers} callers, decisions group-committed: ${thousands(floor.throughput)} jobs/s` +
        ` -> drain / floor ${results.mongo.map((r) => `${r.coordinators}c ${(r.throughput / floor.throughput).toFixed(2)}`).join(', ')}`,
    );
  } else if (results.floorError) {
    out.push(`  floor: NOT MEASURED (${results.floorError})`);
  }
  if (results.ferretdbFiles) out.push(`  FerretDB's files: ${results.ferretdbFiles}`);
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
    // Throughput is judged against the floor measured in the same run: no design drains faster
    // than the decision rule's bare writes on this server and disk.
    const floorGoal = r.coordinators === 1 ? 0.7 : 0.5;
    const ofFloor = floor ? r.throughput / floor.throughput : null;
    const throughput =
      ofFloor === null
        ? `drain / floor >= ${floorGoal} NOT MEASURED (no floor)`
        : `drain / floor ${ofFloor.toFixed(2)}, goal >= ${floorGoal} ${verdict(ofFloor >= floorGoal && !r.partial)}`;
    out.push(
      `    MongoDB wire, ${r.coordinators} coordinator${r.coordinators > 1 ? 's' : ''}: ${throughput};` +
        ` idle p50 < 25 ms ${verdict(r.idleP50 < 25)}; idle p99 < 100 ms ${verdict(r.idleP99 < 100)}`,
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
