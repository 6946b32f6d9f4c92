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
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createAgentClient } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { DISPATCH_HEADER, benchBullMQ, dispatchRow, medianDrain, sleep, startLoadThread } from './dispatch-bullmq.mjs';
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
  // Each request id is sent once (an error starts over with a new one): `resend: false`.
  const pull = () => ({ requestId: randomUUID(), waitMs: 5_000, resend: false });
  // The pull riding on a completion does not wait: the completion is answered at once, and an
  // agent that got no job waits in a plain pull.
  const pullNow = () => ({ requestId: randomUUID(), waitMs: 0, resend: false });
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

/**
 * `createMongoStore` from the package's `./mongodb` entry and the `mongodb` driver (`MongoClient`,
 * `BSON`); null (with the reason noted) when they do not load.
 */
async function loadMongoStore(results) {
  let name = '@hiveforge/coordinator/mongodb';
  try {
    const { createMongoStore } = await import(name);
    name = 'mongodb';
    const { MongoClient, BSON } = await import(name);
    return { createMongoStore, MongoClient, BSON };
  } catch (error) {
    results.mongoError = `${name} did not load: ${error.message}`;
    return null;
  }
}

/** Starts FerretDB through the test helper (TypeScript, loaded with tsx). */
async function startFerretDB(parentDir) {
  const { tsImport } = await import('tsx/esm/api');
  const helper = await tsImport('../test/helpers/ferretdb.ts', import.meta.url);
  return helper.startFerretDB({ parentDir });
}

/** The type of the file system `dir` is on (`ext4`, `tmpfs`, ...), or `unknown`. */
function fileSystemOf(dir) {
  try {
    return (
      execFileSync('df', ['--output=fstype', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)?.trim() || 'unknown'
    );
  } catch {
    return 'unknown';
  }
}

// ---- the MongoDB wire: the store's commands, the server's capacity ----

/** What `createMongoStore` gives its own client, plus command monitoring for `commandCounter`. */
const STORE_CLIENT_OPTIONS = {
  monitorCommands: true,
  appName: 'hiveforge-coordinator',
  retryWrites: true,
  writeConcern: { w: 'majority' },
  readConcern: { level: 'majority' },
};

/** The driver's handshake, monitoring and session commands, and the store's start-up probe: not store work. */
const NOT_COUNTED = new Set(['hello', 'ismaster', 'ping', 'endsessions', 'buildinfo', 'saslstart', 'saslcontinue']);

/**
 * Counts the commands `clients` send between `start()` and `stop()` (summed over the clients,
 * by command name). `perJob(jobs)` divides them by the jobs drained meanwhile.
 */
function commandCounter(clients) {
  const byName = new Map();
  const byTarget = new Map();
  let counting = false;
  let startedAt = 0;
  let ms = 0;
  const count = ({ commandName, command }) => {
    if (!counting || NOT_COUNTED.has(commandName.toLowerCase())) return;
    byName.set(commandName, (byName.get(commandName) ?? 0) + 1);
    const collection = typeof command[commandName] === 'string' ? command[commandName] : command.collection;
    const target = typeof collection === 'string' ? `${commandName} ${collection}` : commandName;
    byTarget.set(target, (byTarget.get(target) ?? 0) + 1);
  };
  for (const client of clients) client.on('commandStarted', count);
  return {
    start() {
      counting = true;
      startedAt = performance.now();
    },
    stop() {
      if (counting) ms += performance.now() - startedAt;
      counting = false;
    },
    /**
     * Store commands per job, the same by command name and by command and collection (most
     * first), and commands per second.
     */
    perJob(jobs) {
      const total = [...byName.values()].reduce((a, b) => a + b, 0);
      const perJob = (counts) =>
        Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, n / jobs]));
      return {
        commands: total,
        commandsPerJob: total / jobs,
        commandMix: perJob(byName),
        commandTargets: perJob(byTarget),
        commandsPerSecond: total / (ms / 1000),
      };
    },
  };
}

/** `doc` with a `pad` string that brings its BSON size to `bytes` (when it is smaller). */
function padded(BSON, doc, bytes) {
  // The field costs 10 bytes besides its text: type, "pad\0", the string's length and its \0.
  return { ...doc, pad: 'x'.repeat(Math.max(0, bytes - BSON.calculateObjectSize(doc) - 10)) };
}

