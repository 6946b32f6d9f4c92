import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { TEST_IMAGE, dockerForTests } from './helpers/docker.js';
import { jobLog } from './helpers/job-log.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The variables a line-per-variable dump (`PREFIX NAME=value`) names. */
const namesIn = (log: string, prefix: string) =>
  new Set([...log.matchAll(new RegExp(`^${prefix} ([A-Za-z_][A-Za-z0-9_]*)=`, 'gm'))].map((m) => m[1] as string));

/**
 * What each executor's commands may see besides the job's own variables: the shell's, and in a
 * container what the engine sets (HOSTNAME) and the image's own ENV; a container's PATH, HOME and
 * locale are its image's (`image` lists the job variables the image decides there).
 */
const engine = await dockerForTests();
const EXECUTORS = [
  { name: 'process', args: [] as string[], extra: ['PWD', 'SHLVL', '_', 'OLDPWD'], image: [] as string[] },
  ...(engine
    ? [
        {
          name: 'docker',
          args: ['--executor', 'docker', '--default-image', TEST_IMAGE],
          extra: ['PWD', 'SHLVL', '_', 'OLDPWD', 'HOSTNAME', 'HIVEFORGE_TEST_IMAGE'],
          image: ['LANG', 'LC_ALL'],
        },
      ]
    : []),
];

describe('the job environment (coordinator and agent processes)', () => {
  it.each(EXECUTORS)(
    "$name executor: a job's commands and body start from a clean environment: no agent credentials, only what is passed by name",
    async (executor) => {
      const agentSecret = randomBytes(16).toString('hex');
      const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
      const workDir = await mkdtemp(join(tmpdir(), 'hf-jobenv-'));
      await using _dir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
      await using coordinator = await startCoordinatorProcess({ agentSecret, adminToken });
      await using agent = await startAgentProcess({
        urls: [coordinator.url],
        agentSecret,
        name: 'env-agent',
        workDir,
        secretFrom: 'env',
        args: ['--pass-env', 'KEEP_ME', ...executor.args],
        env: { KEEP_ME: 'kept', DROP_ME: 'dropped', HIVEFORGE_ADMIN_TOKEN: adminToken },
      });
      const client = createUserClient(coordinator.url, adminToken);
      const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/job-env/hiveforge.ts'));
      const { pipeline } = await client.pipelines.deploy.mutate({
        entry: pkg.entry,
        files: pkg.files,
        bundle: pkg.bundle,
      });
      const run = await client.runs.trigger.mutate({ pipeline });
      for (let i = 0; (await client.runs.get.query({ runId: run._id })).run.status === 'running'; i++) {
        if (i > 300) throw new Error(`the run did not finish:\n${agent.output()}`);
        await sleep(100);
      }
      expect((await client.runs.get.query({ runId: run._id })).run.status).toBe('succeeded');
      const log = (await jobLog(client, { runId: run._id, job: 'env' })).map((c) => c.text).join('');

      const expected = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'CI', 'KEEP_ME', 'FROM_PIPELINE', 'HIVEFORGE'].concat(
        ['PIPELINE', 'RUN_ID', 'JOB', 'ATTEMPT'].map((n) => `HIVEFORGE_${n}`),
      );
      // The shell adds PWD, SHLVL and `_` (and a container its own, see EXECUTORS); nothing else may be there.
      const shell = namesIn(log, 'SHELL_ENV');
      expect([...shell].filter((n) => !executor.extra.includes(n)).sort()).toEqual(
        expected.filter((n) => !executor.image.includes(n)).sort(),
      );
      expect(shell.has('HIVEFORGE_AGENT_SECRET')).toBe(false);
      expect([...namesIn(log, 'BODY_ENV')].sort()).toEqual(expected.sort());
      expect(log).toMatch(/^SHELL_ENV KEEP_ME=kept$/m);
      expect(log).toMatch(/^BODY_ENV CI=true$/m);
      expect(log).not.toContain(agentSecret);
      expect(log).not.toContain(adminToken);
      expect(log).not.toMatch(/hfa_/);
      expect(log).not.toMatch(/dropped/);
    },
  );
});

describe('agent process hygiene', () => {
  it('an agent prints no MaxListenersExceededWarning over many pulls and heartbeats', async () => {
    const agentSecret = randomBytes(16).toString('hex');
    const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
    const workDir = await mkdtemp(join(tmpdir(), 'hf-listeners-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
    // Short heartbeats and pull waits: dozens of each within a few seconds.
    await using coordinator = await startCoordinatorProcess({
      agentSecret,
      adminToken,
      args: ['--heartbeat-interval', '50ms', '--pull-wait', '50ms'],
    });
    await using agent = await startAgentProcess({ urls: [coordinator.url], agentSecret, name: 'idle', workDir });
    await sleep(4_000);
    const agents = await createUserClient(coordinator.url, adminToken).agents.list.query();
    expect(agents).toHaveLength(1);
    expect(agent.output()).not.toMatch(/MaxListenersExceededWarning/);
    expect(agent.output()).not.toMatch(/Warning/);
  });
});
