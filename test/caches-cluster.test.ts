import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHiveForgeClient } from '@hiveforge/coordinator/client';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';
import { createBlobSweeper } from '@hiveforge/coordinator';
import { createMongoStore } from '@hiveforge/coordinator/mongodb';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(['memory', 'ferretdb'] as const)(
  'caches between runs of a cluster (coordinator and agent processes, %s store)',
  (kind) => {
    let ferret: FerretDB | undefined;
    const database = `hf_caches_${process.pid}`;
    let coordinator: ServiceProcess & { url: string };
    const agents: ServiceProcess[] = [];
    let dir: string;

    /** Runs `job` of `pipeline` on `branch` with input `key`; resolves with its stored log. */
    const runJob = async (pipeline: string, job: string, branch: string, key: string, status = 'succeeded') => {
      const client = createHiveForgeClient({ url: coordinator.url, token: adminToken });
      const run = await client.runs.trigger.mutate({ pipeline, branch, inputs: { key }, only: [job] });
      for (let i = 0; i < 240; i++) {
        const { run: now } = await client.runs.get.query({ runId: run._id });
        if (now.status !== 'running') {
          expect(now.status).toBe(status);
          break;
        }
        await sleep(100);
      }
      const logs = await runCli(['logs', `${run._id}/${job}`], {
        env: { HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: adminToken },
      });
      expect(logs.code, logs.stderr).toBe(0);
      return logs.stdout;
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `hf-caches-${kind}-`));
      if (kind === 'ferretdb') ferret = await startFerretDB();
      coordinator = await startCoordinatorProcess({
        ...(ferret ? { mongodbUri: ferret.uri, database } : {}),
        agentSecret,
        adminToken,
        // Two 16 KiB entries fit, a third does not; `main` is the branch every branch falls back to.
        args: ['--cache-size-limit', '40KiB', '--default-branch', 'main'],
      });
      for (const label of ['a', 'b'])
        agents.push(
          await startAgentProcess({
            urls: [coordinator.url],
            agentSecret,
            name: `caches-${label}`,
            workDir: join(dir, `agent-${label}`),
            args: ['--labels', label],
          }),
        );
      const env = { HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: adminToken };
      for (const fixture of ['cluster-caches', 'cluster-caches-evict']) {
        const deploy = await runCli(['deploy', join(repoRoot, 'test/fixtures', fixture)], { env, timeoutMs: 90_000 });
        expect(deploy.code, deploy.stderr).toBe(0);
      }
    }, 120_000);

    afterAll(async () => {
      for (const agent of agents) await agent.kill('SIGKILL');
      await coordinator?.kill('SIGKILL');
      await ferret?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('run 1 saves; run 2 restores it exactly, from the warm agent without a transfer and from the coordinator on another agent', async () => {
      const first = await runJob('cluster-caches', 'on-a', 'main', 'a');
      expect(first).toContain('cache data-a: no entry to restore');
      expect(first).toContain('cache result: miss -');
      expect(first).toMatch(/cache data-a: saved \(/);

      const warm = await runJob('cluster-caches', 'on-a', 'main', 'a');
      expect(warm).toContain('cache result: exact data-a');
      expect(warm).toMatch(/cache data-a: restored exact \(.*\) from this agent's local cache \(no transfer\)/);
      expect(warm).toContain('a.bin');
      expect(warm).not.toMatch(/saved \(/);

      const cold = await runJob('cluster-caches', 'on-b', 'main', 'a');
      expect(cold).toMatch(/cache data-a: restored exact \(.*\) from the coordinator/);
      expect(cold).toContain('a.bin');
      // Downloaded once, the entry is this agent's too.
      const warmB = await runJob('cluster-caches', 'on-b', 'main', 'a');
      expect(warmB).toMatch(/restored exact \(.*\) from this agent's local cache \(no transfer\)/);
    }, 120_000);

    it("a branch restores the default branch's entry, by prefix too, and never another branch's", async () => {
      const fallback = await runJob('cluster-caches', 'on-a', 'feature', 'a');
      expect(fallback).toContain('cache result: exact data-a');

      // data-b is new on `feature`: the prefix data- finds main's data-a; feature saves data-b.
      const prefix = await runJob('cluster-caches', 'on-a', 'feature', 'b');
      expect(prefix).toContain('cache result: prefix data-a');
      expect(prefix).toMatch(/cache data-b: saved \(/);
      expect(await runJob('cluster-caches', 'on-a', 'feature', 'b')).toContain('cache result: exact data-b');

      // Another branch sees main's entries, not feature's: data-b is only a prefix match of data-a.
      const other = await runJob('cluster-caches', 'on-a', 'other', 'b');
      expect(other).toContain('cache result: prefix data-a');
    }, 120_000);

    it('a malformed ctx.cache call fails its job with HF_CACHE_INVALID', async () => {
      const log = await runJob('cluster-caches', 'bad-key', 'main', 'a', 'failed');
      expect(log).toContain('HF_CACHE_INVALID: the cache key "a,b" holds a comma or a control character');
    }, 60_000);

    it('past the size limit the least recently restored entry is evicted; operators list and remove entries', async () => {
      expect(await runJob('cluster-caches-evict', 'big', 'main', '1')).toMatch(/cache big-1: saved \(/);
      expect(await runJob('cluster-caches-evict', 'big', 'main', '2')).toMatch(/cache big-2: saved \(/);
      // big-1 is restored, so big-2 is now the least recently used.
      expect(await runJob('cluster-caches-evict', 'big', 'main', '1')).toContain('cache result: exact big-1');
      const third = await runJob('cluster-caches-evict', 'big', 'main', '3');
      expect(third).toMatch(/cache big-3: saved \(.*\) in \d+ ms; 1 least recently used entries evicted/);
      // big-1, used lately, is kept; big-2 was evicted: a miss, saved again, evicting big-3 in turn.
      expect(await runJob('cluster-caches-evict', 'big', 'main', '1')).toContain('cache result: exact big-1');
      const again = await runJob('cluster-caches-evict', 'big', 'main', '2');
      expect(again).toContain('cache result: miss -');
      expect(again).toMatch(/cache big-2: saved .*; 1 least recently used entries evicted/);
      // Operators see the entries left and remove one: its next restore misses.
      const env = { HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: adminToken };
      const list = await runCli(['caches', 'list', '--pipeline', 'cluster-caches-evict', '--json'], { env });
      expect(list.code, list.stderr).toBe(0);
      const listed = JSON.parse(list.stdout) as { id: string; key: string; branch: string; size: number }[];
      expect(listed.map((e) => [e.key, e.branch])).toEqual([
        ['big-1', 'main'],
        ['big-2', 'main'],
      ]);
      expect(listed.every((e) => e.size > 16_384)).toBe(true);
      const rm = await runCli(['caches', 'rm', (listed[1] as { id: string }).id.slice(0, 12)], { env });
      expect(rm.code, rm.stderr).toBe(0);
      expect(rm.stdout).toBe(`removed cache entry ${(listed[1] as { id: string }).id}\n`);
      const gone = await runCli(['caches', 'rm', (listed[1] as { id: string }).id], { env });
      expect(gone.stderr).toMatch(/^error HF_NOT_FOUND: no cache entry [0-9a-f]{40}\n$/);
      const table = await runCli(['caches', 'list', '--pipeline', 'cluster-caches-evict'], { env });
      expect(table.stdout).toMatch(/big-1/);
      expect(table.stdout).not.toMatch(/big-2/);
      expect(table.stdout).toMatch(/^1 entries, /m);
      if (ferret) {
        const mongo = await MongoClient.connect(ferret.uri);
        try {
          const entries = await mongo
            .db(database)
            .collection('cache_entries')
            .find({ pipeline: 'cluster-caches-evict' })
            .toArray();
          expect(entries.map((e) => e.key).sort()).toEqual(['big-1']);
          // Evicted and removed entries left their archives to the blob sweep, which collects them
          // once past the grace period (here: at once); then every blob left is named.
          // The database also holds the caches of this file's other tests: count what all entries name.
          const named = new Set(
            (await mongo.db(database).collection('cache_entries').find({}).toArray()).map((e) => e.sha256),
          );
          const stored = await mongo.db(database).collection('blobs').countDocuments();
          const store = await createMongoStore({ uri: ferret.uri, dbName: database });
          try {
            const collected = await createBlobSweeper({ store, graceMs: 0 }).sweep();
            expect(collected.length).toBeGreaterThan(0);
            expect(stored - collected.length).toBe(named.size);
          } finally {
            await store.close();
          }
          const blobs = await mongo.db(database).collection('blobs').find({}).toArray();
          expect(blobs.map((b) => b._id).sort()).toEqual([...named].sort());
          expect(await mongo.db(database).collection('blobs.files').countDocuments()).toBe(named.size);
        } finally {
          await mongo.close();
        }
      }
    }, 180_000);
  },
);
