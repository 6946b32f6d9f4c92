import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { type CliCluster, expectOneErrorLine, runIdOf, startCliCluster } from './helpers/cli-cluster.js';
import { leaks } from './helpers/secret-forms.js';

const fixture = join(repoRoot, 'test/fixtures/cluster-secrets');
const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
/**
 * Two lines, with characters that URL-encoding and JSON-escaping change, and a run of `~` whose
 * base64 has a `+` at every alignment, so that the URL-safe forms differ from the standard ones.
 */
const value = `s3cr3t/+ "quoted" é ~~~~~~~~~ ${randomBytes(8).toString('hex')}\nsecond-line ${randomBytes(6).toString('hex')}`;
const sha = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 16);
/**
 * The agents' own secrets, read from their environment (`--secret NAME`): AGENT_TOKEN, which a
 * job declares; DEPLOY_TOKEN, which the store's value of that name overrides; UNDECLARED_TOKEN,
 * which no job declares.
 */
const agentToken = `agent-${randomBytes(8).toString('hex')}`;
const ownSecrets = {
  args: ['--secret', 'AGENT_TOKEN', '--secret', 'DEPLOY_TOKEN', '--secret', 'UNDECLARED_TOKEN'],
  env: { AGENT_TOKEN: agentToken, DEPLOY_TOKEN: 'the-agents-own-deploy-token', UNDECLARED_TOKEN: 'undeclared-value' },
};

