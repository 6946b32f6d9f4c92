import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.js';
import { describeStoreContract, makeJob } from './contract.js';
import { createMemoryStore } from './memory.js';

describeStoreContract('memory', () => createMemoryStore());

describe('memory store clock', () => {
  it('stamps decisions with the time of the clock it was given', async () => {
    const clock = createManualClock(5_000);
    const store = createMemoryStore({ clock });
    expect((await store.decide('a', {})).decision.at).toBe(5_000);
    await clock.advance(1_000);
    expect((await store.decide('b', {})).decision.at).toBe(6_000);
    await store.close();
  });
});

describe('memory store dispatch order', () => {
  /** A small deterministic generator, so that a failure can be replayed. */
  const random = (seed: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  it('keeps queued jobs oldest first through thousands of leases, re-queues and out-of-order readiness', async () => {
    const store = createMemoryStore();
    const next = random(7);
    const jobs = Array.from({ length: 3_000 }, (_, i) =>
      makeJob('run-1', `j${i}`, { state: 'queued', readyAt: Math.floor(next() * 500) }),
    );
    await store.insertJobs(jobs);
    const expected = new Map(jobs.map((j) => [j._id, j.readyAt as number]));
    const reference = (limit: number) =>
      [...expected]
        .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([id]) => id);
    for (let step = 0; step < 4_000; step++) {
      const roll = next();
      const oldest = await store.findQueuedJobs(6);
      if (roll < 0.7 && oldest.length > 0) {
        // Lease one of the oldest few, as pulls do.
        const job = oldest[Math.floor(next() * oldest.length)] as (typeof oldest)[number];
        expect(await store.updateJob(job._id, { state: 'leased' }, { states: ['queued'] })).toBe(true);
        expected.delete(job._id);
      } else {
        // Re-queue a leased job, sometimes with an older readiness than jobs already queued.
        const leased = jobs.find((j) => !expected.has(j._id));
        if (!leased) continue;
        const readyAt = Math.floor(next() * 1_000);
        expect(await store.updateJob(leased._id, { state: 'queued', readyAt }, { states: ['leased'] })).toBe(true);
        expected.set(leased._id, readyAt);
      }
      if (step % 97 === 0) {
        expect((await store.findQueuedJobs(50)).map((j) => j._id)).toEqual(reference(50));
      }
    }
    expect((await store.findQueuedJobs(10_000)).map((j) => j._id)).toEqual(reference(10_000));
  });
});

const meta = (id: string, size: number, sha256: string) => ({
  _id: id,
  runId: 'r',
  name: id,
  jobId: null,
  attempt: null,
  size,
  sha256,
  createdAt: 0,
});

describe('memory store blobs', () => {
  it('keeps blobs as files named by their hash under the directory it is given, and leaves the directory on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-memory-store-'));
    try {
      const store = createMemoryStore({ artifactsDir: dir });
      expect(store.artifactsDir).toBe(dir);
      const blob = await store.putBlob(Readable.from([Buffer.from('bytes')]));
      await store.putArtifact(meta('r/../../escape', blob.size, blob.sha256));
      // One file, named by the content's SHA-256, inside the directory: never the id as a path.
      expect(await readdir(dir)).toEqual([blob.sha256]);
      expect(await readFile(join(dir, blob.sha256), 'utf8')).toBe('bytes');
      // The same content again stores nothing new; other content is another file.
      expect(await store.putBlob(Readable.from([Buffer.from('bytes')]))).toMatchObject({ created: false });
      const other = await store.putBlob(Readable.from([Buffer.from('new')]));
      expect((await readdir(dir)).sort()).toEqual([blob.sha256, other.sha256].sort());
      await store.close();
      // The directory is the operator's: it stays, without the files the store wrote (their
      // records were in memory, so nothing could read them again).
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without a directory, uses a temporary one of its own and removes it on close', async () => {
    const store = createMemoryStore();
    const dir = store.artifactsDir;
    expect(dir.startsWith(tmpdir())).toBe(true);
    await store.putBlob(Readable.from([Buffer.from('x')]));
    expect(await readdir(dir)).toHaveLength(1);
    await store.close();
    expect(existsSync(dir)).toBe(false);
    const error = await store.putBlob(Readable.from([Buffer.from('y')])).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HF_STORE_UNAVAILABLE' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('memory store records', () => {
  it('shares plain data frozen all the way down, and copies data frozen only on top', async () => {
    const store = createMemoryStore();
    const stored = makeJob('run-1', 'a');
    await store.insertJobs([stored]);
    const read = await store.getJob('run-1/a');
    if (!read) throw new Error('missing');
    // A record read back is frozen all the way down: storing its spec again shares it.
    await store.insertJobs([makeJob('run-2', 'a', { spec: read.spec })]);
    expect((await store.getJob('run-2/a'))?.spec).toBe(read.spec);
    // Frozen on top only: what is under it can still change, so it is copied.
    const env = { A: '1' };
    const spec = Object.freeze({ ...makeJob('run-3', 'a').spec, env });
    await store.insertJobs([makeJob('run-3', 'a', { spec })]);
    env.A = '2';
    expect((await store.getJob('run-3/a'))?.spec.env).toEqual({ A: '1' });
  });
});
