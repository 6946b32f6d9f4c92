import { API_VERSION, StoreUnavailableError } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { createHiveForgeClient, hiveforgeErrorCode } from './client.js';
import { createCoordinator } from './server.js';
import { makeJobSpec } from './store/contract.js';
import { createMemoryStore } from './store/memory.js';
import type { Store } from './store/types.js';
import { issueUserToken } from './tokens.js';

/** Store methods that answer without a round trip (no outage can fail them). */
const LOCAL = new Set<string | symbol>(['jobIndex', 'wakeupMode', 'notify', 'subscribe']);

/**
 * A memory store that can be taken down, as a MongoDB store whose server is gone: its ping fails,
 * and every other call waits (for the driver's server selection, which outlasts the test).
 */
function storeThatGoesDown() {
  const memory = createMemoryStore();
  let down = false;
  const store = new Proxy(memory, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (!down || LOCAL.has(key) || typeof value !== 'function') return value;
      if (key === 'ping') return () => Promise.reject(new StoreUnavailableError('MongoDB is unavailable (ping)'));
      return () => new Promise(() => {});
    },
  }) as Store;
  return {
    store,
    memory,
    setDown(value: boolean) {
      down = value;
    },
  };
}

/** The HF code a call failed with (`ok`, or `no answer` after 3 s), and how long it took. */
async function outcome(call: Promise<unknown>): Promise<{ code: string | null; ms: number }> {
  const at = Date.now();
  const answered = call.then(
    () => 'ok',
    (error: unknown) => hiveforgeErrorCode(error),
  );
  const late = new Promise<string>((resolve) => setTimeout(() => resolve('no answer'), 3_000).unref());
  return { code: await Promise.race([answered, late]), ms: Date.now() - at };
}

const until = async (check: () => Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('reads while the store is out', () => {
  it('answer what this coordinator saw, marked stale, only to tokens it saw accepted; everything else is the 503 at once; fresh once the store is back', async () => {
    const faulty = storeThatGoesDown();
    const { store } = faulty;
    await store.putPipelineVersion({
      _id: 'v1',
      pipeline: 'web',
      spec: {
        apiVersion: API_VERSION,
        name: 'web',
        triggers: { push: null, pullRequest: null, schedule: [], manual: null },
        strictImages: false,
        env: {},
        images: [],
        jobs: [makeJobSpec('build')],
        source: null,
      },
      bundle: '',
      entry: 'hiveforge.ts',
      createdAt: 1,
    });
    await store.setPipelineHead('web', 'v1', 1);
    await using coordinator = await createCoordinator({ store, agentSecret: 's3cret', schedules: false });
    const seen = createHiveForgeClient({
      url: coordinator.url,
      token: (await issueUserToken(store, { name: 'maya', role: 'maintainer' })).token,
    });
    // A token this coordinator saw accepted, then revoked itself: forgotten at once.
    const admin = createHiveForgeClient({
      url: coordinator.url,
      token: (await issueUserToken(store, { name: 'ada', role: 'admin' })).token,
    });
    const revokedToken = await issueUserToken(store, { name: 'rex', role: 'viewer' });
    const revoked = createHiveForgeClient({ url: coordinator.url, token: revokedToken.token });
    // A token the coordinator has not seen the store accept before the outage.
    const unseen = createHiveForgeClient({
      url: coordinator.url,
      token: (await issueUserToken(store, { name: 'vic', role: 'viewer' })).token,
    });

    const run = await seen.runs.trigger.mutate({ pipeline: 'web' });
    const fresh = await seen.runs.get.query({ runId: run._id });
    const listed = await seen.runs.list.query({ pipeline: 'web' });
    expect(await revoked.runs.list.query({ pipeline: 'web' })).toHaveLength(1);
    await admin.tokens.revoke.mutate({ id: revokedToken.id });
    expect(fresh.stale).toBeUndefined();
    expect(listed.map((r) => r.stale)).toEqual([undefined]);

    faulty.setDown(true);
    await until(async () => (await fetch(`${coordinator.url}/readyz`)).status === 503);
    await until(async () => (await seen.runs.get.query({ runId: run._id })).stale !== undefined);
    const stale = await seen.runs.get.query({ runId: run._id });
    expect(stale).toEqual({
      ...fresh,
      stale: { since: expect.any(Number), seenAt: expect.any(Number), reason: 'store unavailable' },
    });
    const staleList = await seen.runs.list.query({ pipeline: 'web' });
    expect(staleList).toEqual([{ ...listed[0], stale: stale.stale && { ...stale.stale, seenAt: expect.any(Number) } }]);

    // Not seen, not cacheable, a write, or a caller not seen: the 503, at once.
    for (const call of [
      () => seen.runs.get.query({ runId: 'web/99' }),
      () => seen.runs.list.query({ pipeline: 'other' }),
      () => seen.runs.logs.query({ runId: run._id, job: 'build' }),
      () => seen.runs.cancel.mutate({ runId: run._id }),
      () => seen.pipelines.list.query(),
      () => unseen.runs.get.query({ runId: run._id }),
      () => revoked.runs.list.query({ pipeline: 'web' }),
    ]) {
      const answer = await outcome(call());
      expect(answer, String(call)).toMatchObject({ code: 'HF_STORE_UNAVAILABLE' });
      expect(answer.ms).toBeLessThan(1_000);
    }
    // Nothing changed meanwhile: the cancel was refused before it reached the store.
    faulty.setDown(false);
    expect((await faulty.memory.getRun(run._id))?.status).toBe('running');

    // Fresh again once this coordinator's next ping (every second) answers.
    const backAt = Date.now();
    await until(async () => (await seen.runs.get.query({ runId: run._id })).stale === undefined);
    expect(Date.now() - backAt).toBeLessThan(2_000);
    expect((await fetch(`${coordinator.url}/readyz`)).status).toBe(200);
    expect((await unseen.runs.list.query({ pipeline: 'web' })).map((r) => r.stale)).toEqual([undefined]);
  });
});
