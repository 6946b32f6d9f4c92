import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { type CliCluster, expectOneErrorLine, runIdOf, startCliCluster } from './helpers/cli-cluster.js';
import { freePort } from './helpers/ferretdb.js';

const fixture = (name: string) => join(repoRoot, 'test/fixtures', name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hiveforge from the terminal against a running cluster (coordinator and agent processes on FerretDB)', () => {
  let cluster: CliCluster;
  let coordinator: CliCluster['coordinator'];
  let dir: string;
  let adminToken: string;
  /** Runs the CLI with a config directory and no HIVEFORGE_URL / HIVEFORGE_TOKEN unless given. */
  const cli = (args: string[], env?: Record<string, string>) => cluster.cli(args, { env });
  const json = <T>(args: string[], env?: Record<string, string>) => cluster.json<T>(args, env);

  beforeAll(async () => {
    cluster = await startCliCluster({ name: 'cli-cluster', agents: [{ name: 'cli-agent', capacity: 2 }] });
    ({ coordinator, dir, adminToken } = cluster);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('login checks the token first, then stores the coordinators and token in a 0600 file; calls rotate past a dead coordinator', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const env = { XDG_CONFIG_HOME: join(dir, 'login-config') };
    const path = join(dir, 'login-config/hiveforge/config.json');

    const refused = await cli(['login', coordinator.url, '--token', 'hfu_not-a-token'], env);
    expectOneErrorLine(refused, 'HF_UNAUTHENTICATED');
    expect(refused.stderr).toMatch(/hiveforge login URL --token T/);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);

    const r = await cli(['login', `${dead},${coordinator.url}`, '--token', adminToken], env);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ urls: [dead, coordinator.url], token: adminToken });

    // The first coordinator does not answer: the call goes to the next.
    const runs = await cli(['runs'], env);
    expect(runs.code, runs.stderr).toBe(0);

    // The environment overrides the file: the file's second coordinator is not tried.
    expectOneErrorLine(await cli(['runs'], { ...env, HIVEFORGE_URL: dead }), 'HF_COORDINATOR_UNAVAILABLE');
  });

  it('without a login, or with no coordinator answering, a command prints one HF_* line and exits 2', async () => {
    const none = await cli(['runs'], { XDG_CONFIG_HOME: join(dir, 'nobody') });
    expectOneErrorLine(none, 'HF_CONFIG');
    expect(none.stderr).toMatch(/run hiveforge login URL --token T/);

    const dead = `http://127.0.0.1:${await freePort()}`;
    const down = await cli(['agents'], { HIVEFORGE_URL: dead, HIVEFORGE_TOKEN: adminToken });
    expectOneErrorLine(down, 'HF_COORDINATOR_UNAVAILABLE');
    expect(down.stderr).toContain(dead);
    // Several coordinators, none answering: each was tried, the line names them all.
    const dead2 = `http://127.0.0.1:${await freePort()}`;
    const allDown = await cli(['trigger', 'cluster', '-i', 'greeting=x'], {
      HIVEFORGE_URL: `${dead},${dead2}`,
      HIVEFORGE_TOKEN: adminToken,
    });
    expectOneErrorLine(allDown, 'HF_COORDINATOR_UNAVAILABLE');
    expect(allDown.stderr).toContain(`at ${dead}, ${dead2} (ECONNREFUSED)`);

    const debug = await cli(['agents', '--debug'], { HIVEFORGE_URL: dead, HIVEFORGE_TOKEN: adminToken });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('deploy prints the new version and the job graph diff against the version it replaces', async () => {
    const first = await cli(['deploy', fixture('cluster/v1')]);
    expect(first.code, first.stderr).toBe(0);
    const v1 = /deployed cluster version (\w+) \(its first version\)/.exec(first.stdout)?.[1];
    expect(v1, first.stdout).toBeDefined();

    const second = await cli(['deploy', fixture('cluster/v2')]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`deployed cluster version \\w+ \\(replaces ${v1}\\)`));
    const diff = second.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean);
    expect(diff).toEqual(['+ lint', '+ package', '- test', '~ build: retries 0 → 1']);

    const again = await json<{ unchanged: boolean; diff: { added: string[] } }>(['deploy', fixture('cluster/v2')]);
    expect(again.unchanged).toBe(true);
    expect(again.diff.added).toEqual([]);
  });

  it('deploy of a pipeline with analysis errors prints them exactly as validate does, exits 1 and uploads nothing', async () => {
    const validate = await cli(['validate', fixture('cycle')]);
    const deploy = await cli(['deploy', fixture('cycle')]);
    expect(validate.code).toBe(1);
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toBe(validate.stderr);
    expect(deploy.stderr).toMatch(/HF_ANALYSIS_CYCLE/);
    const pipelines = await cli(['trigger', 'cycle']);
    expectOneErrorLine(pipelines, 'HF_NOT_FOUND');
  });

  it('trigger checks inputs against the declared ones before sending; an unknown pipeline is one line', async () => {
    const before = (await json<unknown[]>(['runs', 'cluster'])).length;
    const notNumber = await cli(['trigger', 'cluster', '--input', 'greeting=hi', '--input', 'count=many']);
    expectOneErrorLine(notNumber, 'HF_BAD_INPUT');
    expect(notNumber.stderr).toMatch(/input 'count' must be a number, not 'many'/);
    expect(notNumber.stderr).toMatch(/its inputs: greeting \(string, required\), count \(number, default 1\)/);

    const unknown = await cli(['trigger', 'cluster', '--input', 'greeting=hi', '--input', 'colour=red']);
    expectOneErrorLine(unknown, 'HF_BAD_INPUT');
    expect(unknown.stderr).toMatch(/no input 'colour'.*target \(one of staging\|production, default staging\)/);

    expectOneErrorLine(await cli(['trigger', 'cluster']), 'HF_BAD_INPUT');
    expectOneErrorLine(await cli(['trigger', 'cluster', '-i', 'greeting=x', '-i', 'target=moon']), 'HF_BAD_INPUT');
    const unknownPipeline = await cli(['trigger', 'no-such-pipeline']);
    expectOneErrorLine(unknownPipeline, 'HF_NOT_FOUND');
    // The hint names the pipelines there are.
    expect(unknownPipeline.stderr).toMatch(
      /no pipeline named 'no-such-pipeline' \(deployed: cluster; hiveforge deploy adds one\)/,
    );
    // Nothing was started by the refused triggers.
    expect((await json<unknown[]>(['runs', 'cluster'])).length).toBe(before);
  });

  it('trigger --follow prints prefixed logs with the typed inputs and exits 0 when the run succeeds', async () => {
    const r = await cli([
      'trigger',
      'cluster',
      '-i',
      'greeting=hello',
      '-i',
      'count=3',
      '-i',
      'target=production',
      '-f',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^build\s+\| GREETING=hello COUNT=3 TARGET=production$/m);
    expect(r.stdout).toMatch(/^package\s+\| PACKAGED$/m);
    const runId = /triggered run (cluster\/\d+)/.exec(r.stdout)?.[1] as string;
    expect(r.stdout).toContain(`run ${runId} succeeded`);

    const status = await json<{
      run: { status: string; trigger: { inputs: unknown } };
      jobs: { name: string; state: string; attempt: number }[];
    }>(['status', runId]);
    expect(status.run.status).toBe('succeeded');
    expect(status.run.trigger.inputs).toEqual({
      greeting: 'hello',
      count: 3,
      fail: false,
      sleep: 0,
      target: 'production',
    });
    expect(status.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
      ['build', 'succeeded', 1],
      ['lint', 'succeeded', 1],
      ['package', 'succeeded', 1],
    ]);
    const table = await cli(['status', runId]);
    expect(table.stdout).toMatch(/^build\s+succeeded\s+1\s+\S+/m);
  });

  it('trigger --follow exits 1 when the run fails; logs prints the finished job’s log of every attempt', async () => {
    const r = await cli(['trigger', 'cluster', '-i', 'greeting=x', '-i', 'fail=true', '--follow']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const runId = /triggered run (cluster\/\d+)/.exec(r.stdout)?.[1] as string;
    expect(r.stdout).toContain(`run ${runId} failed`);
    expect(r.stdout).toMatch(/^✗ build\s+\| failed .*\(attempt 2\)$/m);

    const logs = await cli(['logs', `${runId}/build`]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout.match(/^failing on purpose$/gm)).toHaveLength(2);
    expect(logs.stdout).toMatch(/── attempt 2 ──/);
    const chunks = await json<{ job: string; attempt: number }[]>(['logs', runId]);
    expect(new Set(chunks.map((c) => `${c.job}:${c.attempt}`))).toEqual(new Set(['build:1', 'build:2', 'lint:1']));
    expectOneErrorLine(await cli(['logs', `${runId}/nope`]), 'HF_BAD_INPUT');

    // retry RUN/JOB: a new run of that job (and what it needs) alone, followed to its end.
    const retried = await cli(['retry', `${runId}/lint`, '--follow']);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    expect(retried.stdout).toContain(`retrying run ${runId} job lint as run`);
    const again = await json<{ jobs: { name: string; state: string }[] }>([
      'status',
      runIdOf(retried.stdout, 'cluster'),
    ]);
    expect(again.jobs.map((j) => [j.name, j.state])).toEqual([['lint', 'succeeded']]);
    const before = (await json<unknown[]>(['runs', 'cluster'])).length;
    expectOneErrorLine(await cli(['retry', `${runId}/nope`]), 'HF_BAD_INPUT');
    expect((await json<unknown[]>(['runs', 'cluster'])).length).toBe(before);
  });

  it('cancel stops a running run (logs -f ends with it); retry starts the same version again as a new run', async () => {
    const started = await cli(['trigger', 'cluster', '-i', 'greeting=x', '-i', 'sleep=30']);
    expect(started.code, started.stderr).toBe(0);
    const runId = /triggered run (cluster\/\d+)/.exec(started.stdout)?.[1] as string;
    const follow = cli(['logs', '-f', `${runId}/build`]);
    for (let i = 0; !(await cli(['logs', `${runId}/build`])).stdout.includes('BUILD SLEEPING'); i++) {
      expect(i).toBeLessThan(60);
      await sleep(250);
    }
    const t0 = Date.now();
    const cancel = await cli(['cancel', runId]);
    expect(cancel.code, cancel.stderr).toBe(0);
    const followed = await follow;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(followed.code).toBe(1);
    expect(followed.stdout).toMatch(/BUILD SLEEPING/);
    expect((await json<{ run: { status: string } }>(['status', runId])).run.status).toBe('cancelled');

    const retried = await cli(['retry', runId]);
    expect(retried.code, retried.stderr).toBe(0);
    const newId = new RegExp(`retrying run ${runId} as run (cluster/\\d+)`).exec(retried.stdout)?.[1] as string;
    expect(newId).not.toBe(runId);
    const again = await json<{ run: { status: string; trigger: { inputs: { sleep: number } } } }>(['status', newId]);
    expect(again.run.trigger.inputs.sleep).toBe(30);
    expect((await cli(['cancel', newId])).code).toBe(0);
  });

  it('agents drain: the drained agent takes no new job until it is resumed; an agent that exited after --once is shown gone', async () => {
    type AgentRow = { _id: string; name: string; state: string; labels: string[]; disk: unknown; jobs: unknown[] };
    const agents = await json<AgentRow[]>(['agents', 'list']);
    const me = agents.find((a) => a.name === 'cli-agent') as AgentRow;
    expect(me.state).toBe('active');
    const table = await cli(['agents']);
    expect(table.stdout).toMatch(new RegExp(`^${me._id}\\s+cli-agent\\s+active\\s+-\\s+\\d+/2\\s+\\S+ ago\\s+`, 'm'));

    expect((await cli(['agents', 'drain', me._id])).stdout).toMatch(/is draining/);
    expect((await json<AgentRow[]>(['agents'])).find((a) => a._id === me._id)?.state).toBe('draining');
    // A pull already waiting when the drain was recorded may still take a job: let it end (--pull-wait 5s).
    await sleep(6_000);
    const started = await cli(['trigger', 'cluster', '-i', 'greeting=drained']);
    const runId = /triggered run (cluster\/\d+)/.exec(started.stdout)?.[1] as string;
    await sleep(2_000);
    const waiting = await json<{ jobs: { name: string; state: string }[] }>(['status', runId]);
    expect(waiting.jobs.find((j) => j.name === 'build')?.state).toBe('queued');

    // An agent run with --once takes one of them, runs it and exits: it is shown gone (with --all).
    const once = await cluster.startAgent('once-agent', { args: ['--once'] });
    await once.waitFor(/deregistered agent-/, 60_000);
    const all = await json<AgentRow[]>(['agents', '--all']);
    expect(all.find((a) => a.name === 'once-agent')?.state).toBe('gone');
    expect((await json<AgentRow[]>(['agents'])).some((a) => a.name === 'once-agent')).toBe(false);
    expect((await cli(['agents', '--all'])).stdout).toMatch(/^agent-\S+\s+once-agent\s+gone\s+/m);

    expect((await cli(['agents', 'resume', me._id])).code).toBe(0);
    const done = await cli(['logs', '-f', runId]);
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toMatch(/GREETING=drained/);
    expectOneErrorLine(await cli(['agents', 'drain', 'agent-nope']), 'HF_NOT_FOUND');
  });

  it('tokens: a created viewer token reads but cannot trigger; once revoked (or expired) it is refused at once', async () => {
    const created = await cli(['tokens', 'create', 'ci-bot', '--role', 'viewer']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^hfu_/);
    const id = /created token (\S+) 'ci-bot' \(viewer, never expires\)/.exec(created.stderr)?.[1] as string;
    const viewer = { XDG_CONFIG_HOME: join(dir, 'nobody'), HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: token };
    expect((await cli(['runs'], viewer)).code).toBe(0);
    expectOneErrorLine(await cli(['trigger', 'cluster', '-i', 'greeting=x'], viewer), 'HF_FORBIDDEN');

    const listed = await json<{ id: string; name: string; revokedAt: number | null }[]>(['tokens', 'list']);
    expect(listed.find((t) => t.id === id)).toMatchObject({ name: 'ci-bot', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(token);

    expect((await cli(['tokens', 'revoke', id])).code).toBe(0);
    const refused = await cli(['runs'], viewer);
    expectOneErrorLine(refused, 'HF_UNAUTHENTICATED');
    expect(refused.stderr).toMatch(/revoked/);

    const short = await cli(['tokens', 'create', 'brief', '--role', 'viewer', '--expires', '1s']);
    expect(short.code, short.stderr).toBe(0);
    const brief = { ...viewer, HIVEFORGE_TOKEN: short.stdout.trim() };
    await sleep(1_500);
    const expired = await cli(['runs'], brief);
    expectOneErrorLine(expired, 'HF_UNAUTHENTICATED');
    expect(expired.stderr).toMatch(/expired/);
  });
});
