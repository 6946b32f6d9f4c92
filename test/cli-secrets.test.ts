import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHiveForgeClient } from '@hiveforge/coordinator/client';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const fixture = join(repoRoot, 'test/fixtures/cluster-secrets');
const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
const value = `s3cr3t-${randomBytes(12).toString('hex')}`;
const sha = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 16);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('secrets set through the CLI reach cluster jobs (coordinator and agent processes on FerretDB)', () => {
  let ferret: FerretDB;
  const database = `hf_secrets_${process.pid}`;
  let coordinator: ServiceProcess & { url: string };
  let agent: ServiceProcess;
  let dir: string;
  let env: Record<string, string>;
  const started: ServiceProcess[] = [];

  const cli = (args: string[], input?: string) =>
    runCli(args, { env: { HIVEFORGE_URL: '', HIVEFORGE_TOKEN: '', ...env }, input, timeoutMs: 90_000 });
  const coordinatorWith = (keyArgs: string[]) =>
    startCoordinatorProcess({ mongodbUri: ferret.uri, database, agentSecret, adminToken, args: keyArgs });

  /** Runs the pipeline once through `coordinatorUrl` and returns its stored log of the `deploy` job. */
  const runAndLog = async (coordinatorUrl: string, trigger: { event?: 'pullRequest'; fork?: boolean } = {}) => {
    const client = createHiveForgeClient({ url: coordinatorUrl, token: adminToken });
    const run = await client.runs.trigger.mutate({ pipeline: 'cluster-secrets', ...trigger });
    for (let i = 0; i < 240; i++) {
      const { run: now } = await client.runs.get.query({ runId: run._id });
      if (now.status !== 'running') break;
      await sleep(250);
    }
    const logs = await runCli(['logs', `${run._id}/deploy`], {
      env: { HIVEFORGE_URL: coordinatorUrl, HIVEFORGE_TOKEN: adminToken },
    });
    expect(logs.code, logs.stderr).toBe(0);
    return logs.stdout;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-cli-secrets-'));
    ferret = await startFerretDB();
    coordinator = await coordinatorWith(['--secrets-key', oldKey]);
    agent = await startAgentProcess({
      urls: [coordinator.url],
      agentSecret,
      name: 'secrets-agent',
      workDir: join(dir, 'agent'),
    });
    env = { XDG_CONFIG_HOME: join(dir, 'config') };
    const login = await cli(['login', coordinator.url, '--token', adminToken]);
    expect(login.code, login.stderr).toBe(0);
    const deploy = await cli(['deploy', fixture]);
    expect(deploy.code, deploy.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const p of started) await p.kill('SIGKILL');
    await agent?.kill('SIGKILL');
    await coordinator?.kill('SIGKILL');
    await ferret?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a secret set from stdin reaches the job; its log shows only ***; lists and stored documents never hold the value', async () => {
    const set = await cli(['secrets', 'set', 'DEPLOY_TOKEN'], `${value}\n`);
    expect(set.code, set.stderr).toBe(0);
    const log = await runAndLog(coordinator.url);
    expect(log).toContain(`sha256 ${sha(value)}`);
    for (const line of ['raw ***', 'base64 ***', 'hex ***', 'shell ***']) expect(log).toContain(line);
    const b64 = Buffer.from(value).toString('base64');
    const hex = Buffer.from(value).toString('hex');
    for (const form of [value, b64, hex]) expect(log).not.toContain(form);

    const list = await cli(['secrets', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(listed.map(({ name, pipeline }) => ({ name, pipeline }))).toEqual([
      { name: 'DEPLOY_TOKEN', pipeline: null },
    ]);
    expect(list.stdout).not.toContain(value);
    expect((await cli(['secrets', 'list'])).stdout).not.toContain(value);

    const mongo = await MongoClient.connect(ferret.uri);
    try {
      const db = mongo.db(database);
      const docs = await db.collection('secrets').find({}).toArray();
      expect(docs).toHaveLength(1);
      // Every collection: the value is nowhere in clear (nor base64 or hex), not in leases nor logs.
      for (const { name } of await db.listCollections().toArray()) {
        const text = JSON.stringify(await db.collection(name).find({}).toArray());
        for (const form of [value, b64, hex]) expect(text, name).not.toContain(form);
      }
    } finally {
      await mongo.close();
    }
  }, 120_000);

  it("a fork pull request's job reads its secret as '', and its log says so", async () => {
    const log = await runAndLog(coordinator.url, { event: 'pullRequest', fork: true });
    expect(log).toContain('secret DEPLOY_TOKEN is not given to pull requests from forks');
    expect(log).toContain('no DEPLOY_TOKEN');
    expect(log).not.toContain('sha256');
  }, 120_000);

  it('a coordinator without the key refuses to start while secrets are stored', async () => {
    const r = await runCli(
      [
        'coordinator',
        '--port',
        '0',
        '--store',
        'mongodb',
        '--mongodb-uri',
        ferret.uri,
        '--mongodb-database',
        database,
        '--agent-secret',
        agentSecret,
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HF_CONFIG.*holds 1 secret\(s\) but this coordinator has no secrets key/);
    expect(r.stdout).not.toMatch(/listening on/);
  }, 90_000);

  it('rotation: with the new key and the old one as previous, old values still reach jobs and new ones are under the new key', async () => {
    await agent.kill('SIGKILL');
    const rotated = await coordinatorWith(['--secrets-key', newKey, '--secrets-key-previous', oldKey]);
    started.push(rotated);
    started.push(
      await startAgentProcess({
        urls: [rotated.url],
        agentSecret,
        name: 'rotated-agent',
        workDir: join(dir, 'agent2'),
      }),
    );
    expect(await runAndLog(rotated.url)).toContain(`sha256 ${sha(value)}`);

    const newValue = `n3w-${randomBytes(12).toString('hex')}`;
    const set = await runCli(['secrets', 'set', 'DEPLOY_TOKEN', '--pipeline', 'cluster-secrets'], {
      env: { HIVEFORGE_URL: rotated.url, HIVEFORGE_TOKEN: adminToken },
      input: newValue,
    });
    expect(set.code, set.stderr).toBe(0);
    // The pipeline's own wins over the global one.
    expect(await runAndLog(rotated.url)).toContain(`sha256 ${sha(newValue)}`);
  }, 180_000);
});