describe('secrets set through the CLI reach cluster jobs (coordinator and agent processes on FerretDB)', () => {
  let cluster: CliCluster;
  const cli = (args: string[], input?: string) => cluster.cli(args, { input });

  /** Starts a coordinator process on the cluster's database with these flags; resolves with its exit. */
  const coordinatorExit = (args: string[]) =>
    runCli(
      [
        'coordinator',
        '--port',
        '0',
        '--store',
        'mongodb',
        '--mongodb-uri',
        cluster.ferret.uri,
        '--mongodb-database',
        cluster.database,
        '--agent-secret',
        cluster.agentSecret,
        ...args,
      ],
      { timeoutMs: 60_000 },
    );

  /**
   * Triggers the pipeline with `args` through `env`'s coordinator, follows it; returns what was
   * followed and the logs of its `deploy` and `agent-own` jobs.
   */
  const runAndLog = async (args: string[] = [], env: Record<string, string> = cluster.admin) => {
    const run = await cluster.cli(['trigger', 'cluster-secrets', '--follow', ...args], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const runId = runIdOf(run.stdout, 'cluster-secrets');
    const logOf = async (job: string) => {
      const logs = await cluster.cli(['logs', `${runId}/${job}`], { env });
      expect(logs.code, logs.stderr).toBe(0);
      return logs.stdout;
    };
    return { followed: run.stdout + run.stderr, log: await logOf('deploy'), agentLog: await logOf('agent-own'), runId };
  };

  beforeAll(async () => {
    cluster = await startCliCluster({
      name: 'cli-secrets',
      coordinatorArgs: ['--secrets-key', oldKey],
      agents: [{ name: 'secrets-agent', ...ownSecrets }],
    });
    const deploy = await cli(['deploy', fixture]);
    expect(deploy.code, deploy.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('a multi-line secret set from stdin reaches the job masked in every form; lists and stored documents never hold it', async () => {
    const set = await cli(['secrets', 'set', 'DEPLOY_TOKEN'], `${value}\n`);
    expect(set.code, set.stderr).toBe(0);
    const { followed, log, agentLog } = await runAndLog();
    // The agent's own secret reaches the job that declares it, masked; one no job declares reaches none.
    expect(agentLog).toContain(`agent sha256 ${sha(agentToken)}`);
    expect(agentLog).toContain('undeclared absent');
    expect(agentLog).toContain('undeclared in the environment: absent');
    expect(followed).not.toContain(agentToken);
    expect(followed).not.toContain('undeclared-value');
    // The value arrived whole (its trailing newline dropped), the store's over the agent's own...
    expect(log).toContain(`sha256 ${sha(value)}`);
    // ...and every form of it, each of its lines and the split writes are masked, as followed and as stored.
    for (let i = 0; i < 10; i++) expect(log).toMatch(new RegExp(`^FORM ${i}: .*\\*\\*\\*`, 'm'));
    expect(log).toMatch(/^LINE 0: \*\*\*$/m);
    expect(log).toMatch(/^LINE 1: \*\*\*$/m);
    expect(log).toMatch(/^SPLIT: \*\*\*\n?\*?\*?\*? END$/m);
    expect(log).toMatch(/^shell \*\*\*$/m);
    expect(leaks(log, value)).toEqual([]);
    expect(leaks(followed, value)).toEqual([]);

    const listed = await cluster.json<{ name: string; pipeline: string | null }[]>(['secrets', 'list']);
    expect(listed.map(({ name, pipeline }) => ({ name, pipeline }))).toEqual([
      { name: 'DEPLOY_TOKEN', pipeline: null },
    ]);
    const table = await cli(['secrets', 'list']);
    expect(table.stdout).toMatch(/^DEPLOY_TOKEN\s+\(global\)\s+/m);
    expect(leaks(JSON.stringify(listed) + table.stdout, value)).toEqual([]);

    const mongo = await MongoClient.connect(cluster.ferret.uri);
    try {
      const db = mongo.db(cluster.database);
      expect(await db.collection('secrets').countDocuments()).toBe(1);
      // Every collection: the value is nowhere in clear (nor encoded), not in leases nor logs.
      for (const { name } of await db.listCollections().toArray()) {
        const text = JSON.stringify(await db.collection(name).find({}).toArray());
        expect(leaks(text, value), name).toEqual([]);
      }
    } finally {
      await mongo.close();
    }
  }, 120_000);

  it("trigger --fork: a fork pull request's run gets no value, and its job's log says so", async () => {
    const { log, agentLog, runId } = await runAndLog(['--fork']);
    expect(log).toContain('secret DEPLOY_TOKEN is not given to pull requests from forks');
    expect(log).toContain('no DEPLOY_TOKEN');
    expect(log).not.toContain('sha256');
    // Not the agent's own either.
    expect(agentLog).toContain('secret AGENT_TOKEN is not given to pull requests from forks');
    expect(agentLog).toContain('no AGENT_TOKEN');
    const status = await cluster.json<{ run: { trigger: { event: string; fork?: boolean } } }>(['status', runId]);
    expect(status.run.trigger).toMatchObject({ event: 'pullRequest', fork: true });
    expect((await cli(['runs', 'cluster-secrets'])).stdout).toMatch(
      new RegExp(`^${runId}\\s+succeeded\\s+pullRequest \\(fork\\)`, 'm'),
    );
    // --fork names a pull request's run: with another event it is refused before anything is sent.
    expectOneErrorLine(await cli(['trigger', 'cluster-secrets', '--fork', '--event', 'push']), 'HF_CONFIG');
  }, 120_000);

  it('a coordinator without the key, or with a wrong one, refuses to start while secrets are stored: one line, exit 2', async () => {
    const none = await coordinatorExit([]);
    expectOneErrorLine(none, 'HF_CONFIG');
    expect(none.stderr).toMatch(/holds 1 secret\(s\) but this coordinator has no secrets key/);
    expect(none.stdout).not.toMatch(/listening on/);

    const wrong = await coordinatorExit(['--secrets-key', randomBytes(32).toString('base64')]);
    expectOneErrorLine(wrong, 'HF_CONFIG');
    expect(wrong.stderr).toMatch(/cannot decrypt any of the 1 stored secret\(s\): DEPLOY_TOKEN\. Is it the key/);
    expect(wrong.stdout).not.toMatch(/listening on/);
  }, 120_000);

  it('rotation: with the new key and the old one as previous, old values still reach jobs and new ones are under the new key', async () => {
    const rotated = await cluster.startCoordinator(['--secrets-key', newKey, '--secrets-key-previous', oldKey]);
    // Leases come from the rotated coordinator only: its agent is the one left.
    await cluster.agents[0]?.kill('SIGKILL');
    await cluster.startAgent('rotated-agent', { urls: [rotated.url], ...ownSecrets });
    const env = { ...cluster.admin, HIVEFORGE_URL: rotated.url, HIVEFORGE_TOKEN: cluster.adminToken };
    expect((await runAndLog([], env)).log).toContain(`sha256 ${sha(value)}`);

    const newValue = `n3w-${randomBytes(12).toString('hex')}`;
    const set = await cluster.cli(['secrets', 'set', 'DEPLOY_TOKEN', '--pipeline', 'cluster-secrets'], {
      env,
      input: newValue,
    });
    expect(set.code, set.stderr).toBe(0);
    // The pipeline's own wins over the global one.
    expect((await runAndLog([], env)).log).toContain(`sha256 ${sha(newValue)}`);
    // The global value is still under the old key: the old key cannot be dropped yet.
    const dropped = await coordinatorExit(['--secrets-key', newKey]);
    expectOneErrorLine(dropped, 'HF_CONFIG');
    expect(dropped.stderr).toMatch(/cannot decrypt 1 of the 2 stored secret\(s\): DEPLOY_TOKEN\./);
  }, 180_000);
});
