import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';
import { jobLog } from './helpers/job-log.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long the store is out: half the default outage limit (120 s), four lease TTLs. */
const OUTAGE_MS = 60_000;

/** One GET of `/readyz`: its status (0 when no answer came in 5 s). */
async function readyz(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

/** The numbers of the lines `prefix NNN` in `text`, in the order they appear. */
const numbered = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((m) => Number(m[1]));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * A 50-job run on three coordinators and three agents over FerretDB, with the store out for
 * 60 s while three jobs keep printing: `outage` takes the store out, `recover` brings it back.
 */
async function runThroughOutage(outage: (ferret: FerretDB) => Promise<() => Promise<void>>) {
  await using ferret = await startFerretDB();
  const workDir = await mkdtemp(join(tmpdir(), 'hf-outage-long-'));
  await using _workDir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
  const services: ServiceProcess[] = [];
  await using _services = {
    [Symbol.asyncDispose]: async () => void (await Promise.all(services.map((s) => s.kill('SIGKILL')))),
  };
  // A lease TTL of 15 s, a heartbeat every second: the outage is four TTLs, so every lease held
  // when the store goes looks long expired when it comes back. (Not shorter: on a loaded 2-core
  // machine a heartbeat or a completion on FerretDB can take several seconds, and a lease must
  // not be lost for that alone, outage or not.)
  const coordinators = [];
  for (let i = 0; i < 3; i++) {
    const c = await startCoordinatorProcess({
      mongodbUri: ferret.uri,
      database: 'outage',
      agentSecret,
      adminToken,
      leaseTtl: '15s',
      heartbeatInterval: '1s',
    });
    services.push(c);
    coordinators.push(c);
  }
  const urls = coordinators.map((c) => c.url);
  const agents: ServiceProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const agent = await startAgentProcess({
      urls: [...urls.slice(i), ...urls.slice(0, i)],
      agentSecret,
      name: `agent-${i}`,
      workDir: join(workDir, `agent-${i}`),
      capacity: 3,
    });
    services.push(agent);
    agents.push(agent);
  }
  const client = createUserClient(urls[0] as string, adminToken);
  const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/outage/hiveforge.ts'));
  const { pipeline } = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });

  const started = Date.now();
  const run = await client.runs.trigger.mutate({ pipeline });
  // The store goes once the chatty jobs run and some steps are done, most still to come.
  let doneAtOutage = 0;
  for (;;) {
    const { jobs } = await client.runs.get.query({ runId: run._id });
    doneAtOutage = jobs.filter((j) => j.state === 'succeeded').length;
    const chattyRunning = jobs.filter((j) => j.name.startsWith('chatty') && j.state === 'running').length;
    if (chattyRunning === 3 && doneAtOutage >= 6) break;
    if (Date.now() - started > 60_000) throw new Error(`the run did not get going within 60 s: ${doneAtOutage} done`);
    await sleep(100);
  }
  const recover = await outage(ferret);
  const outAt = Date.now();
  // While the store is out: every coordinator says it is not ready, and a read of the run
  // answers at once (from what the coordinator holds, or as HF_STORE_UNAVAILABLE), never hangs.
  const readinessDuring: number[] = [];
  const readsDuring: { ms: number; outcome: string }[] = [];
  while (Date.now() - outAt < OUTAGE_MS) {
    if (Date.now() - outAt > 5_000) {
      readinessDuring.push(...(await Promise.all(urls.map(readyz))));
      const at = Date.now();
      const outcome = await client.runs.get.query({ runId: run._id }, { signal: AbortSignal.timeout(10_000) }).then(
        (r) => `run ${r.run.status}`,
        (e: { data?: { hiveforgeCode?: string }; message?: string }) => e.data?.hiveforgeCode ?? String(e.message),
      );
      readsDuring.push({ ms: Date.now() - at, outcome });
    }
    await sleep(2_000);
  }
  await recover();
  const backAt = Date.now();

  const deadline = Date.now() + 90_000;
  let final = await client.runs.get.query({ runId: run._id }).catch(() => null);
  while (final?.run.status !== 'succeeded' && final?.run.status !== 'failed' && Date.now() < deadline) {
    await sleep(500);
    final = await client.runs.get.query({ runId: run._id }).catch(() => null);
  }
  const readinessAfter = await Promise.all(urls.map(readyz));
  console.info(
    `long store outage: out at ${outAt - started} ms, back at ${backAt - started} ms, run over at ${Date.now() - started} ms, ` +
      `${doneAtOutage} jobs done at the outage; reads during it: ${readsDuring.map((r) => `${r.outcome}/${r.ms}ms`).join(' ')}`,
  );

  const outputs = () => services.map((s) => s.output()).join('\n');
  expect(doneAtOutage).toBeLessThan(30);
  expect(final?.run.status, outputs()).toBe('succeeded');
  expect(final?.jobs).toHaveLength(50);
  // Every job ran once, as its one attempt: the attempt started once (its fingerprint is recorded
  // before its body runs) and succeeded. A lease decided as the store died and never recorded on
  // its job (the pull's reply was lost, and its resend answered with another job) is leased again
  // as the same attempt, never as a second one.
  const attempts = await Promise.all(
    (final?.jobs ?? []).map(async (j) => ({
      job: j.name,
      attempts: await client.runs.attempts.query({ runId: run._id, job: j.name }),
    })),
  );
  const ranTwice = attempts.filter((a) => a.attempts.filter((x) => x.fingerprint !== null).length !== 1);
  expect.soft(ranTwice, outputs()).toEqual([]);
  const notOnce = attempts
    .filter((a) => a.attempts.length !== 1 || a.attempts[0]?.status !== 'succeeded')
    .map((a) => `${a.job}: ${a.attempts.map((x) => `${x.attempt} ${x.status} ${x.cause ?? ''}`).join(', ')}`);
  expect.soft(notOnce, outputs()).toEqual([]);
  expect.soft((final?.jobs ?? []).filter((j) => j.attempt !== 1).map((j) => j.name)).toEqual([]);
  // The attempts leased again that way, through a later lease round (a run hits it now and then).
  const mongo = new MongoClient(ferret.uri);
  await using _mongo = { [Symbol.asyncDispose]: () => mongo.close() };
  const rounds = await mongo
    .db('outage')
    .collection<{ _id: string }>('decisions')
    .find({ _id: { $regex: '/lease:[0-9]+$' } })
    .toArray();
  console.info(`attempts leased again after a lease never recorded: ${rounds.map((d) => d._id).join(', ') || 'none'}`);

  // Every log line is stored once, in order: chunks follow each other byte for byte, and the
  // numbered lines count up without a gap or a repeat.
  for (const job of final?.jobs ?? []) {
    const chunks = await jobLog(client, { runId: run._id, job: job.name, attempt: job.attempt });
    let offset = 0;
    for (const [i, c] of chunks.entries()) {
      expect({ job: job.name, seq: c.seq, offset: c.offset }).toEqual({ job: job.name, seq: i, offset });
      offset += Buffer.byteLength(c.text);
    }
    const text = chunks.map((c) => c.text).join('');
    // Matrix instances are named `chatty[n=0]`, `step[i=12]`.
    const instance = Number(/=(\d+)\]$/.exec(job.name)?.[1]);
    if (job.name.startsWith('chatty')) {
      const n = instance;
      const lines = n === 0 ? 80_000 : 8_000;
      const got = numbered(text, new RegExp(`^chatty-${n} (\\d{7}) `, 'gm'));
      expect.soft(got.length, job.name).toBe(lines);
      expect
        .soft(
          got.every((v, i) => v === i),
          `${job.name}: lines out of order or repeated`,
        )
        .toBe(true);
      // The job printed on its clock through the outage: its output never had to wait.
      const lag = Number(new RegExp(`^chatty-${n} printed ${lines} lines, lag (\\d+) ms$`, 'm').exec(text)?.[1]);
      expect.soft(lag, `${job.name} was held up by its log`).toBeLessThan(5_000);
    } else if (job.name.startsWith('step')) {
      const i = instance;
      expect.soft(numbered(text, new RegExp(`^step-${i} line (\\d+)$`, 'gm')), job.name).toEqual(range(40));
    }
  }

  // Each coordinator said it was not ready while the store was out, and is ready again.
  expect(readinessDuring.length).toBeGreaterThan(30);
  expect.soft(readinessDuring.filter((s) => s !== 503)).toEqual([]);
  expect(readinessAfter).toEqual([200, 200, 200]);
  // Reads during the outage answered within a few seconds, none hung until the store came back.
  expect(readsDuring.length).toBeGreaterThan(10);
  expect
    .soft(readsDuring.filter((r) => r.ms > 3_000 || !/^(run running|HF_STORE_UNAVAILABLE)$/.test(r.outcome)))
    .toEqual([]);
}

describe('a 60 s store outage, real processes on FerretDB', () => {
  it('SIGSTOP of the store for 60 s mid-run: the 50-job run succeeds, every job runs once, every log line is stored once, in order', async () => {
    await runThroughOutage(async (ferret) => {
      process.kill(ferret.pid, 'SIGSTOP');
      return async () => void process.kill(ferret.pid, 'SIGCONT');
    });
  }, 240_000);

  it('SIGKILL of the store and a restart on the same files after 60 s: the same', async () => {
    await runThroughOutage(async (ferret) => {
      await ferret.kill();
      return () => ferret.restart();
    });
  }, 240_000);
});
