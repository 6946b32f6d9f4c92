import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, createProcessExecutor } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobLines, repoRoot, runCli } from './helpers/cli.js';
import { type CliCluster, runIdOf, startCliCluster } from './helpers/cli-cluster.js';
import { jobLog } from './helpers/job-log.js';
import { finalScreen, runInTerminal, withoutColor } from './helpers/terminal.js';

const fixture = join(repoRoot, 'test/fixtures/live-view');
const count = (text: string, what: string) => text.split(what).length - 1;

describe('following a run reads well', () => {
  it('folds log groups into a titled section and prints a failed command’s stderr once (not a terminal)', async () => {
    const r = await runCli(['run', fixture]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(jobLines(r.stdout, 'grouped')).toEqual(
      expect.arrayContaining(['▸ Install deps', '  inside-the-group', 'after-the-group']),
    );
    expect(count(r.stdout, '▸ Install deps')).toBe(1);
    expect(r.stdout).not.toContain('::group::');
    expect(r.stdout).not.toContain('::endgroup::');
    expect(count(r.stdout, 'stderr-42-once')).toBe(1);
    expect(jobLines(r.stdout, 'broken')).toContain(
      'HF_EXEC: command exited with status 4: sleep 0.5; echo stderr-$((6*7))-once >&2; exit 4',
    );
    // No terminal: no status block, no cursor movement.
    expect(r.stdout).not.toContain('\x1b[');
    expect(r.stdout).toMatch(/^broken\s+failed\s+1\s+/m);
  });

  it('keeps a failed command’s stderr tail in job.error while its log has the stderr once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-live-view-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    const store = createMemoryStore();
    await using _store = { [Symbol.asyncDispose]: () => store.close() };
    await using coordinator = await createCoordinator({ store, agentSecret: 'a-secret-for-tests', schedules: false });
    const client = createUserClient(coordinator.url, await createUserToken(store, { name: 'root', role: 'admin' }));
    const pkg = await packagePipeline(join(fixture, 'hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    await using agent = createAgent({
      url: coordinator.url,
      registrationSecret: 'a-secret-for-tests',
      capacity: 3,
      workDir: dir,
      executor: createProcessExecutor(),
    });
    const running = agent.run();
    const run = await client.runs.trigger.mutate({ pipeline });
    let cursor: string | undefined;
    for (;;) {
      const batch = await client.runs.watch.query({ runId: run._id, cursor, waitMs: 5_000 });
      cursor = batch.cursor;
      if (batch.done) break;
    }
    const { jobs } = await client.runs.get.query({ runId: run._id });
    const broken = jobs.find((j) => j.name === 'broken');
    expect(broken?.state).toBe('failed');
    expect(broken?.exitCode).toBe(4);
    expect(broken?.error).toMatch(/command exited with status 4: .*\nstderr-42-once/);
    const log = (await jobLog(client, { runId: run._id, job: 'broken' })).map((c) => c.text).join('');
    expect(count(log, 'stderr-42-once')).toBe(1);
    expect(log).toContain('command exited with status 4');
    await agent.stop();
    await running;
  }, 30_000);

  it('draws a live status block on a terminal and replaces it with the summary', async () => {
    const r = await runInTerminal(['run', fixture]);
    expect(r.code, r.output).toBe(1);
    // Redrawn in place: cursor up over the three-line block, lines cleared.
    expect(r.output).toContain('\x1b[3A\r');
    expect(r.output).toContain('\x1b[2K');
    const plainOutput = withoutColor(r.output);
    // The block showed each job's state as it went.
    expect(plainOutput).toMatch(/· after-grouped\s+waiting/);
    expect(plainOutput).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] broken\s+running\s+\d/);
    expect(plainOutput).toMatch(/✓ grouped\s+succeeded\s+\d/);
    expect(plainOutput).toMatch(/✗ broken\s+failed\s+\d/);
    // The final screen: the log (groups folded), no block, then the summary.
    const screen = finalScreen(r.output);
    const text = screen.join('\n');
    expect(text).toMatch(/^grouped\s+\| ▸ Install deps$/m);
    expect(text).toMatch(/^grouped\s+\| {3}inside-the-group$/m);
    expect(count(text, 'stderr-42-once')).toBe(1);
    // The block is gone (a block line has no `|`; the log's end lines do).
    expect(text).not.toMatch(/^. (grouped|broken|after-grouped)\s+[a-z]/m);
    expect(text).toMatch(/^✗ broken\s+\| failed in /m);
    expect(text).toMatch(/^JOB\s+STATUS\s+ATTEMPT\s+DURATION/m);
    expect(text).toMatch(/^grouped\s+succeeded\s+1\s+/m);
    expect(text).toMatch(/^broken\s+failed\s+1\s+/m);
    expect(text).toMatch(/^after-grouped\s+succeeded\s+1\s+/m);
    expect(screen.at(-1)).toMatch(/^run live-view\/1 failed in /);
  });

  it('--plain prints prefixed lines on a terminal too', async () => {
    const r = await runInTerminal(['run', fixture, '--plain']);
    expect(r.code, r.output).toBe(1);
    // No redraw: no line clears, no erase below.
    expect(r.output).not.toContain('\x1b[2K');
    expect(r.output).not.toContain('\x1b[J');
    expect(r.output).toContain('▸ Install deps');
  });
});

