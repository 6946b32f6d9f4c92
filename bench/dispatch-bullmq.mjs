// The reference queue of `bench/dispatch.mjs`: BullMQ over a Redis started here on loopback,
// under the same load as HiveForge's coordinators. N BullMQ workers (concurrency 1 each, in one
// worker thread, as HiveForge's protocol agents are) run a no-op processor.
//   idle:  closed-loop bursts of N/2 jobs (burst i once burst i-1 completed and not before
//          i * `burstEveryMs`) while the workers wait; latency = processedOn - timestamp
//   drain: `jobs` jobs added with one addBulk; throughput = jobs / (last finishedOn - first processedOn)
// Runnable alone: `node bench/dispatch-bullmq.mjs`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker as Thread, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Queue, Worker } from 'bullmq';
import { fmt, median, percentile } from './lib.mjs';

const QUEUE = 'bench-dispatch';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`'s value, or null after `ms` (without keeping the process alive past it). */
export async function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops a child process: SIGTERM, then SIGKILL if it does not exit in time. */
export async function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts `redis-server` on a free loopback port, without persistence. */
export async function startRedis() {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'hiveforge-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  let output = '';
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      const onData = (chunk) => {
        output += chunk;
        if (/ready to accept connections/i.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`could not run redis-server (apt-get install -y redis-server): ${error.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  child.stdout.resume();
  child.stderr.resume();
  return { connection: { host: '127.0.0.1', port }, stop };
}

// ---- the worker thread: N BullMQ workers with a no-op processor ----

async function runWorkers({ connection, workers: count }) {
  let completed = 0;
  let expected = Number.POSITIVE_INFINITY;
  const workers = [];
  for (let i = 0; i < count; i++) {
    const worker = new Worker(QUEUE, async () => {}, { connection, concurrency: 1 });
    worker.on('completed', () => {
      completed++;
      if (completed >= expected) {
        expected = Number.POSITIVE_INFINITY;
        parentPort.postMessage({ type: 'reached', completed });
      }
    });
    worker.on('error', () => {});
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  parentPort.on('message', async (message) => {
    if (message.type === 'expect') {
      expected = message.total;
      if (completed >= expected) {
        expected = Number.POSITIVE_INFINITY;
        parentPort.postMessage({ type: 'reached', completed });
      }
    } else if (message.type === 'stop') {
      await Promise.all(workers.map((w) => w.close()));
      parentPort.postMessage({ type: 'stopped', completed });
    }
  });
  parentPort.postMessage({ type: 'ready' });
}

if (!isMainThread && workerData?.kind === 'bullmq-workers') await runWorkers(workerData);

/**
 * Starts a load-generating worker thread of `url` (this file or bench/dispatch.mjs) and drives
 * it by messages: `reached(total, ms)` waits until `total` jobs completed; `stop()` resolves
 * with the thread's `stopped` message, or null when it did not answer within 10 s.
 */
export async function startLoadThread(url, data) {
  const thread = new Thread(url, { workerData: data });
  const waiters = new Map();
  let failure = null;
  const on = (type) => new Promise((resolve, reject) => waiters.set(type, { resolve, reject }));
  thread.on('message', (message) => {
    const waiter = waiters.get(message.type);
    waiters.delete(message.type);
    waiter?.resolve(message);
  });
  thread.on('error', (error) => {
    failure = error;
    for (const w of waiters.values()) w.reject(error);
    waiters.clear();
  });
  await on('ready');
  return {
    async reached(total, timeoutMs) {
      if (failure) throw failure;
      const done = on('reached');
      thread.postMessage({ type: 'expect', total });
      return (await withTimeout(done, timeoutMs)) !== null;
    },
    async stop() {
      const stopped = on('stopped');
      thread.postMessage({ type: 'stop' });
      const result = await withTimeout(stopped, 10_000);
      await thread.terminate();
      return result;
    },
  };
}

const latencies = (jobs) => jobs.map((j) => j.processedOn - j.timestamp);

/**
 * Measures `workers` BullMQ workers as bench/dispatch.mjs measures HiveForge's agents: warm-up
 * and idle phases of closed-loop bursts of N/2 jobs, then a drain of `jobs` jobs added at once.
 */
export async function benchBullMQ({
  jobs = 2_000,
  workers = 8,
  bursts = 60,
  burstEveryMs = 40,
  idleBudgetMs = 10_000,
  warmupBursts = 20,
  warmupBudgetMs = 3_000,
  deadlineMs = 20_000,
  drainDeadlineMs = 20_000,
  drainRepeats = 1,
  drainWarmups = 0,
} = {}) {
  const redis = await startRedis();
  let queue;
  let thread;
  try {
    queue = new Queue(QUEUE, { connection: redis.connection });
    await queue.waitUntilReady();
    thread = await startLoadThread(new URL(import.meta.url), {
      kind: 'bullmq-workers',
      connection: redis.connection,
      workers,
    });
    let total = 0;
    const add = async (name, n) => {
      await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name, data: { i } })));
      total += n;
    };
    const completedNamed = async (name) =>
      (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.name === name && j.finishedOn);
    const burst = Math.max(1, Math.floor(workers / 2));
    // The same closed loop as HiveForge's: each burst once the previous one completed.
    const addBursts = async (name, count, budgetMs) => {
      const started = performance.now();
      let complete = true;
      for (let i = 0; i < count && complete && performance.now() - started < budgetMs; i++) {
        const wait = started + i * burstEveryMs - performance.now();
        if (wait > 0) await sleep(wait);
        await add(name, burst);
        complete = await thread.reached(total, deadlineMs);
      }
      return complete;
    };

    if (!(await addBursts('warmup', warmupBursts, warmupBudgetMs)))
      throw new Error('the BullMQ warm-up did not finish');
    const idleComplete = await addBursts('burst', bursts, idleBudgetMs);
    const idle = latencies(await completedNamed('burst'));

    // As HiveForge's: `drainRepeats` drains one after another, the median one reported.
    const drains = [];
    for (let repeat = 0; repeat < drainWarmups + drainRepeats; repeat++) {
      const name = `drain-${repeat}`;
      const drainDeadline = performance.now() + drainDeadlineMs;
      await add(name, jobs);
      const drained = await thread.reached(total, Math.max(0, drainDeadline - performance.now()));
      const drain = await completedNamed(name);
      const first = Math.min(...drain.map((j) => j.processedOn));
      const last = Math.max(...drain.map((j) => j.finishedOn));
      const drainWait = latencies(drain);
      drains.push({
        done: drain.length,
        partial: !drained || !idleComplete,
        throughput: drain.length / ((last - first) / 1000),
        drainWaitP50: median(drainWait),
        drainWaitP99: percentile(drainWait, 99),
      });
      if (!drained) break;
    }
    return {
      workers,
      jobs,
      ...medianDrain(drains, drainWarmups),
      idleJobs: idle.length,
      idleP50: median(idle),
      idleP99: percentile(idle, 99),
    };
  } finally {
    await thread?.stop().catch(() => {});
    await queue?.close().catch(() => {});
    await redis.stop();
  }
}

