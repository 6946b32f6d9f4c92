import { API_VERSION, type JobSpec, type PipelineSpec } from '@hiveforge/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeAccessContract } from './contract-access.js';
import { describeSecretsContract } from './contract-secrets.js';
import type {
  AgentRecord,
  EventRecord,
  JobRecord,
  LogChunkRecord,
  QueuedJobsQuery,
  RunTrigger,
  ScheduleRecord,
  Store,
} from './types.js';

/** A manual trigger with no inputs, for tests. */
export function makeManualTrigger(): RunTrigger {
  return { event: 'manual', branch: null, commit: null, repository: null, inputs: {}, actor: null };
}

/** A pipeline spec of these jobs, with no triggers and nothing else, for tests. */
export function makePipelineSpec(name: string, jobs: JobSpec[] = []): PipelineSpec {
  return {
    apiVersion: API_VERSION,
    name,
    triggers: { push: null, pullRequest: null, schedule: [], manual: null },
    strictImages: false,
    env: {},
    images: [],
    jobs,
    source: null,
  };
}

/** A job spec with defaults, for tests. */
export function makeJobSpec(name: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name,
    job: name,
    matrix: null,
    needs: [],
    image: null,
    labels: [],
    env: {},
    secrets: [],
    timeoutMs: 60_000,
    retries: 0,
    diskBytes: null,
    if: null,
    concurrency: null,
    resources: null,
    user: null,
    source: null,
    ...overrides,
  };
}

/** A job record with defaults, for contract tests. */
export function makeJob(runId: string, name: string, overrides: Partial<JobRecord> = {}): JobRecord {
  const spec = makeJobSpec(name);
  return {
    _id: `${runId}/${name}`,
    runId,
    name,
    spec,
    state: 'queued',
    attempt: 1,
    readyAt: 1,
    agentId: null,
    leaseExpiresAt: null,
    leasedAt: null,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    cause: null,
    error: null,
    outputs: {},
    lostAttempts: 0,
    ...overrides,
  };
}

/** A log chunk of attempt 1 of `jobId` (run `r`), at offset `seq`. */
export function makeLogChunk(jobId: string, seq: number, text: string): LogChunkRecord {
  return { _id: `${jobId}#1#${seq}`, jobId, runId: 'r', attempt: 1, seq, offset: seq, text, at: 0 };
}

/**
 * The contract every Store adapter keeps. Run it against each adapter:
 * `describeStoreContract('memory', () => createMemoryStore())`.
 */