/** Commands per second of `callers` concurrent loops, each calling `op` until `ms` have passed. */
async function commandRate(op, callers, ms) {
  let done = 0;
  const started = performance.now();
  const loop = async () => {
    while (performance.now() - started < ms) {
      await op();
      done++;
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  return done / ((performance.now() - started) / 1000);
}

/**
 * How many simple commands per second the server does here: `capacityCallers` concurrent callers
 * on one client with the store's options (w: majority, read concern majority), each kind for
 * `capacityMs`, on a collection (only the `_id` index) of `capacityDocs` documents of ~600 bytes:
 * findOne by `_id`, updateOne by `_id` with `$set`, insertOne of new ~300-byte documents. `mixed`
 * is their harmonic mean: one command of each kind, divided by the time the three take at the
 * measured rates. The database is dropped again.
 */
async function measureCapacity({ MongoClient, BSON }, uri, options) {
  const client = new MongoClient(uri, { ...STORE_CLIENT_OPTIONS, monitorCommands: false });
  const db = client.db('bench-capacity');
  try {
    await client.connect();
    const docs = db.collection('docs');
    const ids = Array.from({ length: options.capacityDocs }, (_, i) => `doc-${String(i).padStart(6, '0')}`);
    await docs.insertMany(ids.map((_id, n) => padded(BSON, { _id, state: 'ready', n, at: Date.now() }, 600)));
    const anyId = () => ids[Math.floor(Math.random() * ids.length)];
    let inserted = 0;
    const kinds = {
      findOne: () => docs.findOne({ _id: anyId() }),
      updateOne: () => docs.updateOne({ _id: anyId() }, { $set: { state: 'leased', n: inserted, at: Date.now() } }),
      insertOne: () => docs.insertOne(padded(BSON, { _id: `new-${inserted++}`, state: 'ready', at: Date.now() }, 300)),
    };
    // Unmeasured warm-up: connections, the driver's code paths, the server's caches.
    await commandRate(kinds.findOne, options.capacityCallers, 300);
    const rates = {};
    for (const [kind, op] of Object.entries(kinds)) {
      rates[kind] = await commandRate(op, options.capacityCallers, options.capacityMs);
    }
    const mixed = 3 / (1 / rates.findOne + 1 / rates.updateOne + 1 / rates.insertOne);
    return { callers: options.capacityCallers, ms: options.capacityMs, docs: options.capacityDocs, ...rates, mixed };
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close().catch(() => {});
  }
}

/**
 * Copies of one job the variant drained, and of its two decisions, as the store wrote them: the
 * documents the floor (`measureFloor`) writes.
 */
async function floorTemplates(client, dbName) {
  const db = client.db(dbName);
  const [job] = await db.collection('jobs').find({ state: 'succeeded' }).limit(1).toArray();
  if (!job) return null;
  const decisions = db.collection('decisions');
  const prefix = `job:${job._id}/attempt:${job.attempt}`;
  const [lease, end] = await Promise.all([
    decisions.findOne({ _id: `${prefix}/lease` }),
    decisions.findOne({ _id: `${prefix}/end` }),
  ]);
  return lease && end ? { job, lease, end } : null;
}

/**
 * The floor: the fewest store writes a job costs under DESIGN.md's rule (a transition is a
 * decision inserted, then applied to the job), sent by the driver alone, with no coordinator, no
 * HTTP and no reads. Per job: its lease decision inserted, the job updated to leased (and to
 * running with `withStart`), its end decision inserted, the job updated to its end; by
 * `mongoAgents` concurrent callers on one client with the store's options, each job known to its
 * caller beforehand. Decisions are group-committed by the store's group commit (the decisions
 * waiting while an insert is on its way go in the next `insertMany`). The documents are copies of those the
 * variant wrote (`templates`). `floorJobs` jobs after `floorWarmupJobs` unmeasured ones; the
 * database is dropped again.
 */
async function measureFloor({ MongoClient }, uri, templates, options) {
  const client = new MongoClient(uri, { ...STORE_CLIENT_OPTIONS, monitorCommands: false });
  const db = client.db('bench-floor');
  try {
    await client.connect();
    const jobs = db.collection('jobs');
    const decisions = db.collection('decisions');
    const insertDecision = await groupInsert(decisions);
    const { job, lease, end } = templates;
    const pick = (doc, keys) => Object.fromEntries(keys.filter((key) => key in doc).map((key) => [key, doc[key]]));
    const leased = pick(job, ['agentId', 'leasedAt', 'leaseExpiresAt', 'leaseRequestId']);
    const ended = pick(job, ['state', 'finishedAt', 'exitCode', 'error', 'outputs', 'cause']);
    const drain = async (label, count) => {
      const ids = Array.from({ length: count }, (_, i) => `${label}/j${i}`);
      await jobs.insertMany(ids.map((_id) => ({ ...job, _id, state: 'queued', attempt: 1 })));
      let next = 0;
      const started = performance.now();
      const caller = async () => {
        for (let i = next++; i < count; i = next++) {
          const _id = ids[i];
          const prefix = `job:${_id}/attempt:1`;
          await insertDecision({ ...lease, _id: `${prefix}/lease`, at: Date.now() });
          await jobs.updateOne({ _id }, { $set: { ...leased, state: 'leased', leasedAt: Date.now() } });
          if (options.withStart) await jobs.updateOne({ _id }, { $set: { state: 'running', startedAt: Date.now() } });
          await insertDecision({ ...end, _id: `${prefix}/end`, at: Date.now() });
          await jobs.updateOne({ _id }, { $set: { ...ended, finishedAt: Date.now() } });
        }
      };
      await Promise.all(Array.from({ length: options.mongoAgents }, caller));
      return count / ((performance.now() - started) / 1000);
    };
    await drain('warmup', options.floorWarmupJobs);
    const throughput = await drain('floor', options.floorJobs);
    return { callers: options.mongoAgents, jobs: options.floorJobs, throughput };
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close().catch(() => {});
  }
}

/**
 * Inserts one document into `collection`, group-committed by the store's own group commit
 * (`createGroupCommit`, loaded from its source with tsx): see `measureFloor`.
 */
async function groupInsert(collection) {
  const { tsImport } = await import('tsx/esm/api');
  const { createGroupCommit } = await tsImport('../packages/coordinator/src/store/group-commit.ts', import.meta.url);
  const insert = createGroupCommit(async (docs) => {
    await collection.insertMany(docs, { ordered: false });
    return docs.map(() => ({ ok: true, value: undefined }));
  });
  return (doc) => insert([doc]);
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
