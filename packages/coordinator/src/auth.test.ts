import { describe, expect, it } from 'vitest';
import { createAgentTokenCache, hashToken, resolveCaller } from './auth.js';
import { createMemoryStore } from './store/memory.js';
import type { AgentRecord, Store } from './store/types.js';

const agent = (id: string, token: string): AgentRecord => ({
  _id: id,
  name: id,
  labels: [],
  state: 'active',
  tokenHash: hashToken(token),
  capacity: 1,
  registeredAt: 0,
  lastHeartbeatAt: 0,
  disk: null,
});

/** A memory store that counts its reads of agents by token hash. */
function counted(store: Store): { store: Store; reads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'getAgentByTokenHash') return Reflect.get(target, property, receiver);
      return (hash: string) => {
        reads++;
        return target.getAgentByTokenHash(hash);
      };
    },
  });
  return { store: wrapped, reads: () => reads };
}

describe('agent token cache', () => {
  it('keeps an agent record for its TTL, then reads it again; forget drops it at once', async () => {
    const { store, reads } = counted(createMemoryStore());
    await store.putAgent(agent('a1', 'hfa_one'));
    let now = 0;
    const agents = createAgentTokenCache({ ttlMs: 1_000, now: () => now });
    const bearer = 'Bearer hfa_one';

    expect(await resolveCaller(store, bearer, agents)).toMatchObject({ kind: 'agent', agent: { state: 'active' } });
    expect(await resolveCaller(store, bearer, agents)).toMatchObject({ kind: 'agent', agent: { state: 'active' } });
    expect(reads()).toBe(1);

    // Suspended through another coordinator: seen here once the TTL is over, not before.
    await store.updateAgent('a1', { state: 'suspended' });
    now = 999;
    expect(await resolveCaller(store, bearer, agents)).toMatchObject({ agent: { state: 'active' } });
    now = 1_000;
    expect(await resolveCaller(store, bearer, agents)).toMatchObject({ agent: { state: 'suspended' } });
    expect(reads()).toBe(2);

    // Changed through this coordinator: forgotten, so the next request reads it.
    await store.updateAgent('a1', { state: 'active' });
    agents.forget('a1');
    expect(await resolveCaller(store, bearer, agents)).toMatchObject({ agent: { state: 'active' } });
    expect(reads()).toBe(3);

    // A removed agent's token stops working once its record is read again.
    await store.updateAgent('a1', { state: 'gone' });
    agents.forget('a1');
    expect(await resolveCaller(store, bearer, agents)).toEqual({ kind: 'anonymous' });
    expect(await resolveCaller(store, bearer, agents)).toEqual({ kind: 'anonymous' });
    expect(reads()).toBe(5);
  });

  it('never keeps an unknown token, and keeps nothing with a TTL of 0', async () => {
    const { store, reads } = counted(createMemoryStore());
    await store.putAgent(agent('a1', 'hfa_one'));
    const cache = createAgentTokenCache({ ttlMs: 1_000, now: () => 0 });
    expect(await resolveCaller(store, 'Bearer hfa_unknown', cache)).toEqual({ kind: 'anonymous' });
    expect(await resolveCaller(store, 'Bearer hfa_unknown', cache)).toEqual({ kind: 'anonymous' });
    expect(reads()).toBe(2);
    // Registered after a first try: the token works at once.
    await store.putAgent(agent('a2', 'hfa_unknown'));
    expect(await resolveCaller(store, 'Bearer hfa_unknown', cache)).toMatchObject({ agent: { _id: 'a2' } });

    const none = createAgentTokenCache({ ttlMs: 0, now: () => 0 });
    const before = reads();
    await resolveCaller(store, 'Bearer hfa_one', none);
    await resolveCaller(store, 'Bearer hfa_one', none);
    expect(reads() - before).toBe(2);
  });
});
