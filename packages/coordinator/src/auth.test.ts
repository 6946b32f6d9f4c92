import { describe, expect, it } from 'vitest';
import { TOKEN_USE_WRITE_EVERY_MS, createAgentTokenCache, createTokenMemo, hashToken, resolveCaller } from './auth.js';
import { issueUserToken } from './tokens.js';
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

    expect(await resolveCaller(store, bearer, { agents })).toMatchObject({ kind: 'agent', agent: { state: 'active' } });
    expect(await resolveCaller(store, bearer, { agents })).toMatchObject({ kind: 'agent', agent: { state: 'active' } });
    expect(reads()).toBe(1);

    // Suspended through another coordinator: seen here once the TTL is over, not before.
    await store.updateAgent('a1', { state: 'suspended' });
    now = 999;
    expect(await resolveCaller(store, bearer, { agents })).toMatchObject({ agent: { state: 'active' } });
    now = 1_000;
    expect(await resolveCaller(store, bearer, { agents })).toMatchObject({ agent: { state: 'suspended' } });
    expect(reads()).toBe(2);

    // Changed through this coordinator: forgotten, so the next request reads it.
    await store.updateAgent('a1', { state: 'active' });
    agents.forget('a1');
    expect(await resolveCaller(store, bearer, { agents })).toMatchObject({ agent: { state: 'active' } });
    expect(reads()).toBe(3);

    // A gone agent's token stops working once its record is read again, and is not kept.
    await store.updateAgent('a1', { state: 'gone' });
    agents.forget('a1');
    const refused = { kind: 'anonymous', refused: expect.stringMatching(/agent 'a1' is gone/) };
    expect(await resolveCaller(store, bearer, { agents })).toEqual(refused);
    expect(await resolveCaller(store, bearer, { agents })).toEqual(refused);
    expect(reads()).toBe(5);
  });

  it('a gone agent marked through another coordinator is refused no later than the TTL', async () => {
    const store = createMemoryStore();
    await store.putAgent(agent('a1', 'hfa_one'));
    let now = 0;
    const agents = createAgentTokenCache({ ttlMs: 1_000, now: () => now });
    expect(await resolveCaller(store, 'Bearer hfa_one', { agents })).toMatchObject({ kind: 'agent' });
    await store.updateAgent('a1', { state: 'gone' });
    now = 1_000;
    expect(await resolveCaller(store, 'Bearer hfa_one', { agents })).toMatchObject({ kind: 'anonymous' });
    await store.removeGoneAgent('a1');
    expect(await resolveCaller(store, 'Bearer hfa_one', { agents })).toEqual({ kind: 'anonymous' });
  });

  it('never keeps an unknown token, and keeps nothing with a TTL of 0', async () => {
    const { store, reads } = counted(createMemoryStore());
    await store.putAgent(agent('a1', 'hfa_one'));
    const cache = createAgentTokenCache({ ttlMs: 1_000, now: () => 0 });
    expect(await resolveCaller(store, 'Bearer hfa_unknown', { agents: cache })).toEqual({ kind: 'anonymous' });
    expect(await resolveCaller(store, 'Bearer hfa_unknown', { agents: cache })).toEqual({ kind: 'anonymous' });
    expect(reads()).toBe(2);
    // Registered after a first try: the token works at once.
    await store.putAgent(agent('a2', 'hfa_unknown'));
    expect(await resolveCaller(store, 'Bearer hfa_unknown', { agents: cache })).toMatchObject({ agent: { _id: 'a2' } });

    const none = createAgentTokenCache({ ttlMs: 0, now: () => 0 });
    const before = reads();
    await resolveCaller(store, 'Bearer hfa_one', { agents: none });
    await resolveCaller(store, 'Bearer hfa_one', { agents: none });
    expect(reads() - before).toBe(2);
  });
});

describe('user tokens', () => {
  it('are refused once expired or revoked, saying which', async () => {
    const store = createMemoryStore();
    let now = Date.parse('2026-05-01T00:00:00Z');
    const clock = () => now;
    const issued = await issueUserToken(store, { name: 'ci', role: 'maintainer', expires: '1d', now: clock });
    expect(issued.expiresAt).toBe(now + 86_400_000);
    const bearer = `Bearer ${issued.token}`;
    expect(await resolveCaller(store, bearer, { now: clock })).toEqual({
      kind: 'user',
      name: 'ci',
      role: 'maintainer',
    });
    now += 86_400_000;
    expect(await resolveCaller(store, bearer, { now: clock })).toEqual({
      kind: 'anonymous',
      refused: 'token expired on 2026-05-02T00:00:00.000Z',
    });

    const forever = await issueUserToken(store, { name: 'bot', role: 'viewer', now: clock });
    expect(forever.expiresAt).toBeNull();
    await store.revokeToken(forever.id, Date.parse('2026-06-01T00:00:00Z'));
    expect(await resolveCaller(store, `Bearer ${forever.token}`, { now: clock })).toEqual({
      kind: 'anonymous',
      refused: 'token revoked on 2026-06-01T00:00:00.000Z',
    });
  });

  it('record their last use at most once a minute per coordinator', async () => {
    const store = createMemoryStore();
    let now = 1_000_000;
    const clock = () => now;
    const tokens = createTokenMemo();
    const issued = await issueUserToken(store, { name: 'ci', role: 'viewer', now: clock });
    const lastUse = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return (await store.listTokens())[0]?.lastUsedAt;
    };
    expect(await lastUse()).toBeNull();
    await resolveCaller(store, `Bearer ${issued.token}`, { tokens, now: clock });
    expect(await lastUse()).toBe(1_000_000);
    now += TOKEN_USE_WRITE_EVERY_MS - 1;
    await resolveCaller(store, `Bearer ${issued.token}`, { tokens, now: clock });
    expect(await lastUse()).toBe(1_000_000);
    now += 1;
    await resolveCaller(store, `Bearer ${issued.token}`, { tokens, now: clock });
    expect(await lastUse()).toBe(1_000_000 + TOKEN_USE_WRITE_EVERY_MS);
  });
});
