import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentClient, errorCodeOf } from '@hiveforge/agent';
import { createUserClient, packagePipeline } from 'hiveforge';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';
import { jobLog } from './helpers/job-log.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stateless coordinators on a MongoDB-wire server (FerretDB), real processes', () => {
  let ferret: FerretDB;
  let mongo: MongoClient;
  let workDir: string;

  beforeAll(async () => {
    ferret = await startFerretDB();
    mongo = await MongoClient.connect(ferret.uri);
    workDir = await mkdtemp(join(tmpdir(), 'hf-failover-'));
  });

  afterAll(async () => {
    await mongo?.close();
    await ferret?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /**
   * What one test runs on: a database of its own, coordinators on it, and the agents the test
   * starts. Disposing of it kills them all and drops the database, so no test inherits another's
   * agents, runs or jobs, whether it passed or not.
   */
  interface Cluster extends AsyncDisposable {
    readonly database: string;
    readonly coordinators: (ServiceProcess & { url: string })[];
    readonly urls: string[];
    startAgent(options: { name: string; urls?: string[]; capacity?: number }): Promise<ServiceProcess>;
  }

  const startCluster = async (coordinatorCount: number): Promise<Cluster> => {
    const database = `failover_${randomUUID().slice(0, 8)}`;
    const coordinators: (ServiceProcess & { url: string })[] = [];
    const agents: ServiceProcess[] = [];
    const dispose = async () => {
      await Promise.all([...agents, ...coordinators].map((p) => p.kill('SIGKILL')));
      await mongo.db(database).dropDatabase();
    };
    try {
      const start = () => startCoordinatorProcess({ mongodbUri: ferret.uri, database, agentSecret, adminToken });
      // The first creates the collections and indexes; the others then start side by side.
      coordinators.push(await start());
      coordinators.push(...(await Promise.all(Array.from({ length: coordinatorCount - 1 }, start))));
    } catch (error) {
      await dispose();
      throw error;
    }
    const urls = coordinators.map((c) => c.url);
    return {
      database,
      coordinators,
      urls,
      async startAgent({ name, urls: agentUrls = urls, capacity }) {
        const agent = await startAgentProcess({
          urls: agentUrls,
          agentSecret,
          name,
          workDir: join(workDir, database, name),
          capacity,
        });
        agents.push(agent);
        return agent;
      },
      [Symbol.asyncDispose]: dispose,
    };
  };

  const deploy = async (url: string, fixture: string) => {
    const client = createUserClient(url, adminToken);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures', fixture, 'hiveforge.ts'));
    const deployed = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    return { client, pipeline: deployed.pipeline };
  };

  /** Polls the run through any of `urls` (some may be dead) until it is no longer running. */
  const waitForRun = async (urls: string[], runId: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const url of urls) {
        try {
          const { run, jobs } = await createUserClient(url, adminToken).runs.get.query({ runId });
          if (run.status !== 'running') return { run, jobs };
          break;
        } catch {}
      }
      if (Date.now() > deadline) throw new Error(`run ${runId} did not finish in ${timeoutMs} ms`);
      await sleep(1_000);
    }
  };

  it('SIGKILL of one of three coordinators mid-run loses no job and completes none twice', async () => {
    await using cluster = await startCluster(3);
    const { urls } = cluster;
    const agents: ServiceProcess[] = [];
    for (let i = 0; i < 4; i++) {
      const rotated = [...urls.slice(i % 3), ...urls.slice(0, i % 3)];
      agents.push(await cluster.startAgent({ name: `agent-${i}`, urls: rotated, capacity: 2 }));
    }
    const { client, pipeline } = await deploy(urls[1] as string, 'wide');
    const started = Date.now();
    const run = await client.runs.trigger.mutate({ pipeline });
    // Let a quarter of the jobs finish, then kill the coordinator agents 0 and 3 talk to first.
    for (;;) {
      const { jobs } = await client.runs.get.query({ runId: run._id });
      if (jobs.filter((j) => j.state === 'succeeded').length >= 50) break;
      if (Date.now() - started > 120_000) throw new Error('50 of the 202 jobs did not succeed within 120 s');
      await sleep(1_000);
    }
    const killedAt = Date.now();
    await cluster.coordinators[0]?.kill('SIGKILL');
    const { run: final, jobs } = await waitForRun(urls.slice(1), run._id, 120_000);
    console.info(
      `wide run: 202 jobs in ${Date.now() - started} ms (50 before the SIGKILL at ${killedAt - started} ms)`,
    );

    expect(final.status).toBe('succeeded');
    expect(jobs).toHaveLength(202);
    expect(jobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    // Every job has exactly one successful attempt end; no attempt ended twice.
    const ends = await mongo
      .db(cluster.database)
      .collection<{ _id: string; data: { kind: string; result: { status: string } } }>('decisions')
      .find({ _id: { $regex: `^job:${run._id.replace('/', '\\/')}/.*/end$` } })
      .toArray();
    const succeeded = new Map<string, number>();
    for (const end of ends) {
      const job = end._id.replace(/^job:/, '').replace(/\/attempt:\d+\/end$/, '');
      if (end.data.kind === 'completed' && end.data.result.status === 'succeeded')
        succeeded.set(job, (succeeded.get(job) ?? 0) + 1);
    }
    expect(succeeded.size).toBe(202);
    expect([...succeeded.values()].every((n) => n === 1)).toBe(true);
    // Agents that talked to the dead coordinator moved on and kept working.
    expect(agents[0]?.output()).toMatch(/finished .* succeeded/);
  }, 200_000);

  it('SIGKILL of an agent mid-job: the job is retried as attempt 2 on another agent after the lease expires', async () => {
    await using cluster = await startCluster(2);
    const { urls } = cluster;
    const first = await cluster.startAgent({ name: 'doomed' });
    const { client, pipeline } = await deploy(urls[0] as string, 'slow');
    const run = await client.runs.trigger.mutate({ pipeline });
    await first.waitFor(/leased .*slow attempt 1/);
    // Kill it once its first log line is stored, so that the line is there to look for below.
    const shipped = Date.now() + 15_000;
    const logsOf = async () =>
      (await jobLog(client, { runId: run._id, job: 'slow' })).map((l) => `${l.attempt}:${l.text}`).join('');
    while (!/1:SLOW attempt 1/.test(await logsOf()) && Date.now() < shipped) await sleep(100);
    await first.kill('SIGKILL');
    const killedAt = Date.now();
    const second = await cluster.startAgent({ name: 'survivor', urls: [...urls].reverse() });
    await second.waitFor(/leased .*slow attempt 2/, 20_000);
    console.info(`agent SIGKILL: attempt 2 leased ${Date.now() - killedAt} ms after the kill`);
    const { run: final, jobs } = await waitForRun(urls, run._id, 30_000);
    expect(final.status).toBe('succeeded');
    expect(jobs[0]).toMatchObject({ state: 'succeeded', attempt: 2, lostAttempts: 1 });
    expect(second.output()).toMatch(/finished .*slow attempt 2: succeeded/);
    const logs = await logsOf();
    expect(logs).toMatch(/1:SLOW attempt 1/);
    expect(logs).toMatch(/2:SLOW done 2/);
    expect(logs).not.toMatch(/SLOW done 1/);
    // Both attempts, from their decisions: the lost one on the dead agent, the retry on the other.
    const agentIds = new Map((await client.agents.list.query()).map((a) => [a.name, a._id]));
    expect(await client.runs.attempts.query({ runId: run._id, job: 'slow' })).toMatchObject([
      { attempt: 1, agentId: agentIds.get('doomed'), status: 'failed', cause: 'agent_lost', retried: true },
      {
        attempt: 2,
        agentId: agentIds.get('survivor'),
        status: 'succeeded',
        cause: 'exit',
        exitCode: 0,
        retried: false,
      },
    ]);
  }, 90_000);

  it("a lost attempt is fenced: its late logs, heartbeat and completion are rejected while attempt 2's stands", async () => {
    await using cluster = await startCluster(2);
    const { urls } = cluster;
    const { client, pipeline } = await deploy(urls[0] as string, 'slow');
    // A protocol-level agent over real HTTP that leases the job and then goes silent.
    let token: string | undefined;
    const ghost = createAgentClient({ url: urls[0] as string, token: () => token });
    token = (await ghost.agent.register.mutate({ secret: agentSecret, name: 'ghost', labels: [], capacity: 1 })).token;
    const run = await client.runs.trigger.mutate({ pipeline });
    const { lease } = await ghost.agent.pull.mutate({ requestId: randomUUID(), waitMs: 5_000 });
    expect(lease?.attempt).toBe(1);
    const survivor = await cluster.startAgent({ name: 'takes-over' });
    await survivor.waitFor(/leased .*slow attempt 2/, 20_000);

    const rejected = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => null,
        (e: unknown) => e,
      );
      return errorCodeOf(error);
    };
    const jobId = lease?.jobId as string;
    expect(
      await rejected(ghost.agent.logs.mutate({ jobId, attempt: 1, chunks: [{ seq: 0, offset: 0, text: 'late\n' }] })),
    ).toBe('HF_FENCED');
    const beat = await ghost.agent.heartbeat.mutate({ leases: [{ jobId, attempt: 1 }], disk: null });
    expect(beat.leases[`${jobId}#1`]).toBe('lost');
    const { run: final, jobs } = await waitForRun(urls, run._id, 30_000);
    expect(
      await rejected(
        ghost.agent.complete.mutate({
          jobId,
          attempt: 1,
          result: { status: 'failed', exitCode: 1, error: 'late', outputs: {} },
        }),
      ),
    ).toBe('HF_FENCED');
    expect(final.status).toBe('succeeded');
    expect(jobs[0]).toMatchObject({ state: 'succeeded', attempt: 2 });
    const logs = await jobLog(client, { runId: run._id, job: 'slow' });
    expect(logs.map((l) => l.text).join('')).not.toMatch(/late/);
  }, 90_000);
});
