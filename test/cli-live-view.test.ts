import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, createProcessExecutor } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { cliBin, jobLines, repoRoot, runCli } from './helpers/cli.js';
import { jobLog } from './helpers/job-log.js';

const fixture = join(repoRoot, 'test/fixtures/live-view');
const count = (text: string, what: string) => text.split(what).length - 1;

/** Runs `hiveforge ARGS` under a pseudo-terminal (util-linux `script`), with color on; resolves with all it wrote. */
function runInTerminal(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, cliBin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', COLUMNS: '120' };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hiveforge under a terminal timed out:\n${output}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** What a terminal shows at the end of `output`: applies line clears, cursor-up and erase-below. */
function finalScreen(output: string): string[] {
  const screen: string[] = [];
  let row = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  const tokens = output.split(/(\x1b\[[0-9;]*[A-Za-z]|\r\n|\n|\r)/);
  for (const t of tokens) {
    if (!t) continue;
    if (t === '\n' || t === '\r\n') row++;
    else if (t === '\r') continue;
    else if (t.startsWith('\x1b[')) {
      const n = Number(t.slice(2, -1) || '1');
      const op = t.at(-1);
      if (op === 'A') row = Math.max(0, row - n);
      else if (op === 'K') screen[row] = '';
      else if (op === 'J') screen.length = row;
    } else screen[row] = (screen[row] ?? '') + t;
  }
  return screen.slice(0, row).map((l) => l ?? '');
}

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
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
    const plainOutput = r.output.replace(/\x1b\[[0-9;]*m/g, '');
    // The block showed each job's state as it went.
    expect(plainOutput).toMatch(/· after-grouped\s+waiting/);
    expect(plainOutput).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] broken\s+running\s+\d/);
    expect(plainOutput).toMatch(/✓ grouped\s+succeeded\s+\d/);
    expect(plainOutput).toMatch(/✗ broken\s+failed\s+\d/);
    // The final screen: the log (groups folded), no block, then the summary.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
    const screen = finalScreen(r.output.replace(/\x1b\[[0-9;]*m/g, ''));
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
