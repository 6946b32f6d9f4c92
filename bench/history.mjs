// Reading one run's jobs as the history grows, on the MongoDB wire (FerretDB). FerretDB serves
// only `{ _id }` filters from an index, so a query on `runId` reads every job stored; the store
// reads a run of up to 512 jobs by `_id` from the run's `run_jobs` entry instead. Both are timed
// in the same run on the same database: `listJobs` as the store does it, and the same store's
// `listJobs` once the entries are gone (a run stored without one is read by the `runId` query),
// the baseline.
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
    try {
      let runs = 0;
      for (const history of options.histories) {
        while (runs * options.runJobs < history) {
          const runId = `history/${++runs}`;
          const jobs = Array.from({ length: options.runJobs }, (_, i) => jobRecord(runId, `job-${i}`));
          await store.insertJobs(jobs);
        }
        const picked = Array.from(
          { length: options.reads },
          (_, i) => `history/${1 + Math.floor((i * runs) / options.reads)}`,
        );
        const time = async () => {
          const ms = [];
          for (const runId of picked) {
            const started = performance.now();
            const jobs = await store.listJobs(runId);
            ms.push(performance.now() - started);
            if (jobs.length !== options.runJobs) throw new Error(`${runId}: ${jobs.length} jobs listed`);
          }
          return median(ms);
        };
        const saved = await entries.find({ _id: { $in: picked } }).toArray();
        const byId = await time();
        await entries.deleteMany({ _id: { $in: picked } });
        const byQuery = await time();
        if (saved.length > 0) await entries.insertMany(saved);
        rows.push({ history: runs * options.runJobs, byId, byQuery, entries: saved.length });
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
  const out = [
    `history: listJobs of a ${options.runJobs}-job run on FerretDB (files in ${options.ferretdbDir}), median of ${options.reads} runs across the history`,
    '  jobs stored    by _id (run_jobs)    by runId query (baseline)    ratio',
  ];
  for (const r of rows) {
    const note = r.entries === options.reads ? '' : `   (only ${r.entries} of ${options.reads} runs had an entry)`;
    out.push(
      `  ${String(r.history).padStart(11)}    ${r.byId.toFixed(1).padStart(14)} ms    ${r.byQuery.toFixed(1).padStart(22)} ms    ${(r.byQuery / r.byId).toFixed(1).padStart(5)}x${note}`,
    );
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(reportHistory(await benchHistory()));
}
