import { StoreUnavailableError } from '@hiveforge/sdk';
import { MongoNetworkError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createCoordinator } from './server.js';
import { createMemoryStore } from './store/memory.js';
import type { Store } from './store/types.js';

/**
 * A memory store whose named methods fail as a MongoDB store's would while its server is gone:
 * with the raw driver error (as when one escapes a store) or with the store's own
 * `StoreUnavailableError`, or never answer.
 */
function faultyStore() {
  const memory = createMemoryStore();
  const faults = new Map<string | symbol, () => Promise<never>>();
  const store = new Proxy(memory, {
    get: (target, key, receiver) => faults.get(key) ?? Reflect.get(target, key, receiver),
  }) as Store;
  return {
    store,
    fail(method: keyof Store, error: () => Error) {
      faults.set(method, () => Promise.reject(error()));
    },
    hang(method: keyof Store) {
      faults.set(method, () => new Promise<never>(() => {}));
    },
    heal() {
      faults.clear();
    },
  };
}

const closed = () => new MongoNetworkError('connection 13 to 127.0.0.1:27017 closed');

const post = async (url: string, path: string, body: unknown, token?: string) => {
  const res = await fetch(`${url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { data?: Record<string, unknown> } } };
};

describe('a store outage reaches callers as a retryable 503 HF_STORE_UNAVAILABLE, and /readyz says so within a second', () => {
  it('a raw driver error in a tRPC procedure, in a direct agent call, while reading the caller, and in the artifacts handler', async () => {
    const faulty = faultyStore();
    await using coordinator = await createCoordinator({
      store: faulty.store,
      agentSecret: 's3cret',
      agentCacheTtl: '0s',
    });
    const { url } = coordinator;
    const unavailable = {
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      hiveforgeCode: 'HF_STORE_UNAVAILABLE',
      retryable: true,
    };

    // tRPC procedure (agent.register goes through tRPC's handler).
    faulty.fail('putAgent', closed);
    const registering = await post(url, 'agent.register', { secret: 's3cret', name: 'a1' });
    expect(registering.status).toBe(503);
    expect(registering.body.error?.data).toMatchObject(unavailable);
    faulty.heal();
    const registered = await post(url, 'agent.register', { secret: 's3cret', name: 'a1' });
    const token = (registered.body as unknown as { result: { data: { token: string } } }).result.data.token;

    // A direct agent call whose store read fails with the raw driver error.
    faulty.fail('getJob', closed);
    faulty.fail('getDecision', closed);
    const starting = await post(url, 'agent.start', { jobId: 'p/1/a', attempt: 1 }, token);
    expect(starting.status).toBe(503);
    expect(starting.body.error?.data).toMatchObject(unavailable);
    faulty.heal();
    // Without the outage the same call is a permanent 404.
    expect((await post(url, 'agent.start', { jobId: 'p/1/a', attempt: 1 }, token)).status).toBe(404);

    // The caller's token cannot be read: raised while the request's context is built.
    faulty.fail('getAgentByTokenHash', () => new StoreUnavailableError('MongoDB is unavailable (getAgentByTokenHash)'));
    const direct = await post(url, 'agent.heartbeat', { leases: [], disk: null }, token);
    expect(direct.status).toBe(503);
    expect(direct.body.error?.data).toMatchObject(unavailable);
    const query = await fetch(`${url}/trpc/agent.bundle?input=${encodeURIComponent('{"versionId":"v1"}')}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(query.status).toBe(503);
    expect(((await query.json()) as { error: { data: unknown } }).error.data).toMatchObject(unavailable);
    faulty.heal();

    // The artifacts handler (an agent's download first reads the jobs it holds).
    faulty.fail('findJobsOfAgent', closed);
    const artifact = await fetch(`${url}/api/artifacts/p%2F1?name=dist`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(artifact.status).toBe(503);
    expect(await artifact.json()).toMatchObject({ code: 'HF_STORE_UNAVAILABLE', retryable: true });
  });

  it('/readyz: 200 when the store answers a ping, 503 with a reason within a second when it fails or does not answer', async () => {
    const faulty = faultyStore();
    await using coordinator = await createCoordinator({ store: faulty.store, agentSecret: 's3cret' });
    const readyz = async () => {
      const started = Date.now();
      const res = await fetch(`${coordinator.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, body: await res.json(), ms: Date.now() - started };
    };
    expect(await readyz()).toMatchObject({
      status: 200,
      body: { ready: true, store: { jobIndex: 'memory', wakeups: 'local' } },
    });
    faulty.hang('ping');
    const hanging = await Promise.all([readyz(), readyz(), readyz()]);
    for (const answer of hanging) {
      expect(answer).toMatchObject({
        status: 503,
        body: { ready: false, reason: expect.stringMatching(/^store did not answer/) },
      });
      expect(answer.ms).toBeLessThan(1_000);
    }
    faulty.fail('ping', closed);
    // The hanging ping is shared by the checks of the next 5 s; the one after sends a new ping.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await readyz()).toMatchObject({
      status: 503,
      body: { ready: false, reason: expect.stringMatching(/^store unreachable/) },
    });
    faulty.heal();
    expect(await readyz()).toMatchObject({ status: 200 });
  });
});
