import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAgentClient } from '@hiveforge/agent';
import { type HiveForgeClient, readJobLog } from '@hiveforge/coordinator/client';
import { createMongoStore } from '@hiveforge/coordinator/mongodb';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { ferretDBForSuite } from './helpers/ferretdb-suite.js';
import { mib, processMemory } from './helpers/process-memory.js';
import { startCoordinatorProcess } from './helpers/services.js';

const SECRET = 'a-registration-secret-for-log-paging';
const ADMIN = 'hfu_admin-token-for-log-paging';
/** The size of the log written; `HF_LOG_PAGING_MIB` makes it larger for a measurement. */
const LOG_MIB = Number(process.env.HF_LOG_PAGING_MIB ?? 12);
/** The size of the log shipped to a memory-store coordinator, whose memory is measured. */
const SHIPPED_MIB = 64;
const CHUNK_BYTES = 64 * 1024;

/** Chunk `seq` of the log: 64 KiB of numbered lines, so that a reader can check every byte's place. */
function chunkText(seq: number): string {
  const line = (n: number) =>
    `chunk ${String(seq).padStart(6, '0')} line ${String(n).padStart(5, '0')} compiling module ${(seq * 7919 + n * 104_729) % 1_000_003}\n`;
  let text = '';
  for (let n = 0; text.length < CHUNK_BYTES; n++) text += line(n);
  return text.slice(0, CHUNK_BYTES);
}

/** Reads a job's log through `runs.logs` pages, checking order; returns pages and bytes read. */
async function pageThrough(client: HiveForgeClient, runId: string, maxBytes?: number) {
  let pages = 0;
  let bytes = 0;
  let expected = 0;
  let largest = 0;
  for await (const chunks of readJobLog(client, { runId, job: 'build', maxBytes })) {
    pages++;
    let size = 0;
    for (const chunk of chunks) {
      if (chunk.seq !== expected || chunk.text !== chunkText(expected))
        throw new Error(`chunk ${chunk.seq} out of place`);
      expected++;
      size += Buffer.byteLength(chunk.text);
    }
    largest = Math.max(largest, size);
    bytes += size;
  }
  return { pages, bytes, chunks: expected, largest };
}

describe('runs.logs pages (coordinator process, FerretDB)', () => {
  const ferret = ferretDBForSuite();

  it(`three clients page through a ${LOG_MIB} MiB log in order; runs.watch batches carry a MiB each`, () =>
    ferret.withDatabase('hf_log_paging', async ({ uri, dbName }) => {
      await using coordinator = await startCoordinatorProcess({
        mongodbUri: uri,
        database: dbName,
        agentSecret: SECRET,
        adminToken: ADMIN,
      });
      const client = createUserClient(coordinator.url, ADMIN);
      const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
      await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
      const run = await client.runs.trigger.mutate({ pipeline: 'api' });
      await client.runs.cancel.mutate({ runId: run._id });

      // The log goes straight into the store, as an agent's batches would have put it.
      const store = await createMongoStore({ uri, dbName });
      try {
        const count = Math.ceil((LOG_MIB * 1024 * 1024) / CHUNK_BYTES);
        for (let seq = 0; seq < count; seq += 32) {
          const batch = [];
          for (let s = seq; s < Math.min(count, seq + 32); s++) {
            batch.push({
              _id: `${run._id}/build#1#${s}`,
              jobId: `${run._id}/build`,
              runId: run._id,
              attempt: 1,
              seq: s,
              offset: s * CHUNK_BYTES,
              text: chunkText(s),
              at: Date.now(),
            });
          }
          await store.appendLogChunks(batch);
        }

        // A finished job's last page says the log is complete; a page never passes its size.
        const first = await client.runs.logs.query({ runId: run._id, job: 'build', maxBytes: 64 * 1024 });
        expect([first.chunks.length, first.next, first.complete]).toEqual([1, '1:0', false]);
        const last = await client.runs.logs.query({ runId: run._id, job: 'build', cursor: `1:${count - 2}` });
        expect([last.chunks.map((c) => c.seq), last.next, last.complete]).toEqual([
          [count - 1],
          `1:${count - 1}`,
          true,
        ]);

        const pid = coordinator.child.pid as number;
        const before = await processMemory(pid);
        let peak = before.rss;
        const sampler = setInterval(() => {
          processMemory(pid).then(
            (m) => {
              peak = Math.max(peak, m.rss);
            },
            () => {},
          );
        }, 50);
        const started = Date.now();
        const reads = await Promise.all([
          pageThrough(client, run._id),
          pageThrough(client, run._id),
          pageThrough(client, run._id, 4 * 1024 * 1024),
        ]);
        clearInterval(sampler);
        const after = await processMemory(pid);
        const rise = after.hwm - before.rss;
        console.log(
          `3 clients paged a ${LOG_MIB} MiB log (${count} chunks of 64 KiB) in ${Date.now() - started} ms: ` +
            `${reads.map((r) => `${r.pages} pages`).join(', ')}; coordinator VmRSS ${mib(before.rss)} -> ${mib(after.rss)} ` +
            `(sampled peak ${mib(peak)}), VmHWM ${mib(before.hwm)} -> ${mib(after.hwm)}, peak rise ${mib(rise)}`,
        );
        for (const [i, read] of reads.entries()) {
          expect(read.chunks).toBe(count);
          expect(read.bytes).toBe(count * CHUNK_BYTES);
          expect(read.largest).toBeLessThanOrEqual(i === 2 ? 4 * 1024 * 1024 : 1024 * 1024);
        }

        // runs.watch batches are bounded too: the log comes a MiB at a time, in order, then the
        // job's state, then the run's end.
        let cursor: string | undefined;
        let seq = 0;
        const order: string[] = [];
        for (let batches = 0; ; batches++) {
          if (batches > count) throw new Error('runs.watch never finished');
          const batch = await client.runs.watch.query({ runId: run._id, cursor, waitMs: 0 });
          let text = 0;
          for (const event of batch.events) {
            if (event.type === 'log') {
              expect(event.seq).toBe(seq++);
              text += event.text.length;
            } else order.push(`${event.type}:${seq}`);
          }
          expect(text).toBeLessThanOrEqual(1024 * 1024 + CHUNK_BYTES);
          cursor = batch.cursor;
          if (batch.done) break;
        }
        expect(seq).toBe(count);
        expect(order).toEqual([`job:${count}`, `job:${count}`, `run:${count}`]);
      } finally {
        await store.close();
      }
    }));
});

