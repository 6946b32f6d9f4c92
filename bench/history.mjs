// Reading one run's jobs, and a pipeline's last run number, as the history grows, on the MongoDB
// wire (FerretDB). FerretDB serves only `{ _id }` filters from an index, so a query on `runId`
// reads every job stored, and one on `pipeline` every run; the store reads a run of up to 512
// jobs by `_id` from the run's `run_jobs` entry, and the last run number from the pipeline's
// `run_numbers` entry, instead. Both are timed in the same run on the same database: as the
// store does it, and, the baseline, the same store's calls once the entries are gone (what was
// stored without one is read by the query).
import { tmpdir } from 'node:os';
import { median } from './lib.mjs';

export const HISTORY_DEFAULTS = {
  /** Jobs stored before each measurement (cumulative): the history. */
  histories: [1_000, 5_000, 20_000],
  /** Jobs per run; every run of the history has this many. */
  runJobs: 20,
  /** `listJobs` calls per measurement, of runs picked across the history. */
  reads: 15,
  ferretdbDir: process.env.HIVEFORGE_BENCH_FERRETDB_DIR || tmpdir(),
};

/** A finished job as a run stores it: the fields the store keeps, with a small spec. */
function jobRecord(runId, name) {
  return {
    _id: `${runId}/${name}`,
    runId,
    name,
    spec: {
      name,
      job: name,
      matrix: null,
      needs: [],
      image: 'hiveforge/node:20',
      labels: ['linux'],
      env: { CI: 'true' },
      secrets: [],
      timeoutMs: 600_000,
      retries: 0,
      if: null,
      concurrency: null,
      source: { file: 'hiveforge.ts', line: 1 },
    },
    state: 'succeeded',
    attempt: 1,
    readyAt: 1,
    agentId: 'agent-1',
    leaseExpiresAt: null,
    leasedAt: 2,
    startedAt: 3,
    finishedAt: 4,
    exitCode: 0,
    cause: 'exit',
    error: null,
    outputs: {},
    lostAttempts: 0,
  };
}

/** The run record of run `number` of the pipeline `history`. */
function runRecord(number) {
  return {
    _id: `history/${number}`,
    pipeline: 'history',
    number,
    versionId: 'v'.repeat(64),
    trigger: { event: 'manual', branch: 'main', commit: 'c'.repeat(40), repository: null, inputs: {}, actor: 'bench' },
    status: 'succeeded',
    createdAt: number,
    finishedAt: number,
  };
}

/** The median time of `calls`, each awaited in turn. */
async function medianMs(calls) {
  const ms = [];
  for (const call of calls) {
    const started = performance.now();
    await call();
    ms.push(performance.now() - started);
  }
  return median(ms);
}

/**
 * `measure()` with the entries `filter` selects in `collection`, then, the baseline, without
 * them; they are put back after.
 */
async function withAndWithout(collection, filter, measure) {
  const saved = await collection.find(filter).toArray();
  const withEntries = await measure();
  await collection.deleteMany(filter);
  const without = await measure();
  if (saved.length > 0) await collection.insertMany(saved);
  return { withEntries, without, entries: saved.length };
}

export async function benchHistory(overrides = {}) {
  const options = { ...HISTORY_DEFAULTS, ...overrides };
  const { createMongoStore } = await import('@hiveforge/coordinator/mongodb');
  const { MongoClient } = await import('mongodb');
  const { tsImport } = await import('tsx/esm/api');
  const helper = await tsImport('../test/helpers/ferretdb.ts', import.meta.url);
  const ferret = await helper.startFerretDB({ parentDir: options.ferretdbDir });
  const client = new MongoClient(ferret.uri);
  const rows = [];
  try {
    await client.connect();
    const dbName = 'bench-history';
    const store = await createMongoStore({ client, dbName });
    const entries = client.db(dbName).collection('run_jobs');
    const numbers = client.db(dbName).collection('run_numbers');
    try {
      let runs = 0;
      for (const history of options.histories) {
        while (runs * options.runJobs < history) {
          const runId = `history/${++runs}`;
          const jobs = Array.from({ length: options.runJobs }, (_, i) => jobRecord(runId, `job-${i}`));
          await store.insertJobs(jobs);
          await store.insertRun(runRecord(runs));
        }
        const picked = Array.from(
          { length: options.reads },
          (_, i) => `history/${1 + Math.floor((i * runs) / options.reads)}`,
        );
        const listed = (runId) => async () => {
          const jobs = await store.listJobs(runId);
          if (jobs.length !== options.runJobs) throw new Error(`${runId}: ${jobs.length} jobs listed`);
        };
        const numbered = async () => {
          const last = await store.lastRunNumber('history');
          if (last !== runs) throw new Error(`last run number ${last}, not ${runs}`);
        };
        const lists = await withAndWithout(entries, { _id: { $in: picked } }, () => medianMs(picked.map(listed)));
        const runNumbers = await withAndWithout(numbers, { _id: 'history' }, () =>
          medianMs(Array.from({ length: options.reads }, () => numbered)),
        );
        rows.push({
          history: runs * options.runJobs,
          runs,
          byId: lists.withEntries,
          byQuery: lists.without,
          entries: lists.entries,
          numberById: runNumbers.withEntries,
          numberByQuery: runNumbers.without,
          numberEntry: runNumbers.entries > 0,
        });
      }
    } finally {
      await store.close();
      await client.db(dbName).dropDatabase();
    }
  } finally {
    await client.close();
    await ferret.stop();
  }
  return { options, rows };
}

export function reportHistory({ options, rows }) {
  const ms = (n) => `${n.toFixed(1)} ms`;
  const out = [
    `history on FerretDB (files in ${options.ferretdbDir}): runs of ${options.runJobs} jobs; medians of ${options.reads} calls`,
    `  listJobs of a run (${options.reads} runs across the history): by _id from run_jobs, against the runId query (baseline)`,
    `  lastRunNumber of the pipeline: from run_numbers, against the pipeline query (baseline)`,
    '  jobs stored    runs    listJobs by _id / query    ratio    lastRunNumber entry / query    ratio',
  ];
  for (const r of rows) {
    const notes = [
      r.entries === options.reads ? null : `only ${r.entries} of ${options.reads} runs had a run_jobs entry`,
      r.numberEntry ? null : 'no run_numbers entry',
    ].filter(Boolean);
    out.push(
      `  ${String(r.history).padStart(11)}  ${String(r.runs).padStart(6)}    ${`${ms(r.byId)} / ${ms(r.byQuery)}`.padStart(23)}  ${`${(r.byQuery / r.byId).toFixed(1)}x`.padStart(7)}    ${`${ms(r.numberById)} / ${ms(r.numberByQuery)}`.padStart(27)}  ${`${(r.numberByQuery / r.numberById).toFixed(1)}x`.padStart(7)}${notes.length ? `   (${notes.join('; ')})` : ''}`,
    );
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(reportHistory(await benchHistory()));
}
