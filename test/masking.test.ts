import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { repoRoot, runCli } from './helpers/cli.js';
import { ferretDBForSuite } from './helpers/ferretdb-suite.js';
import { jobLog } from './helpers/job-log.js';
import { leaks } from './helpers/secret-forms.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fixture = join(repoRoot, 'test/fixtures/masking');

describe('masking, end to end', () => {
  it('hiveforge run: a declared multi-line secret never reaches the output in any form, split writes included', async () => {
    const secret = `first line s3cr+t/é "q"\nsecond ${randomBytes(6).toString('hex')}`;
    const r = await runCli(['run', fixture, '--job', 'declared', '--secret', `TOKEN=${secret}`]);
    expect(r.code).toBe(1);
    for (const marker of ['FORM 0: ***', 'SPLIT: ***\n', '*** END', 'CONSOLE: ***', 'failing with ***']) {
      expect(r.stdout).toContain(marker);
    }
    expect(leaks(r.stdout + r.stderr, secret)).toEqual([]);
  });

  describe('on a MongoDB-wire store', () => {
    const ferret = ferretDBForSuite();

    it("the agent's registration secret, read by a job, is masked in its log, error, attempts, outputs and stored decisions", () =>
      ferret.withDatabase('hf_masking', async ({ uri, dbName }) => {
        const agentSecret = `agent s3cr+t/é "q" ${randomBytes(8).toString('hex')}`;
        const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
        const workDir = await mkdtemp(join(tmpdir(), 'hf-masking-'));
        await using _dir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
        await using coordinator = await startCoordinatorProcess({
          mongodbUri: uri,
          database: dbName,
          agentSecret,
          adminToken,
        });
        await using agent = await startAgentProcess({ urls: [coordinator.url], agentSecret, name: 'masking', workDir });
        const client = createUserClient(coordinator.url, adminToken);
        const pkg = await packagePipeline(join(fixture, 'hiveforge.ts'));
        const { pipeline } = await client.pipelines.deploy.mutate({
          entry: pkg.entry,
          files: pkg.files,
          bundle: pkg.bundle,
        });
        const run = await client.runs.trigger.mutate({ pipeline, only: ['credentials'] });
        for (let i = 0; (await client.runs.get.query({ runId: run._id })).run.status === 'running'; i++) {
          if (i > 300) throw new Error(`the run did not finish:\n${agent.output()}`);
          await sleep(100);
        }
        const got = await client.runs.get.query({ runId: run._id });
        const attempts = await client.runs.attempts.query({ runId: run._id, job: 'credentials' });
        const log = (await jobLog(client, { runId: run._id, job: 'credentials' })).map((c) => c.text).join('');
        expect(got.jobs[0]?.state).toBe('failed');
        expect(got.jobs[0]?.error).toMatch(/failing with \*\*\*/);
        expect(attempts[0]?.error).toMatch(/failing with \*\*\*/);
        expect(got.jobs[0]?.outputs).toEqual({ raw: '***', encoded: '***' });
        expect(log).toContain('SPLIT: *** END');
        expect(log).toContain('FORM 8: {"secret":"***"}');
        // What the store holds of the job: its decisions and its record.
        const mongo = await MongoClient.connect(uri);
        try {
          const db = mongo.db(dbName);
          const decisions = await db.collection('decisions').find({}).toArray();
          const jobs = await db.collection('jobs').find({}).toArray();
          expect(JSON.stringify(decisions)).toMatch(/failing with \*\*\*/);
          const everything = JSON.stringify({ got, attempts, decisions, jobs }) + log;
          expect(leaks(everything, agentSecret)).toEqual([]);
        } finally {
          await mongo.close();
        }
      }));
  });
});