export function describeStoreContract(name: string, factory: () => Promise<Store> | Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('the first insert of a decision wins and later ones read the winner', async () => {
      const first = await store.decide('job:x/attempt:1/lease', { agentId: 'a' });
      const second = await store.decide('job:x/attempt:1/lease', { agentId: 'b' });
      expect(first.won).toBe(true);
      expect(second.won).toBe(false);
      expect(second.decision.data).toEqual({ agentId: 'a' });
      expect((await store.getDecision('job:x/attempt:1/lease'))?.data).toEqual({ agentId: 'a' });
    });

    it('concurrent decisions on one id have exactly one winner', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.decide('race', { i })));
      expect(results.filter((r) => r.won)).toHaveLength(1);
      const winner = results.find((r) => r.won)?.decision.data;
      for (const r of results) expect(r.decision.data).toEqual(winner);
    });

    it('what a caller holds cannot change what is stored', async () => {
      const inserted = makeJob('p/1', 'a');
      await store.insertJobs([inserted]);
      inserted.state = 'running';
      const job = await store.getJob('p/1/a');
      if (!job) throw new Error('missing');
      // A returned record is a copy or frozen: either way the stored one stays as it was.
      try {
        job.state = 'failed';
        job.outputs.x = 'y';
      } catch {}
      expect((await store.getJob('p/1/a'))?.state).toBe('queued');
      expect((await store.getJob('p/1/a'))?.outputs).toEqual({});
    });

    it('an insert of jobs with one stored already inserts none, unless told to keep those stored', async () => {
      await store.insertJobs([makeJob('p/1', 'a', { readyAt: 1 })]);
      await store.updateJob('p/1/a', { outputs: { kept: 'yes' } });
      const batch = [makeJob('p/1', 'a', { readyAt: 1 }), makeJob('p/1', 'b', { readyAt: 2 })];
      await expect(store.insertJobs(batch)).rejects.toMatchObject({ code: 'HF_CONFLICT' });
      expect(await store.getJob('p/1/b')).toBeNull();
      await expect(
        store.insertJobs([makeJob('p/1', 'c'), makeJob('p/1', 'c')], { keepExisting: true }),
      ).rejects.toMatchObject({ code: 'HF_CONFLICT' });
      expect(await store.getJob('p/1/c')).toBeNull();
      // Finishing an insert a process died in: the stored job stays as it is, the rest is added,
      // in order, and queued.
      await store.insertJobs(batch, { keepExisting: true });
      await store.insertJobs(batch, { keepExisting: true });
      expect((await store.listJobs('p/1')).map((j) => [j.name, j.outputs])).toEqual([
        ['a', { kept: 'yes' }],
        ['b', {}],
      ]);
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['a', 'b']);
    });

    it('a guarded update applies only while its guard holds', async () => {
      await store.insertJobs([makeJob('p/1', 'a')]);
      expect(await store.updateJob('p/1/a', { state: 'leased' }, { states: ['queued'], attempt: 1 })).toBe(true);
      expect(await store.updateJob('p/1/a', { state: 'leased', agentId: 'late' }, { states: ['queued'] })).toBe(false);
      expect(await store.updateJob('p/1/a', { state: 'running' }, { attempt: 2 })).toBe(false);
      const job = await store.getJob('p/1/a');
      expect(job?.state).toBe('leased');
      expect(job?.agentId).toBeNull();
    });

    it('queued jobs come oldest-ready first and leave the queue when leased', async () => {
      await store.insertJobs([
        makeJob('p/1', 'new', { readyAt: 30 }),
        makeJob('p/1', 'old', { readyAt: 10 }),
        makeJob('p/1', 'mid', { readyAt: 20 }),
      ]);
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['old', 'mid', 'new']);
      await store.updateJob('p/1/old', { state: 'leased' });
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['mid', 'new']);
      expect((await store.findQueuedJobs(1)).map((j) => j.name)).toEqual(['mid']);
    });

    it('queued jobs that `skip` names are passed over and do not count against the limit', async () => {
      await store.insertJobs([
        makeJob('p/1', 'a', { readyAt: 1 }),
        makeJob('p/1', 'b', { readyAt: 2 }),
        makeJob('p/1', 'c', { readyAt: 3 }),
        makeJob('p/1', 'd', { readyAt: 4 }),
      ]);
      const asked: string[] = [];
      const skip = (jobId: string, attempt: number) => {
        asked.push(`${jobId}#${attempt}`);
        return jobId === 'p/1/a' || jobId === 'p/1/c';
      };
      expect((await store.findQueuedJobs(2, { skip })).map((j) => j.name)).toEqual(['b', 'd']);
      expect(asked).toEqual(expect.arrayContaining(['p/1/a#1', 'p/1/c#1']));
      expect((await store.findQueuedJobs(1, { labels: [], skip: () => true })).map((j) => j.name)).toEqual([]);
      // Skipping is by attempt: the next attempt of a skipped one is not skipped.
      await store.updateJob('p/1/a', { attempt: 2 });
      const skipFirst = (jobId: string, attempt: number) => jobId === 'p/1/a' && attempt === 1;
      expect((await store.findQueuedJobs(1, { skip: skipFirst })).map((j) => `${j.name}#${j.attempt}`)).toEqual([
        'a#2',
      ]);
    });

    it('queued jobs can start at the n-th oldest eligible one, wrapping around to the oldest', async () => {
      await store.insertJobs(['a', 'b', 'c', 'd'].map((name, i) => makeJob('p/1', name, { readyAt: i + 1 })));
      const names = async (limit: number, query: QueuedJobsQuery) =>
        (await store.findQueuedJobs(limit, query)).map((j) => j.name);
      expect(await names(2, { startAt: 1 })).toEqual(['b', 'c']);
      expect(await names(4, { startAt: 2 })).toEqual(['c', 'd', 'a', 'b']);
      // Counted among the eligible jobs only, modulo their number.
      expect(await names(2, { startAt: 1, skip: (id) => id === 'p/1/a' })).toEqual(['c', 'd']);
      expect(await names(3, { startAt: 5 })).toEqual(['b', 'c', 'd']);
      expect(await names(1, { startAt: 7, skip: (id) => id !== 'p/1/c' })).toEqual(['c']);
    });

    it('queued jobs can be filtered by the labels an agent has', async () => {
      const labelled = (name: string, labels: string[], readyAt: number) => {
        const job = makeJob('p/1', name, { readyAt });
        return { ...job, spec: { ...job.spec, labels } };
      };
      await store.insertJobs([
        labelled('gpu', ['linux', 'gpu'], 1),
        labelled('any', [], 2),
        labelled('linux', ['linux'], 3),
        labelled('waiting', [], 0),
      ]);
      await store.updateJob('p/1/waiting', { state: 'waiting' });
      expect((await store.findQueuedJobs(10, { labels: ['linux'] })).map((j) => j.name)).toEqual(['any', 'linux']);
      expect((await store.findQueuedJobs(1, { labels: ['linux'] })).map((j) => j.name)).toEqual(['any']);
      expect((await store.findQueuedJobs(10, { labels: ['gpu', 'linux', 'arm'] })).map((j) => j.name)).toEqual([
        'gpu',
        'any',
        'linux',
      ]);
      expect((await store.findQueuedJobs(10, { labels: [] })).map((j) => j.name)).toEqual(['any']);
      // Back in the queue as the next attempt.
      await store.updateJob('p/1/waiting', { state: 'queued', readyAt: 0, attempt: 2 }, { states: ['waiting'] });
      expect((await store.findQueuedJobs(10, { labels: [] })).map((j) => `${j.name}#${j.attempt}`)).toEqual([
        'waiting#2',
        'any#1',
      ]);
    });

    it('a renewal extends the lease of the current attempt only, and changes nothing else', async () => {
      await store.insertJobs([
        makeJob('p/1', 'a', { state: 'running', agentId: 'ag', leaseExpiresAt: 100, startedAt: 5 }),
        makeJob('p/1', 'b', { state: 'queued' }),
      ]);
      expect(await store.renewLease('p/1/a', 1, 300)).toBe(true);
      expect(await store.renewLease('p/1/a', 1, 200)).toBe(true);
      expect(await store.getJob('p/1/a')).toMatchObject({ state: 'running', leaseExpiresAt: 300, startedAt: 5 });
      // Without the lease's expiry: the rest is the same.
      const { leaseExpiresAt: _, ...rest } = (await store.getJob('p/1/a')) as JobRecord;
      expect(await store.getJob('p/1/a', { lease: false })).toMatchObject(rest);
      expect((await store.listJobs('p/1')).find((j) => j.name === 'a')?.leaseExpiresAt).toBe(300);
      expect(await store.findExpiredLeases(250, 10)).toEqual([]);
      expect((await store.findExpiredLeases(350, 10)).map((j) => [j.name, j.leaseExpiresAt])).toEqual([['a', 300]]);
      expect((await store.findJobsOfAgent('ag')).map((j) => j.leaseExpiresAt)).toEqual([300]);
      // Not the current attempt, not leased or running, or no such job: refused.
      expect(await store.renewLease('p/1/a', 2, 400)).toBe(false);
      expect(await store.renewLease('p/1/b', 1, 400)).toBe(false);
      expect(await store.renewLease('p/1/none', 1, 400)).toBe(false);
      expect((await store.getJob('p/1/b'))?.leaseExpiresAt).toBeNull();
      // The attempt ends: its renewals are over, and the next attempt starts afresh.
      const retry = { state: 'queued', attempt: 2, agentId: null, leaseExpiresAt: null } as const;
      expect(await store.updateJob('p/1/a', retry, { attempt: 1 })).toBe(true);
      expect(await store.renewLease('p/1/a', 1, 500)).toBe(false);
      expect(await store.getJob('p/1/a')).toMatchObject({ state: 'queued', attempt: 2, leaseExpiresAt: null });
      const lease = { state: 'leased', agentId: 'ag', leaseExpiresAt: 150 } as const;
      expect(await store.updateJob('p/1/a', lease, { states: ['queued'], attempt: 2 })).toBe(true);
      expect((await store.getJob('p/1/a'))?.leaseExpiresAt).toBe(150);
      expect((await store.findExpiredLeases(250, 10)).map((j) => [j.name, j.attempt])).toEqual([['a', 2]]);
    });

    it('a job leased, running, then retried moves between the queue and the active leases', async () => {
      await store.insertJobs([makeJob('p/1', 'a', { readyAt: 5 })]);
      const lease = { state: 'leased', agentId: 'ag', leasedAt: 6, leaseExpiresAt: 100 } as const;
      expect(await store.updateJob('p/1/a', lease, { states: ['queued'], attempt: 1 })).toBe(true);
      expect(await store.findQueuedJobs(10)).toEqual([]);
      expect(
        await store.updateJob('p/1/a', { state: 'running', startedAt: 7 }, { states: ['leased'], attempt: 1 }),
      ).toBe(true);
      expect(
        await store.updateJob('p/1/a', { leaseExpiresAt: 200 }, { states: ['leased', 'running'], attempt: 1 }),
      ).toBe(true);
      expect((await store.findJobsOfAgent('ag')).map((j) => j.state)).toEqual(['running']);
      expect(await store.findExpiredLeases(150, 10)).toEqual([]);
      expect((await store.findExpiredLeases(250, 10)).map((j) => j.leaseExpiresAt)).toEqual([200]);
      const retry = { state: 'queued', attempt: 2, readyAt: 9, agentId: null, leaseExpiresAt: null } as const;
      expect(await store.updateJob('p/1/a', retry, { states: ['leased', 'running'], attempt: 1 })).toBe(true);
      expect(await store.findExpiredLeases(250, 10)).toEqual([]);
      expect(await store.findJobsOfAgent('ag')).toEqual([]);
      expect((await store.findQueuedJobs(10)).map((j) => `${j.name}#${j.attempt}`)).toEqual(['a#2']);
      // A late writer of attempt 1 is refused.
      expect(await store.updateJob('p/1/a', { state: 'running' }, { states: ['leased'], attempt: 1 })).toBe(false);
      expect((await store.getJob('p/1/a'))?.state).toBe('queued');
    });

    it('finds expired leases of leased and running jobs only', async () => {
      await store.insertJobs([
        makeJob('p/1', 'expired', { state: 'running', leaseExpiresAt: 100, agentId: 'a' }),
        makeJob('p/1', 'fresh', { state: 'leased', leaseExpiresAt: 1_000, agentId: 'a' }),
        makeJob('p/1', 'done', { state: 'succeeded', leaseExpiresAt: 100 }),
      ]);
      expect((await store.findExpiredLeases(500, 10)).map((j) => j.name)).toEqual(['expired']);
      expect((await store.findJobsOfAgent('a')).map((j) => j.name).sort()).toEqual(['expired', 'fresh']);
    });

    it('log chunks are idempotent on resend and read back in order', async () => {
      const chunk = (seq: number, attempt = 1) => ({
        _id: `j#${attempt}#${seq}`,
        jobId: 'j',
        runId: 'r',
        attempt,
        seq,
        offset: seq * 2,
        text: `${attempt}.${seq}`,
        at: 0,
      });
      expect(await store.appendLogChunks([chunk(1), chunk(0)])).toBe(2);
      expect(await store.appendLogChunks([chunk(1), chunk(2), chunk(0, 2)])).toBe(2);
      expect((await store.readLogChunks('j')).map((c) => c.text)).toEqual(['1.0', '1.1', '1.2', '2.0']);
      expect((await store.readLogChunks('j', { attempt: 1, seq: 1 })).map((c) => c.text)).toEqual(['1.2', '2.0']);
    });

    it('log chunks round-trip large, compressible, incompressible and unicode text exactly', async () => {
      const chunk = (seq: number, text: string) => makeLogChunk('big', seq, text);
      let random = 7;
      const next = () => {
        random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
        return random;
      };
      const texts = [
        'npm ci: added 1234 packages in 3s\n'.repeat(2_000),
        // Code points from all over the BMP and beyond: next to nothing to compress.
        Array.from({ length: 20_000 }, () => String.fromCodePoint(0x4e00 + (next() % 0x5000))).join(''),
        Array.from({ length: 5_000 }, () => String.fromCharCode(0x21 + (next() % 94))).join(''),
        'héllo wörld ✓ 日本語 🚀 \u0000 tab\t\r\n'.repeat(300),
        'short ✓',
        '',
      ];
      expect(await store.appendLogChunks(texts.map((text, i) => chunk(i, text)))).toBe(texts.length);
      // A resend of the same chunks is dropped, however they were stored.
      expect(await store.appendLogChunks(texts.map((text, i) => chunk(i, text)))).toBe(0);
      const read = await store.readLogChunks('big');
      expect(read.map((c) => c.text)).toEqual(texts);
      expect(read[0]).toEqual(chunk(0, texts[0] as string));
      expect((await store.readLogChunks('big', { attempt: 1, seq: 3 }, 1)).map((c) => c.text)).toEqual([texts[4]]);
    });

    it('a byte-limited read of log chunks stops at the chunk that reaches the limit', async () => {
      // 40 chunks of 1000 bytes (the 'é' is two), over two attempts.
      const texts = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}é${'x'.repeat(996)}`);
      const chunks = texts.map((text, i) => ({
        ...makeLogChunk('paged', i % 20, text),
        _id: `paged#${1 + Math.floor(i / 20)}#${i % 20}`,
        attempt: 1 + Math.floor(i / 20),
      }));
      expect(await store.appendLogChunks(chunks)).toBe(40);
      const page = await store.readLogChunks('paged', undefined, { bytes: 4_500 });
      expect(page.map((c) => c.text)).toEqual(texts.slice(0, 5));
      expect((await store.readLogChunks('paged', undefined, { bytes: 4_000 })).length).toBe(4);
      // From a position, across attempts, with a chunk limit too.
      const across = await store.readLogChunks('paged', { attempt: 1, seq: 18 }, { bytes: 10_000, chunks: 3 });
      expect(across.map((c) => [c.attempt, c.seq])).toEqual([
        [1, 19],
        [2, 0],
        [2, 1],
      ]);
      // Following pages reads every chunk once, in order.
      const all: string[] = [];
      let after: { attempt: number; seq: number } | undefined;
      for (;;) {
        const next = await store.readLogChunks('paged', after, { bytes: 3_000, chunks: 100 });
        if (next.length === 0) break;
        expect(next.length).toBeLessThanOrEqual(3);
        all.push(...next.map((c) => c.text));
        const last = next.at(-1) as { attempt: number; seq: number };
        after = { attempt: last.attempt, seq: last.seq };
      }
      expect(all).toEqual(texts);
    });

    it('a pipeline lists its versions newest first, once each, page by page', async () => {
      const version = (id: string, pipeline: string, createdAt: number, jobs: string[]) => ({
        _id: id,
        pipeline,
        spec: makePipelineSpec(
          pipeline,
          jobs.map((name) => makeJobSpec(name)),
        ),
        bundle: `bundle of ${id}`,
        entry: 'hiveforge.ts',
        createdAt,
      });
      await store.putPipelineVersion(version('v1', 'web', 10, ['build']));
      await store.putPipelineVersion(version('v2', 'web', 20, ['build', 'test']));
      await store.putPipelineVersion(version('other', 'api', 15, ['x']));
      // The same content again (same id), even later: still one entry, at its first time.
      await store.putPipelineVersion(version('v1', 'web', 30, ['build']));
      await store.putPipelineVersion(version('v4', 'web', 40, ['lint']));
      await store.putPipelineVersion(version('v3', 'web', 40, ['a', 'b', 'c']));
      const all = await store.listPipelineVersions('web', { limit: 10 });
      expect(all.map((v) => v._id)).toEqual(['v4', 'v3', 'v2', 'v1']);
      expect(all[2]).toEqual({
        _id: 'v2',
        pipeline: 'web',
        createdAt: 20,
        entry: 'hiveforge.ts',
        jobs: ['build', 'test'],
      });
      expect(all[3]?.createdAt).toBe(10);
      expect((await store.listPipelineVersions('web', { limit: 2 })).map((v) => v._id)).toEqual(['v4', 'v3']);
      expect((await store.listPipelineVersions('web', { limit: 2, before: 'v3' })).map((v) => v._id)).toEqual([
        'v2',
        'v1',
      ]);
      expect(await store.listPipelineVersions('web', { limit: 2, before: 'v1' })).toEqual([]);
      expect(await store.listPipelineVersions('web', { limit: 2, before: 'other' })).toEqual([]);
      expect(await store.listPipelineVersions('web', { limit: 2, before: 'none' })).toEqual([]);
      expect(await store.listPipelineVersions('web', { limit: 0 })).toEqual([]);
      expect(await store.listPipelineVersions('none', { limit: 10 })).toEqual([]);
      expect((await store.listPipelineVersions('api', { limit: 10 })).map((v) => v.jobs)).toEqual([['x']]);
    });

    it('counts queued jobs per set of required labels', async () => {
      const labelled = (name: string, labels: string[], state: JobRecord['state'] = 'queued') => {
        const job = makeJob('p/1', name, { state });
        return { ...job, spec: { ...job.spec, labels } };
      };
      expect(await store.countQueuedJobs()).toEqual([]);
      await store.insertJobs([
        labelled('a', []),
        labelled('b', ['linux', 'gpu']),
        labelled('c', ['gpu', 'linux']),
        labelled('d', ['linux']),
        labelled('e', []),
        labelled('f', []),
        labelled('waiting', ['linux'], 'waiting'),
        labelled('running', ['linux'], 'running'),
      ]);
      const counts = async () => (await store.countQueuedJobs()).map((d) => `${d.labels.join(',')}=${d.count}`).sort();
      expect(await counts()).toEqual(['=3', 'gpu,linux=2', 'linux=1']);
      await store.updateJob('p/1/d', { state: 'leased', agentId: 'ag' }, { states: ['queued'] });
      await store.updateJob('p/1/a', { state: 'cancelled' }, { states: ['queued'] });
      await store.updateJob('p/1/waiting', { state: 'queued' }, { states: ['waiting'] });
      expect(await counts()).toEqual(['=2', 'gpu,linux=2', 'linux=1']);
    });

    it('runs list newest first, filter by pipeline and status, and count numbers per pipeline', async () => {
      const trigger = makeManualTrigger();
      for (const [i, pipeline] of ['a', 'a', 'b'].entries()) {
        await store.insertRun({
          _id: `${pipeline}/${i}`,
          pipeline,
          number: i + 1,
          versionId: 'v',
          trigger,
          status: i === 1 ? 'failed' : 'running',
          createdAt: i,
          finishedAt: null,
        });
      }
      expect((await store.listRuns({ limit: 10 })).map((r) => r._id)).toEqual(['b/2', 'a/1', 'a/0']);
      expect((await store.listRuns({ pipeline: 'a', limit: 10 })).map((r) => r._id)).toEqual(['a/1', 'a/0']);
      expect((await store.listRuns({ status: 'failed', limit: 10 })).map((r) => r._id)).toEqual(['a/1']);
      expect((await store.listRuns({ limit: 10, before: 2 })).map((r) => r._id)).toEqual(['a/1', 'a/0']);
      expect(await store.lastRunNumber('a')).toBe(2);
      expect(await store.lastRunNumber('none')).toBe(0);
    });

    it('pipeline versions are content-addressed and immutable; the head moves', async () => {
      const spec = makePipelineSpec('p');
      await store.putPipelineVersion({
        _id: 'v1',
        pipeline: 'p',
        spec,
        bundle: 'one',
        entry: 'hiveforge.ts',
        createdAt: 1,
      });
      await store.putPipelineVersion({
        _id: 'v1',
        pipeline: 'p',
        spec,
        bundle: 'changed',
        entry: 'hiveforge.ts',
        createdAt: 2,
      });
      expect((await store.getPipelineVersion('v1'))?.bundle).toBe('one');
      await store.setPipelineHead('p', 'v1', 1);
      await store.setPipelineHead('p', 'v2', 2);
      expect((await store.getPipeline('p'))?.versionId).toBe('v2');
      expect((await store.listPipelines()).map((p) => p._id)).toEqual(['p']);
    });

    it('artifacts round-trip their bytes', async () => {
      const data = Buffer.from([0, 1, 2, 255]);
      await store.putArtifact(
        { _id: 'r/a', runId: 'r', name: 'a', jobId: 'j', attempt: 1, size: 4, sha256: 'x', createdAt: 0 },
        data,
      );
      expect((await store.getArtifact('r/a'))?.data.equals(data)).toBe(true);
      expect((await store.listArtifacts('r')).map((a) => a.name)).toEqual(['a']);
      expect(await store.getArtifact('r/none')).toBeNull();
    });

    it('an artifact stored again under its id replaces bytes and metadata together', async () => {
      const meta = {
        _id: 'r/../../x',
        runId: 'r',
        name: '../../x',
        jobId: 'j',
        attempt: 1,
        size: 3,
        sha256: 'a',
        createdAt: 0,
      };
      await store.putArtifact(meta, Buffer.from('one'));
      await Promise.all([
        store.putArtifact({ ...meta, attempt: 2, sha256: 'b' }, Buffer.from('two')),
        store.putArtifact({ ...meta, attempt: 3, sha256: 'c' }, Buffer.from('three')),
      ]);
      // Either write may land last, but the metadata always describes the bytes.
      const artifact = await store.getArtifact('r/../../x');
      expect([
        [2, 'two'],
        [3, 'three'],
      ]).toContainEqual([artifact?.meta.attempt, artifact?.data.toString()]);
      expect((await store.listArtifacts('r')).map((a) => a.attempt)).toEqual([artifact?.meta.attempt]);
      await store.putArtifact({ ...meta, _id: 'r/empty', name: 'empty', size: 0 }, Buffer.alloc(0));
      expect((await store.getArtifact('r/empty'))?.data.length).toBe(0);
    });

    it('agents are found by token hash', async () => {
      await store.putAgent({
        _id: 'ag',
        name: 'n',
        labels: ['linux'],
        state: 'active',
        tokenHash: 'h1',
        capacity: 1,
        registeredAt: 0,
        lastHeartbeatAt: 0,
        disk: null,
      });
      expect((await store.getAgentByTokenHash('h1'))?._id).toBe('ag');
      expect(await store.getAgentByTokenHash('h2')).toBeNull();
      await store.updateAgent('ag', { state: 'draining' });
      expect((await store.getAgent('ag'))?.state).toBe('draining');
      expect((await store.getAgentByTokenHash('h1'))?.state).toBe('draining');
      // A new token: the old one finds nobody.
      await store.updateAgent('ag', { tokenHash: 'h3' });
      expect(await store.getAgentByTokenHash('h1')).toBeNull();
      expect((await store.getAgentByTokenHash('h3'))?._id).toBe('ag');
      await store.putAgent({ ...((await store.getAgent('ag')) as AgentRecord), tokenHash: 'h4' });
      expect(await store.getAgentByTokenHash('h3')).toBeNull();
      expect((await store.getAgentByTokenHash('h4'))?._id).toBe('ag');
    });

    it('schedules: written whole, listed by id, found when due, moved on only from the expected time', async () => {
      const schedule = (id: string, overrides: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
        _id: id,
        pipeline: id.split('/')[0] as string,
        cron: '0 3 * * *',
        enabled: true,
        versionId: 'v1',
        nextFireAt: 100,
        lastFiredAt: null,
        lastRunId: null,
        updatedAt: 0,
        ...overrides,
      });
      await store.putSchedule(schedule('web/b', { nextFireAt: 300 }));
      await store.putSchedule(schedule('web/a', { nextFireAt: 200 }));
      await store.putSchedule(schedule('api/a', { nextFireAt: 100, enabled: false }));
      await store.putSchedule(schedule('api/b', { nextFireAt: null }));
      expect((await store.listSchedules()).map((s) => s._id)).toEqual(['api/a', 'api/b', 'web/a', 'web/b']);
      expect((await store.listSchedules('web')).map((s) => s._id)).toEqual(['web/a', 'web/b']);
      expect(await store.getSchedule('web/a')).toEqual(schedule('web/a', { nextFireAt: 200 }));
      expect(await store.getSchedule('none')).toBeNull();
      // Enabled, with a next fire time at or before now; earliest first.
      expect((await store.findDueSchedules(250, 10)).map((s) => s._id)).toEqual(['web/a']);
      expect((await store.findDueSchedules(300, 10)).map((s) => s._id)).toEqual(['web/a', 'web/b']);
      expect((await store.findDueSchedules(300, 1)).map((s) => s._id)).toEqual(['web/a']);
      // A guarded move applies only from the next fire time it expects.
      expect(await store.updateSchedule('web/a', { nextFireAt: 400, lastFiredAt: 200 }, 200)).toBe(true);
      expect(await store.updateSchedule('web/a', { nextFireAt: 250 }, 200)).toBe(false);
      expect(await store.getSchedule('web/a')).toMatchObject({ nextFireAt: 400, lastFiredAt: 200 });
      expect(await store.updateSchedule('web/a', { lastRunId: 'web/7' })).toBe(true);
      expect(await store.updateSchedule('none', { lastRunId: 'x' })).toBe(false);
      expect((await store.findDueSchedules(300, 10)).map((s) => s._id)).toEqual(['web/b']);
      await store.putSchedule(schedule('web/b', { enabled: false, nextFireAt: 300 }));
      expect((await store.findDueSchedules(1_000, 10)).map((s) => s._id)).toEqual(['web/a']);
    });

    it('events: appended once, read in id order after a cursor, pruned by id', async () => {
      const event = (id: string): EventRecord => ({
        _id: id,
        at: Number(id.slice(0, 15)),
        type: 'pipeline',
        pipeline: 'web',
        versionId: `v-${id}`,
      });
      const ids = ['000000000000020-0001-aaaaaaaa', '000000000000010-0001-bbbbbbbb', '000000000000030-0001-cccccccc'];
      await store.appendEvents(ids.map(event));
      await store.appendEvents([event(ids[0] as string), event('000000000000020-0002-dddddddd')]);
      const all = await store.listEvents({ limit: 10 });
      expect(all.map((e) => e._id)).toEqual([
        '000000000000010-0001-bbbbbbbb',
        '000000000000020-0001-aaaaaaaa',
        '000000000000020-0002-dddddddd',
        '000000000000030-0001-cccccccc',
      ]);
      expect(all[0]).toEqual(event('000000000000010-0001-bbbbbbbb'));
      expect((await store.listEvents({ after: '000000000000010-0001-bbbbbbbb', limit: 2 })).map((e) => e._id)).toEqual([
        '000000000000020-0001-aaaaaaaa',
        '000000000000020-0002-dddddddd',
      ]);
      // A time prefix is a cursor too: everything written from that millisecond on.
      expect((await store.listEvents({ after: '000000000000020', limit: 10 })).length).toBe(3);
      expect(await store.listEvents({ after: '000000000000030-0001-cccccccc', limit: 10 })).toEqual([]);
      expect(await store.deleteEventsBefore('000000000000020')).toBe(1);
      expect((await store.listEvents({ limit: 10 })).map((e) => e._id)[0]).toBe('000000000000020-0001-aaaaaaaa');
      expect(await store.deleteEventsBefore('000000000000020')).toBe(0);
    });

    describeAccessContract(() => store);
    describeSecretsContract(() => store);

    it('reports how it delivers wake-ups', () => {
      expect(['local', 'polling', 'change-stream']).toContain(store.wakeupMode());
    });

    it('notifies subscribers of a topic until they unsubscribe', async () => {
      let calls = 0;
      const off = store.subscribe('queue', () => calls++);
      store.notify('queue');
      store.notify('other');
      off();
      store.notify('queue');
      expect(calls).toBe(1);
    });
  });
}