const ms = (value) => (Number.isFinite(value) ? fmt(value) : 'never');

/**
 * Of the drains of one variant (each `{ throughput, partial, ... }`), the first `warmups` left
 * out, the one of median throughput, with `drains` (the throughputs counted, in order),
 * `warmupDrains` (those left out) and `partial` if any drain was cut. When a drain was cut
 * before any counted one ran, the last drain is the result.
 */
export function medianDrain(drains, warmups = 0) {
  const counted = drains.length > warmups ? drains.slice(warmups) : drains.slice(-1);
  const sorted = [...counted].sort((a, b) => a.throughput - b.throughput);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return {
    ...middle,
    partial: drains.some((d) => d.partial),
    drains: counted.map((d) => d.throughput),
    warmupDrains: drains.slice(0, Math.min(warmups, drains.length - counted.length)).map((d) => d.throughput),
  };
}

/** One row of the dispatch table (shared with bench/dispatch.mjs); `r` is a HiveForge or a BullMQ result. */
export function dispatchRow(label, r) {
  const wait = r.queueWaitP50 ?? r.drainWaitP50;
  const notes = [
    r.partial ? `PARTIAL: ${r.done}/${r.jobs} drained before the deadline` : '',
    r.errors ? `${r.errors} agent errors, first: ${r.firstError}` : '',
    r.drains?.length > 1
      ? `${r.warmupDrains?.length ? `warm-up ${r.warmupDrains.map((t) => t.toFixed(0)).join(' / ')}, ` : ''}median of ${r.drains.map((t) => t.toFixed(0)).join(' / ')}`
      : '',
  ].filter(Boolean);
  return (
    `  ${label.padEnd(36)} ${r.throughput.toFixed(0).padStart(7)}   ${ms(r.idleP50).padStart(9)} ${ms(r.idleP99).padStart(9)} ${String(r.idleJobs).padStart(7)}` +
    `   ${ms(wait).padStart(10)}${notes.length ? `   ${notes.join('; ')}` : ''}`
  );
}

export const DISPATCH_HEADER = [
  `  ${''.padEnd(36)} ${'drain'.padStart(7)}   ${'idle dispatch, ready -> leased'.padEnd(27)}   ${'drain'.padStart(10)}`,
  `  ${'variant'.padEnd(36)} ${'jobs/s'.padStart(7)}   ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'samples'.padStart(7)}   ${'queue wait'.padStart(10)}`,
];

export function reportBullMQ(results) {
  return [...DISPATCH_HEADER, ...results.map((r) => dispatchRow(`BullMQ/Redis, ${r.workers} workers`, r))].join('\n');
}

if (isMainThread && import.meta.url === `file://${process.argv[1]}`) {
  const results = [];
  for (const workers of [8, 16]) results.push(await benchBullMQ({ workers }));
  console.log(reportBullMQ(results));
}