describe('following a cluster run on a terminal (coordinator and agent processes on FerretDB)', () => {
  let cluster: CliCluster;
  beforeAll(async () => {
    cluster = await startCliCluster({ name: 'cli-live', agents: [{ name: 'live-agent', capacity: 3 }] });
    for (const dir of ['live-view', 'cluster/v2']) {
      const deployed = await cluster.cli(['deploy', join(repoRoot, 'test/fixtures', dir)]);
      expect(deployed.code, deployed.stderr).toBe(0);
    }
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('trigger --follow draws the live block, folds groups, prints stderr once, and ends with the summary (exit 1)', async () => {
    const r = await runInTerminal(['trigger', 'live-view', '--follow'], { env: cluster.admin, timeoutMs: 90_000 });
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('\x1b[3A\r');
    expect(r.output).toContain('\x1b[2K');
    const drawn = withoutColor(r.output);
    expect(drawn).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] broken\s+(running|starting)/);
    expect(drawn).toMatch(/✓ grouped\s+succeeded\s+\d/);
    const text = finalScreen(r.output).join('\n');
    expect(text).toMatch(/^grouped\s+\| ▸ Install deps$/m);
    expect(text).toMatch(/^grouped\s+\| {3}inside-the-group$/m);
    expect(text).not.toContain('::group::');
    expect(count(text, 'stderr-42-once')).toBe(1);
    // The block is gone; the summary replaced it.
    expect(text).not.toMatch(/^. (grouped|broken|after-grouped)\s+[a-z]/m);
    expect(text).toMatch(/^✗ broken\s+\| failed in /m);
    expect(text).toMatch(/^JOB\s+STATUS\s+ATTEMPT\s+DURATION/m);
    expect(text).toMatch(/^broken\s+failed\s+1\s+/m);
    expect(text).toMatch(new RegExp(`^run ${runIdOf(text, 'live-view')} failed in `, 'm'));
  }, 120_000);

  it("logs -f RUN/JOB of a running job draws that job's line, its log unprefixed, and exits with the job's status", async () => {
    const started = await cluster.cli(['trigger', 'cluster', '-i', 'greeting=live', '-i', 'sleep=5']);
    expect(started.code, started.stderr).toBe(0);
    const runId = runIdOf(started.stdout, 'cluster');
    const r = await runInTerminal(['logs', '-f', `${runId}/build`], { env: cluster.admin, timeoutMs: 90_000 });
    expect(r.code, r.output).toBe(0);
    const drawn = withoutColor(r.output);
    // One job, one line: redrawn in place (cursor up one line) with its spinner while it runs.
    expect(r.output).toContain('\x1b[1A\r');
    expect(drawn).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] build\s+running\s+\d/);
    expect(drawn).not.toMatch(/\b(lint|package)\s+(queued|running|succeeded)/);
    const text = finalScreen(r.output).join('\n');
    expect(text).toMatch(/^GREETING=live COUNT=1 TARGET=staging$/m);
    expect(text).toMatch(/^BUILD SLEEPING$/m);
    expect(text).not.toMatch(/^. build\s+(running|succeeded)/m);

    // --plain: the same log, without the block.
    const plain = await runInTerminal(['logs', '-f', `${runId}/build`, '--plain'], { env: cluster.admin });
    expect(plain.code, plain.output).toBe(0);
    expect(plain.output).not.toContain('\x1b[2K');
    expect(plain.output).toContain('BUILD SLEEPING');
  }, 120_000);
});
