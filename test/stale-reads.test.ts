import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { startFerretDB } from './helpers/ferretdb.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long `call` took, and what it answered or failed with. */
async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const at = Date.now();
  try {
    const value = await call();
    return { ms: Date.now() - at, value };
  } catch (error) {
    return { ms: Date.now() - at, error };
  }
}

const codeOf = (error: unknown) =>
  (error as { data?: { hiveforgeCode?: string; httpStatus?: number } } | undefined)?.data ?? null;

describe('reads during a store outage, real processes on FerretDB', () => {
  it('a followed run is answered from what the coordinator last saw, marked stale; an unknown run is the 503; fresh again once the store is back', async () => {
    await using ferret = await startFerretDB();
    const workDir = await mkdtemp(join(tmpdir(), 'hf-stale-'));
    await using _workDir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
    const services: ServiceProcess[] = [];
    await using _services = {
      [Symbol.asyncDispose]: async () => void (await Promise.all(services.map((s) => s.kill('SIGKILL')))),
    };
    const coordinator = await startCoordinatorProcess({
      mongodbUri: ferret.uri,
      database: 'stale',
      agentSecret,
      adminToken,
      leaseTtl: '8s',
      heartbeatInterval: '1s',
    });
    services.push(coordinator);
    services.push(
      await startAgentProcess({ urls: [coordinator.url], agentSecret, name: 'agent-0', workDir: join(workDir, 'a0') }),
    );
    const client = createUserClient(coordinator.url, adminToken);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/stale-reads/hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    expect(await client.pipelines.list.query()).toEqual([expect.not.objectContaining({ stale: expect.anything() })]);

    // Trigger and follow (runs.watch) until the job runs: only the watch reads the run.
    const run = await client.runs.trigger.mutate({ pipeline });
    let cursor: string | undefined;
    let lastSeen = 'queued';
    const followed = Date.now();
    while (lastSeen !== 'running') {
      const batch = await client.runs.watch.query({ runId: run._id, cursor, waitMs: 2_000 });
      cursor = batch.cursor;
      expect(batch.stale).toBeUndefined();
      for (const e of batch.events) if (e.type === 'job') lastSeen = e.state;
      if (Date.now() - followed > 30_000) throw new Error(`the job did not start within 30 s: ${lastSeen}`);
    }

    await ferret.kill();
    const stoppedAt = Date.now();
    // Asked every 100 ms from the stop: the first answers wait for the coordinator to find the
    // store out; from then on each answers at once, from what the watch last saw.
    const answers: Awaited<ReturnType<typeof timed>>[] = [];
    const summary = () =>
      answers
        .map((a) => `${a.value ? 'ok' : (codeOf(a.error)?.hiveforgeCode ?? (a.error as Error).message)}/${a.ms}ms`)
        .join(' ');
    type RunAnswer = Awaited<ReturnType<typeof client.runs.get.query>>;
    let stale: RunAnswer | undefined;
    while (!stale) {
      const answer = await timed(() => client.runs.get.query({ runId: run._id }));
      answers.push(answer);
      const value = answer.value as RunAnswer | undefined;
      if (value?.stale) stale = value;
      else if (Date.now() - stoppedAt > 15_000)
        throw new Error(`no stale answer within 15 s of the stop: ${summary()}`);
      else await sleep(100);
    }
    const firstStaleAfterMs = Date.now() - stoppedAt;
    expect(stale.run).toMatchObject({ _id: run._id, status: 'running' });
    expect(stale.jobs.map((j) => [j.name, j.state])).toEqual([['long', lastSeen]]);
    expect(stale.stale).toEqual({
      reason: 'store unavailable',
      since: expect.any(Number),
      seenAt: expect.any(Number),
    });
    expect(stale.stale?.since).toBeGreaterThanOrEqual(stoppedAt - 1_500);
    expect(stale.stale?.seenAt).toBeLessThanOrEqual(stoppedAt + 1_000);

    const again = await timed(() => client.runs.get.query({ runId: run._id }));
    const unknown = await timed(() => client.runs.get.query({ runId: 'stale-reads/999' }));
    const pipelines = await timed(() => client.pipelines.list.query());
    const watch = await timed(() => client.runs.watch.query({ runId: run._id, cursor, waitMs: 300 }));
    const cli = await runCli(['status', run._id], {
      env: { HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: adminToken, XDG_CONFIG_HOME: join(workDir, 'config') },
      timeoutMs: 30_000,
    });
    const readyz = await fetch(`${coordinator.url}/readyz`);
    const readyBody = (await readyz.json()) as Record<string, unknown>;
    console.info(
      `stale reads: first stale runs.get ${firstStaleAfterMs} ms after the stop; then runs.get ${again.ms} ms, ` +
        `unknown run ${unknown.ms} ms, pipelines.list ${pipelines.ms} ms, watch ${watch.ms} ms; ` +
        `answers from the stop: ${summary()}`,
    );
    // Found out within the store health's wait for a ping (3 s) and its interval (1 s); every read
    // after that answers at once.
    expect(firstStaleAfterMs).toBeLessThan(6_000);
    expect((again.value as RunAnswer | undefined)?.stale?.since).toBe(stale.stale?.since);
    expect(again.ms).toBeLessThan(1_000);
    // A run this coordinator never saw: the typed 503, at once.
    expect(codeOf(unknown.error)).toMatchObject({ hiveforgeCode: 'HF_STORE_UNAVAILABLE', httpStatus: 503 });
    expect(unknown.ms).toBeLessThan(1_000);
    const staleSince = { reason: 'store unavailable', since: stale.stale?.since, seenAt: expect.any(Number) };
    expect(pipelines.ms).toBeLessThan(1_000);
    expect(pipelines.value).toEqual([expect.objectContaining({ _id: pipeline, stale: staleSince })]);
    // The follow stays open: no events, the same cursor, marked stale.
    expect(watch.value).toMatchObject({ events: [], cursor, done: false, stale: staleSince });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(/^store unavailable since \d\d:\d\d:\d\dZ; showing what this coordinator last saw/m);
    expect(cli.stdout).toContain(`run ${run._id} running`);
    expect(cli.stdout).toMatch(new RegExp(`long\\s+\\S*\\s*${lastSeen}`));
    expect(readyz.status).toBe(503);
    expect(readyBody).toMatchObject({ ready: false, storeUnavailableSince: stale.stale?.since });
    expect((readyBody.readCache as { entries: number }).entries).toBeGreaterThan(0);

    await ferret.restart();
    // Once the store answers again every read is fresh: no stale marker, and the run moves on.
    const backAt = Date.now();
    let fresh = await client.runs.get.query({ runId: run._id }).catch(() => null);
    while (fresh?.run.status !== 'succeeded' && Date.now() - backAt < 60_000) {
      if (fresh) expect(fresh.stale).toBeUndefined();
      await sleep(250);
      fresh = await client.runs.get.query({ runId: run._id }).catch(() => null);
    }
    expect(fresh?.run.status, services.map((s) => s.output()).join('\n')).toBe('succeeded');
    expect(fresh?.stale).toBeUndefined();
    expect(await client.pipelines.list.query()).toEqual([expect.not.objectContaining({ stale: expect.anything() })]);
    const cliAfter = await runCli(['status', run._id], {
      env: { HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: adminToken, XDG_CONFIG_HOME: join(workDir, 'config') },
      timeoutMs: 30_000,
    });
    expect(cliAfter.stderr).not.toMatch(/store unavailable/);
    expect(cliAfter.stdout).toContain(`run ${run._id} succeeded`);
    expect((await fetch(`${coordinator.url}/readyz`)).status).toBe(200);
  }, 180_000);
});
