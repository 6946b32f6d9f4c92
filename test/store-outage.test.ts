import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { startFerretDB } from './helpers/ferretdb.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET of `/readyz`: its status (0 when no answer came in 5 s) and how long it took. */
async function readyz(url: string): Promise<{ status: number; ms: number; at: number }> {
  const at = Date.now();
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    await res.text();
    return { status: res.status, ms: Date.now() - at, at };
  } catch {
    return { status: 0, ms: Date.now() - at, at };
  }
}

describe('a store outage, real processes on FerretDB', () => {
  it('SIGKILL of the store for 10 s mid-run: the 120-job run succeeds, no job runs twice, /readyz answers 503 within 1 s meanwhile', async () => {
    await using ferret = await startFerretDB();
    const workDir = await mkdtemp(join(tmpdir(), 'hf-outage-'));
    await using _workDir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
    const services: ServiceProcess[] = [];
    await using _services = {
      [Symbol.asyncDispose]: async () => void (await Promise.all(services.map((s) => s.kill('SIGKILL')))),
    };
    // The outage (10 s) is longer than the lease TTL (8 s): every lease held when the store dies
    // looks expired when it comes back. (A heartbeat every second, and a TTL a little above the
    // default: on a loaded 2-core machine a heartbeat on FerretDB takes seconds, and leases must
    // not expire for that alone.)
    const start = () =>
      startCoordinatorProcess({
        mongodbUri: ferret.uri,
        database: 'outage',
        agentSecret,
        adminToken,
        leaseTtl: '8s',
        heartbeatInterval: '1s',
      });
    const first = await start();
    services.push(first);
    const second = await start();
    services.push(second);
    const urls = [first.url, second.url];
    for (let i = 0; i < 3; i++) {
      const agent = await startAgentProcess({
        urls: i % 2 ? [...urls].reverse() : urls,
        agentSecret,
        name: `agent-${i}`,
        workDir: join(workDir, `agent-${i}`),
        capacity: 2,
      });
      services.push(agent);
    }
    const client = createUserClient(first.url, adminToken);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/fanout/hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    expect((await readyz(first.url)).status).toBe(200);

    const started = Date.now();
    const run = await client.runs.trigger.mutate({ pipeline });
    let succeededAtKill = 0;
    for (;;) {
      const { jobs } = await client.runs.get.query({ runId: run._id });
      succeededAtKill = jobs.filter((j) => j.state === 'succeeded').length;
      if (succeededAtKill >= 15) break;
      if (Date.now() - started > 60_000) throw new Error('15 of the 120 jobs did not succeed within 60 s');
      await sleep(100);
    }

    await ferret.kill();
    const killedAt = Date.now();
    // Ask both coordinators whether they are ready, every 250 ms, for the 10 s the store is down.
    const asked: Promise<{ status: number; ms: number; at: number }>[] = [];
    while (Date.now() - killedAt < 10_000) {
      asked.push(...urls.map(readyz));
      await sleep(250);
    }
    const answers = await Promise.all(asked);
    await ferret.restart();
    const restartedAt = Date.now();

    const deadline = Date.now() + 120_000;
    let final = await client.runs.get.query({ runId: run._id }).catch(() => null);
    while (final?.run.status !== 'succeeded' && final?.run.status !== 'failed' && Date.now() < deadline) {
      await sleep(500);
      final = await client.runs.get.query({ runId: run._id }).catch(() => null);
    }
    console.info(
      `store outage: killed at ${killedAt - started} ms, back at ${restartedAt - started} ms, run over at ${Date.now() - started} ms; ` +
        `/readyz during the outage: ${answers.map((a) => `${a.status}/${a.ms}ms`).join(' ')}`,
    );
    const afterOutage = await Promise.all(urls.map(readyz));

    // The store died mid-run, with most of the jobs still to run.
    expect(succeededAtKill).toBeLessThan(60);
    expect(final?.run.status, services.map((s) => s.output()).join('\n')).toBe('succeeded');
    expect(final?.jobs).toHaveLength(120);
    expect(final?.jobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    // No job ran twice: no lease an agent held and kept renewing was declared lost because of
    // the outage, so each job reached an agent once. (An attempt whose lease was decided but not
    // recorded when the store died was never told to an agent; it is declared lost after its
    // TTL and the job runs as attempt 2, once.)
    const leasedTimes = new Map<string, number>();
    for (const agent of services.slice(2))
      for (const [, job] of agent.output().matchAll(/leased (\S+) attempt \d+/g))
        leasedTimes.set(job as string, (leasedTimes.get(job as string) ?? 0) + 1);
    expect(leasedTimes.size).toBe(120);
    expect([...leasedTimes].filter(([, times]) => times !== 1)).toEqual([]);
    // Once the dead store's connections are noticed (well within a second), every answer is a
    // prompt 503; none hangs.
    const settled = answers.filter((a) => a.at - killedAt >= 1_000);
    expect(settled.length).toBeGreaterThan(20);
    expect(settled.filter((a) => a.status !== 503 || a.ms >= 1_000)).toEqual([]);
    expect(afterOutage.map((a) => a.status)).toEqual([200, 200]);
  }, 240_000);
});
