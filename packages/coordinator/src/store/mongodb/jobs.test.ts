import { isHiveForgeError } from '@hiveforge/sdk';
import type { CommandStartedEvent, Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { makeJob } from '../contract.js';
import { type JobRecord, JobState, type Store } from '../types.js';
import { ferretStoreKit, batchSizes, sleep } from './test-kit.js';

const { ferretUri, freshStore, withWatchedStore } = ferretStoreKit();

describe('jobs of the MongoDB store on FerretDB', () => {
  it('job updates made at once go to FerretDB together (group commit), each guarded and applied', async () => {
    const { sizes: updates, onCommand } = batchSizes('update', 'jobs');
    await withWatchedStore(onCommand, async (store) => {
      const names = Array.from({ length: 20 }, (_, i) => `j${String(i).padStart(2, '0')}`);
      await store.insertJobs(names.map((name) => makeJob('p/1', name)));
      updates.length = 0;
      // Every other update's guard fails (attempt 2 is not the job's): it is not sent.
      const results = await Promise.all(
        names.map((name, i) =>
          store.updateJob(
            `p/1/${name}`,
            { state: 'leased', agentId: `a${i}` },
            { states: ['queued'], attempt: 1 + (i % 2) },
          ),
        ),
      );
      expect(results).toEqual(names.map((_, i) => i % 2 === 0));
      const jobs = await store.listJobs('p/1');
      for (const [i, name] of names.entries()) {
        expect(jobs.find((job) => job.name === name)).toMatchObject(
          i % 2 === 0 ? { state: 'leased', agentId: `a${i}` } : { state: 'queued', agentId: null },
        );
      }
      expect(updates.reduce((sum, n) => sum + n, 0)).toBe(10);
      expect(updates.length).toBeLessThan(10);
    });
  });

  for (const retireHintsBy of ['delete', 'update'] as const) {
    it(`on FerretDB, job operations look documents up by _id alone (the only filter it serves from an index); hints retired by ${retireHintsBy}`, async () => {
      const filters: { command: string; collection: string; filter: unknown }[] = [];
      const onCommand = (event: CommandStartedEvent) => {
        const command = event.command as Record<string, unknown>;
        const collection = command.find ?? command.update ?? command.delete;
        if (typeof collection !== 'string' || !['jobs', 'ready_jobs', 'active_jobs', 'run_jobs'].includes(collection))
          return;
        const ops = (command.updates ?? command.deletes ?? [{ q: command.filter }]) as { q: unknown }[];
        for (const op of ops) filters.push({ command: event.commandName, collection, filter: op.q });
      };
      const test = async (store: Store, db: Db) => {
        await store.insertJobs([makeJob('p/1', 'a'), makeJob('p/1', 'b')]);
        filters.length = 0;
        const [job] = await store.findQueuedJobs(1);
        await store.updateJob(
          job!._id,
          { state: 'leased', agentId: 'ag', leaseExpiresAt: 10 },
          { states: ['queued'], attempt: 1 },
        );
        await store.updateJob(job!._id, { state: 'running' }, { states: ['leased'], attempt: 1 });
        await store.renewLease(job!._id, 1, 20);
        await store.getJob(job!._id);
        await store.findExpiredLeases(30, 10);
        await store.findJobsOfAgent('ag');
        expect((await store.listJobs('p/1')).map((j) => j.name)).toEqual(['a', 'b']);
        await store.updateJob(
          job!._id,
          { state: 'succeeded', leaseExpiresAt: null },
          { states: ['running'], attempt: 1 },
        );
        // The retirement of the last hint runs in the background.
        const active = db.collection('active_jobs');
        const deadline = Date.now() + 3_000;
        while ((await active.countDocuments({ gone: { $ne: true } })) > 0 && Date.now() < deadline) await sleep(20);
        expect(filters.length).toBeGreaterThan(10);
        const deletes = filters.filter(({ command }) => command === 'delete');
        // Hints are deleted by _id, or (where a delete scans) marked retired instead.
        if (retireHintsBy === 'update') expect(deletes).toEqual([]);
        else expect(deletes.map((d) => d.collection).sort()).toEqual(['active_jobs', 'ready_jobs']);
        for (const { collection, filter } of filters) {
          const json = JSON.stringify(filter);
          // Jobs only by _id; hints by _id, or all live ones (they are few), or the oldest page
          // with no filter at all (FerretDB hands its limit to SQLite).
          const whole =
            collection !== 'jobs' &&
            (json === JSON.stringify({ gone: { $ne: true } }) ||
              (retireHintsBy === 'delete' && collection === 'ready_jobs' && json === '{}'));
          if (!whole) expect({ collection, filter }).toEqual({ collection, filter: { _id: expect.any(String) } });
        }
      };
      await withWatchedStore(onCommand, test, { retireHintsBy });
    });
  }

  it('lists a run of jobs by _id from its run_jobs entry; a run without one, or larger than listByIdMax, by runId', async () => {
    const finds: unknown[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === 'jobs') finds.push(event.command.filter);
    };
    const test = async (store: Store, db: Db) => {
      const small = [makeJob('p/1', 'zeta'), makeJob('p/1', 'alpha')];
      const large = ['a', 'b', 'c', 'd', 'e'].map((name) => makeJob('p/2', name));
      await store.insertJobs([...small, ...large]);
      // A resumed trigger stores the jobs missing and keeps the others: the entry names them all.
      const more = makeJob('p/1', 'beta');
      await store.insertJobs([...small, more], { keepExisting: true });
      const entries = db.collection<{ _id: string; jobs: string[] }>('run_jobs');
      expect(await entries.findOne({ _id: 'p/1' })).toEqual({
        _id: 'p/1',
        jobs: ['p/1/zeta', 'p/1/alpha', 'p/1/beta'],
      });
      // A job the entry names but that is not stored (its insert failed) is skipped.
      await entries.updateOne({ _id: 'p/1' }, { $push: { jobs: 'p/1/ghost' } });

      finds.length = 0;
      expect(await store.listJobs('p/1')).toStrictEqual([...small, more]);
      // Read at once, so in no set order.
      const ids = finds.map((filter) => (filter as { _id: string })._id).sort();
      expect(ids).toEqual(['p/1/alpha', 'p/1/beta', 'p/1/ghost', 'p/1/zeta']);

      finds.length = 0;
      expect(await store.listJobs('p/2')).toStrictEqual(large);
      expect(finds).toEqual([{ runId: 'p/2' }]);

      // Runs stored without an entry are read by runId.
      await entries.deleteOne({ _id: 'p/1' });
      finds.length = 0;
      expect(await store.listJobs('p/1')).toStrictEqual([...small, more]);
      expect(finds).toEqual([{ runId: 'p/1' }]);
    };
    await withWatchedStore(onCommand, test, { listByIdMax: 4 });
  });

  it('refuses a batch of jobs of which one exists, and keeps none of it', async () => {
    const store = await freshStore(ferretUri());
    try {
      await store.insertJobs([makeJob('p/1', 'b')]);
      const error = await store
        .insertJobs([makeJob('p/1', 'a'), makeJob('p/1', 'b'), makeJob('p/1', 'c')])
        .catch((e) => e);
      expect(isHiveForgeError(error) && error.code).toBe('HF_CONFLICT');
      expect((await store.listJobs('p/1')).map((j) => j.name)).toEqual(['b']);
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['b']);
    } finally {
      await store.close();
    }
  });

  it('updateJob checks its guard against the job the caller decided on, when given; getJob reads only the job', async () => {
    const reads: string[] = [];
    const hintReads: string[] = [];
    const onCommand = ({ commandName, command }: CommandStartedEvent) => {
      if (commandName === 'find' && command.find === 'jobs') reads.push(String(command.filter?._id));
      if (commandName === 'find' && command.find === 'active_jobs') hintReads.push(String(command.filter?._id));
    };
    await withWatchedStore(onCommand, async (store) => {
      await store.insertJobs([makeJob('p/1', 'a'), makeJob('p/1', 'b')]);
      const [a, b] = [await store.getJob('p/1/a'), await store.getJob('p/1/b')];
      reads.length = 0;
      const guard = { states: [JobState.queued], attempt: 1 };
      expect(await store.updateJob('p/1/a', { state: JobState.leased }, guard)).toBe(true);
      expect(reads).toEqual(['p/1/a']);
      expect(await store.updateJob('p/1/b', { state: JobState.leased }, { ...guard, decidedOn: b as JobRecord })).toBe(
        true,
      );
      expect(reads).toEqual(['p/1/a']);
      expect((await store.getJob('p/1/b'))?.state).toBe(JobState.leased);
      // The hints follow the change as computed from the job decided on: b left the queue.
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual([]);
      // A read of a leased job costs one read: its renewals, on its hint, are left out.
      reads.length = 0;
      hintReads.length = 0;
      await store.getJob('p/1/b');
      expect([reads, hintReads]).toEqual([['p/1/b'], []]);
      // The job decided on of another job is not taken for this one's.
      reads.length = 0;
      expect(await store.updateJob('p/1/b', { state: JobState.running }, { ...guard, decidedOn: a as JobRecord })).toBe(
        false,
      );
      expect(reads).toEqual(['p/1/b']);
    });
  });
});
