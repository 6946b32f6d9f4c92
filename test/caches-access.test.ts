import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentClient, createCacheClient } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createHiveForgeClient } from '@hiveforge/coordinator/client';
import { packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const SECRET = 'a-registration-secret-for-caches';
const version = createHash('sha256').update('paths').digest('hex');

describe('the cache API (real HTTP, memory store)', () => {
  it('saves and restores for the attempt an agent holds; bad input is a typed one-line error that stores nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-caches-access-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    /** An archive in a file, as the agent sends it. */
    const spooled = async (name: string, data: Buffer) => {
      const file = join(dir, name);
      await writeFile(file, data);
      return { file, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    };
    const store = createMemoryStore();
    await using _closeStore = { [Symbol.asyncDispose]: () => store.close() };
    await using coordinator = await createCoordinator({
      store,
      agentSecret: SECRET,
      scheduler: { pullWait: '200ms' },
      caches: { limitBytes: 1024 },
    });
    const userToken = await createUserToken(store, { name: 'mia', role: 'maintainer' });
    const user = createHiveForgeClient({ url: coordinator.url, token: userToken });
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    await user.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const register = async (name: string) => {
      const anonymous = createAgentClient({ url: coordinator.url, token: () => undefined });
      const { token } = await anonymous.agent.register.mutate({ secret: SECRET, name, labels: [], capacity: 1 });
      return { token, client: createAgentClient({ url: coordinator.url, token: () => token }) };
    };
    const a = await register('a');
    const b = await register('b');
    await user.runs.trigger.mutate({ pipeline: 'api', branch: 'main' });
    const { lease } = await a.client.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 });
    if (!lease) throw new Error('no job was leased');
    const attempt = { jobId: lease.jobId, attempt: lease.attempt };
    const caches = createCacheClient({ url: coordinator.url, token: () => a.token });
    const archive = Buffer.from('not checked: an entry is bytes');
    const file = await spooled('a.tgz', archive);

    const saved = await caches.save({ ...attempt, key: 'k-1', version, ...file });
    expect(saved).toMatchObject({
      saved: true,
      evicted: 0,
      entry: { key: 'k-1', scope: 'main', size: archive.length },
    });
    expect(
      await caches.save({ ...attempt, key: 'k-1', version, ...(await spooled('b.tgz', Buffer.from('other'))) }),
    ).toMatchObject({
      saved: false,
      entry: { sha256: saved.entry.sha256 },
    });
    const found = await caches.restore({ ...attempt, key: 'k-2', restoreKeys: ['k-'], version });
    expect(found).toMatchObject({ hit: 'prefix', entry: { key: 'k-1' } });
    await caches.download({ ...attempt, entry: saved.entry, file: join(dir, 'down.tgz') });
    expect(await readFile(join(dir, 'down.tgz'))).toEqual(archive);

    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => null,
        (error: Error & { code?: string }) => ({ code: error.code, oneLine: !error.message.includes('\n') }),
      );
    // Malformed keys and versions, a body past the pipeline's limit: refused, typed, nothing stored.
    expect(await refusal(caches.restore({ ...attempt, key: 'a,b', restoreKeys: [], version }))).toEqual({
      code: 'HF_CACHE_INVALID',
      oneLine: true,
    });
    expect(await refusal(caches.restore({ ...attempt, key: 'k', restoreKeys: ['x\ny'], version }))).toEqual({
      code: 'HF_CACHE_INVALID',
      oneLine: true,
    });
    expect(await refusal(caches.save({ ...attempt, key: 'k-3', version: 'v1', ...file }))).toEqual({
      code: 'HF_BAD_INPUT',
      oneLine: true,
    });
    expect(
      await refusal(
        caches.save({ ...attempt, key: 'k-3', version, ...(await spooled('big.tgz', Buffer.alloc(2048))) }),
      ),
    ).toEqual({
      code: 'HF_PAYLOAD_TOO_LARGE',
      oneLine: true,
    });
    // Another agent's attempt, a user, no token: refused.
    const asB = createCacheClient({ url: coordinator.url, token: () => b.token });
    expect(await refusal(asB.save({ ...attempt, key: 'k-4', version, ...file }))).toEqual({
      code: 'HF_FENCED',
      oneLine: true,
    });
    expect(await refusal(asB.download({ ...attempt, entry: saved.entry, file: join(dir, 'b.out') }))).toMatchObject({
      code: 'HF_FENCED',
    });
    const asUser = createCacheClient({ url: coordinator.url, token: () => userToken });
    expect(await refusal(asUser.restore({ ...attempt, key: 'k-1', restoreKeys: [], version }))).toMatchObject({
      code: 'HF_FORBIDDEN',
    });
    const anonymous = createCacheClient({ url: coordinator.url, token: () => undefined });
    expect(await refusal(anonymous.restore({ ...attempt, key: 'k-1', restoreKeys: [], version }))).toMatchObject({
      code: 'HF_UNAUTHENTICATED',
    });
    expect(
      await refusal(
        caches.download({ ...attempt, entry: { ...saved.entry, _id: '0'.repeat(40) }, file: join(dir, 'x.out') }),
      ),
    ).toMatchObject({ code: 'HF_NOT_FOUND' });
    expect((await store.listCacheEntries()).map((e) => e.key)).toEqual(['k-1']);
  }, 60_000);
});
