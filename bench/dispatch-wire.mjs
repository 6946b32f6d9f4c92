// The MongoDB-wire side of bench/dispatch.mjs: loading the store and the driver, FerretDB, the
// store's commands per drained job (counted on its clients), the server's simple-command
// capacity, and the floor (the decision rule's writes alone, with no coordinator).
import { execFileSync } from 'node:child_process';

/**
 * `createMongoStore` from the package's `./mongodb` entry and the `mongodb` driver (`MongoClient`,
 * `BSON`); null (with the reason noted) when they do not load.
 */
export async function loadMongoStore(results) {
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
export async function startFerretDB(parentDir) {
  const { tsImport } = await import('tsx/esm/api');
  const helper = await tsImport('../test/helpers/ferretdb.ts', import.meta.url);
  return helper.startFerretDB({ parentDir });
}

/** The type of the file system `dir` is on (`ext4`, `tmpfs`, ...), or `unknown`. */
export function fileSystemOf(dir) {
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
export const STORE_CLIENT_OPTIONS = {
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
export function commandCounter(clients) {
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
export async function measureCapacity({ MongoClient, BSON }, uri, options) {
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
export async function floorTemplates(client, dbName) {
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
export async function measureFloor({ MongoClient }, uri, templates, options) {
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
