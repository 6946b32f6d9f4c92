import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHiveForgeClient, hiveforgeErrorCode } from '../client.js';
import { createCoordinator } from '../server.js';
import { createMemoryStore } from '../store/memory.js';
import type { Role, Store } from '../store/types.js';
import { issueUserToken } from '../tokens.js';

const key = () => new Uint8Array(randomBytes(32));

/** A coordinator on `store` over real HTTP, and a client with a token of `role`. */
async function started(store: Store, keys: { secretsKey?: Uint8Array; secretsKeyPrevious?: Uint8Array }) {
  const coordinator = await createCoordinator({
    store,
    agentSecret: 'a-registration-secret',
    schedules: false,
    ...keys,
  });
  const clientAs = async (role: Role) =>
    createHiveForgeClient({ url: coordinator.url, token: (await issueUserToken(store, { name: role, role })).token });
  return { coordinator, clientAs, [Symbol.asyncDispose]: () => coordinator.close() };
}

/** The HF code a call failed with, or `ok`. */
const outcome = (call: Promise<unknown>) =>
  call.then(
    () => 'ok',
    (error: unknown) => hiveforgeErrorCode(error),
  );

describe('secrets API', () => {
  it('sets (maintainer or admin), lists without values, removes; values stored only encrypted', async () => {
    const store = createMemoryStore();
    await using c = await started(store, { secretsKey: key() });
    const maintainer = await c.clientAs('maintainer');
    await maintainer.secrets.set.mutate({ name: 'DEPLOY_TOKEN', value: 'the-value-1' });
    await (await c.clientAs('admin')).secrets.set.mutate({ name: 'DEPLOY_TOKEN', value: 'web-value', pipeline: 'web' });
    const listed = await maintainer.secrets.list.query();
    expect(listed.map(({ name, pipeline }) => ({ name, pipeline }))).toEqual([
      { name: 'DEPLOY_TOKEN', pipeline: null },
      { name: 'DEPLOY_TOKEN', pipeline: 'web' },
    ]);
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(['name', 'pipeline', 'updatedAt']);
    expect(JSON.stringify(await store.listSecrets())).not.toMatch(/the-value-1|web-value/);
    expect(await maintainer.secrets.remove.mutate({ name: 'DEPLOY_TOKEN', pipeline: 'web' })).toEqual({
      name: 'DEPLOY_TOKEN',
      pipeline: 'web',
    });
    expect(await outcome(maintainer.secrets.remove.mutate({ name: 'DEPLOY_TOKEN', pipeline: 'web' }))).toBe(
      'HF_NOT_FOUND',
    );
    expect((await store.listSecrets()).map((s) => s._id)).toEqual(['DEPLOY_TOKEN']);
  });

  it('refuses viewers, bad names and values over 64 KiB, storing nothing', async () => {
    const store = createMemoryStore();
    await using c = await started(store, { secretsKey: key() });
    const viewer = await c.clientAs('viewer');
    const maintainer = await c.clientAs('maintainer');
    expect(await outcome(viewer.secrets.set.mutate({ name: 'A', value: 'v' }))).toBe('HF_FORBIDDEN');
    expect(await outcome(viewer.secrets.list.query())).toBe('HF_FORBIDDEN');
    for (const name of ['lower', '1ABC', 'A-B', 'A B', '']) {
      expect(await outcome(maintainer.secrets.set.mutate({ name, value: 'v' }))).toBe('HF_BAD_INPUT');
    }
    expect(await outcome(maintainer.secrets.set.mutate({ name: 'BIG', value: 'x'.repeat(64 * 1024 + 1) }))).toBe(
      'HF_BAD_INPUT',
    );
    expect(await outcome(maintainer.secrets.set.mutate({ name: 'EXACT', value: 'x'.repeat(64 * 1024) }))).toBe('ok');
    expect((await store.listSecrets()).map((s) => s._id)).toEqual(['EXACT']);
  });

  it('without a key: set is refused with HF_CONFIG; with secrets stored, the coordinator refuses to start', async () => {
    const store = createMemoryStore();
    {
      await using c = await started(store, {});
      const admin = await c.clientAs('admin');
      expect(await outcome(admin.secrets.set.mutate({ name: 'A', value: 'v' }))).toBe('HF_CONFIG');
      expect(await store.listSecrets()).toEqual([]);
    }
    {
      await using c = await started(store, { secretsKey: key() });
      await (await c.clientAs('admin')).secrets.set.mutate({ name: 'A', value: 'v' });
    }
    await expect(createCoordinator({ store, agentSecret: 'a-registration-secret', schedules: false })).rejects.toThrow(
      /holds 1 secret\(s\) but this coordinator has no secrets key/,
    );
    await expect(
      createCoordinator({ store, agentSecret: 'a-registration-secret', schedules: false, secretsKeyPrevious: key() }),
    ).rejects.toThrow(/without a secrets key/);
  });
});