describe('runs.logs pages (coordinator process, memory store)', () => {
  it(`three clients reading a ${SHIPPED_MIB} MiB log at once raise the coordinator's RSS by far less than the log`, async () => {
    await using coordinator = await startCoordinatorProcess({
      agentSecret: SECRET,
      adminToken: ADMIN,
      leaseTtl: '10m',
    });
    const client = createUserClient(coordinator.url, ADMIN);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const run = await client.runs.trigger.mutate({ pipeline: 'api' });
    const { token } = await createAgentClient({ url: coordinator.url, token: () => undefined }).agent.register.mutate({
      secret: SECRET,
      name: 'shipper',
      labels: [],
      capacity: 1,
    });
    const agent = createAgentClient({ url: coordinator.url, token: () => token });
    const { lease } = await agent.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 });
    if (!lease) throw new Error('no job was leased');
    // Shipped as an agent ships it: 1 MiB batches of 64 KiB chunks.
    const count = (SHIPPED_MIB * 1024 * 1024) / CHUNK_BYTES;
    for (let seq = 0; seq < count; seq += 16) {
      const chunks = Array.from({ length: 16 }, (_, i) => ({
        seq: seq + i,
        offset: (seq + i) * CHUNK_BYTES,
        text: chunkText(seq + i),
      }));
      await agent.agent.logs.mutate({ jobId: lease.jobId, attempt: lease.attempt, chunks });
    }
    await agent.agent.complete.mutate({
      jobId: lease.jobId,
      attempt: lease.attempt,
      result: { status: 'succeeded', exitCode: 0, error: null, outputs: {} },
    });
    await sleep(500);

    const pid = coordinator.child.pid as number;
    const before = await processMemory(pid);
    const reads = await Promise.all([
      pageThrough(client, run._id),
      pageThrough(client, run._id),
      pageThrough(client, run._id, 4 * 1024 * 1024),
    ]);
    const after = await processMemory(pid);
    const rise = after.hwm - before.rss;
    console.log(
      `3 clients paged a ${SHIPPED_MIB} MiB log on a memory store: pages ${reads.map((r) => r.pages).join(' / ')}; ` +
        `coordinator VmRSS with the log stored ${mib(before.rss)}, VmHWM after ${mib(after.hwm)}, peak rise ${mib(rise)}`,
    );
    for (const read of reads) expect([read.chunks, read.bytes]).toEqual([count, count * CHUNK_BYTES]);
    // Three readers of the whole log at once held three logs and their JSON (over 500 MiB).
    expect(rise, `peak rise ${mib(rise)}`).toBeLessThan(128 * 1024 * 1024);
  });
});
