import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { ferretDBForSuite } from './helpers/ferretdb-suite.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('drain and suspend reach a pull already waiting, through another coordinator (real processes, FerretDB)', () => {
  const ferret = ferretDBForSuite();
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'hf-drain-'));
  });
  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  for (const action of ['drain', 'suspend'] as const) {
    it(
      `an agent whose pull waits on coordinator A, ${action}ed through coordinator B, takes no job of a run triggered right after`,
      () =>
        ferret.withDatabase('hf_drain', async ({ uri, dbName }) => {
          // A long pull wait: a pull that checked its agent only when it began would still be
          // waiting, and would take the job.
          const coordinator = () =>
            startCoordinatorProcess({
              mongodbUri: uri,
              database: dbName,
              agentSecret,
              adminToken,
              args: ['--pull-wait', '30s'],
            });
          await using a = await coordinator();
          await using b = await coordinator();
          const client = createUserClient(b.url, adminToken);
          const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
          const { pipeline } = await client.pipelines.deploy.mutate({
            entry: pkg.entry,
            files: pkg.files,
            bundle: pkg.bundle,
          });
          await using waiting = await startAgentProcess({
            urls: [a.url],
            agentSecret,
            name: 'waiting',
            workDir: join(workDir, dbName, 'waiting'),
          });
          const agentId = (await client.agents.list.query()).find((x) => x.name === 'waiting')?._id as string;
          // Its first pull is under way on A, waiting for a job.
          await sleep(1_000);
          await client.agents[action].mutate({ agentId });
          const run = await client.runs.trigger.mutate({ pipeline });
          const triggeredAt = Date.now();
          // Well within the pull wait: the waiting pull has looked at the queue several times
          // (every second at least, and when the trigger's wake-up reaches A).
          while (Date.now() - triggeredAt < 4_000) {
            const { jobs } = await client.runs.get.query({ runId: run._id });
            expect(jobs.map((j) => [j.name, j.state, j.agentId])).toEqual([
              ['build', 'queued', null],
              ['test', 'waiting', null],
            ]);
            await sleep(250);
          }
          expect(waiting.output()).not.toMatch(/leased/);
          // Another agent takes the run's jobs.
          await using other = await startAgentProcess({
            urls: [b.url],
            agentSecret,
            name: 'other',
            workDir: join(workDir, dbName, 'other'),
          });
          const otherId = (await client.agents.list.query()).find((x) => x.name === 'other')?._id;
          const deadline = Date.now() + 30_000;
          for (;;) {
            const { run: now, jobs } = await client.runs.get.query({ runId: run._id });
            if (now.status !== 'running') {
              expect(now.status).toBe('succeeded');
              expect(jobs.map((j) => j.agentId)).toEqual([otherId, otherId]);
              break;
            }
            if (Date.now() > deadline) throw new Error(`run ${run._id} did not finish within 30 s`);
            await sleep(250);
          }
          expect(other.output()).toMatch(/leased/);
          expect(waiting.output()).not.toMatch(/leased/);
        }),
      90_000,
    );
  }
});
