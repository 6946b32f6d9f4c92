import { expect, it } from 'vitest';
import type { AgentRecord, Store, TokenRecord } from './types.js';

/** A token record with defaults, for contract tests. */
export function makeToken(hash: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    _id: hash,
    id: `tok_${hash}`,
    name: hash,
    role: 'viewer',
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** An agent record with defaults, for contract tests. */
export function makeAgent(id: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    _id: id,
    name: id,
    labels: [],
    state: 'active',
    tokenHash: `hash-${id}`,
    capacity: 1,
    registeredAt: 0,
    lastHeartbeatAt: 0,
    disk: null,
    ...overrides,
  };
}

/**
 * The contract of tokens (expiry, revocation, last use) and of agents' end (silent, gone,
 * removed), run inside `describeStoreContract` on the store it made for each test.
 */
export function describeAccessContract(storeOf: () => Store): void {
  it('tokens: found by hash, listed by id without hashes, oldest first, with expiry', async () => {
    const store = storeOf();
    await store.putToken(makeToken('h2', { id: 'tok_b', createdAt: 20, role: 'admin', expiresAt: 1_000 }));
    await store.putToken(makeToken('h1', { id: 'tok_a', createdAt: 10 }));
    expect(await store.getToken('h2')).toEqual(
      makeToken('h2', { id: 'tok_b', createdAt: 20, role: 'admin', expiresAt: 1_000 }),
    );
    expect(await store.getToken('tok_b')).toBeNull();
    const listed = await store.listTokens();
    expect(listed.map((t) => t.id)).toEqual(['tok_a', 'tok_b']);
    expect(listed[1]).toEqual({
      id: 'tok_b',
      name: 'h2',
      role: 'admin',
      createdAt: 20,
      expiresAt: 1_000,
      revokedAt: null,
      lastUsedAt: null,
    });
    expect(Object.keys(listed[0] ?? {})).not.toContain('_id');
  });

  it('tokens: a token put under an id that another has replaces it', async () => {
    const store = storeOf();
    await store.putToken(makeToken('old', { id: 'bootstrap-admin', role: 'admin' }));
    await store.putToken(makeToken('other'));
    await store.putToken(makeToken('new', { id: 'bootstrap-admin', role: 'admin', createdAt: 5 }));
    expect(await store.getToken('old')).toBeNull();
    expect((await store.getToken('new'))?.id).toBe('bootstrap-admin');
    expect((await store.listTokens()).map((t) => t.id)).toEqual(['tok_other', 'bootstrap-admin']);
  });

  it('tokens: revoked by id once, the first time kept; an unknown id revokes nothing', async () => {
    const store = storeOf();
    await store.putToken(makeToken('h1'));
    await store.putToken(makeToken('h2'));
    expect(await store.revokeToken('tok_h1', 100)).toMatchObject({ id: 'tok_h1', revokedAt: 100 });
    expect(await store.revokeToken('tok_h1', 200)).toMatchObject({ id: 'tok_h1', revokedAt: 100 });
    expect((await store.getToken('h1'))?.revokedAt).toBe(100);
    expect((await store.getToken('h2'))?.revokedAt).toBeNull();
    expect(await store.revokeToken('tok_none', 300)).toBeNull();
    expect(await store.revokeToken('h2', 300)).toBeNull();
  });

  it('tokens: the latest use is kept apart from the record and shown in lists', async () => {
    const store = storeOf();
    await store.putToken(makeToken('h1'));
    await store.touchToken('h1', 50);
    await store.touchToken('h1', 40);
    expect((await store.listTokens())[0]?.lastUsedAt).toBe(50);
    // Uses written at the same moment: one of them is kept (FerretDB updates by read-then-replace).
    await Promise.all([store.touchToken('h1', 70), store.touchToken('h1', 60)]);
    expect([60, 70]).toContain((await store.listTokens())[0]?.lastUsedAt);
    expect(await store.getToken('h1')).toEqual(makeToken('h1'));
    // A use recorded as the token is revoked does not undo the revocation.
    await Promise.all([store.revokeToken('tok_h1', 80), store.touchToken('h1', 80)]);
    expect((await store.getToken('h1'))?.revokedAt).toBe(80);
    expect(await store.revokeToken('tok_h1', 90)).toMatchObject({ revokedAt: 80, lastUsedAt: 80 });
  });

  it('agents: silent ones are found longest silent first, gone ones never', async () => {
    const store = storeOf();
    await store.putAgent(makeAgent('a', { lastHeartbeatAt: 300 }));
    await store.putAgent(makeAgent('b', { lastHeartbeatAt: 100 }));
    await store.putAgent(makeAgent('c', { lastHeartbeatAt: 200, state: 'draining' }));
    await store.putAgent(makeAgent('d', { lastHeartbeatAt: 50, state: 'gone', goneAt: 60 }));
    await store.putAgent(makeAgent('e', { lastHeartbeatAt: 1_000 }));
    expect((await store.findSilentAgents(500, 10)).map((a) => a._id)).toEqual(['b', 'c', 'a']);
    expect((await store.findSilentAgents(500, 2)).map((a) => a._id)).toEqual(['b', 'c']);
    expect((await store.findSilentAgents(100, 10)).map((a) => a._id)).toEqual([]);
    await store.updateAgent('b', { state: 'gone', goneAt: 600 });
    expect((await store.findSilentAgents(500, 10)).map((a) => a._id)).toEqual(['c', 'a']);
    expect((await store.getAgent('b'))?.goneAt).toBe(600);
  });

  it('agents: only gone ones are removed, and their token then finds nobody', async () => {
    const store = storeOf();
    await store.putAgent(makeAgent('live'));
    await store.putAgent(makeAgent('left', { state: 'gone', goneAt: 5 }));
    expect(await store.removeGoneAgent('live')).toBe(false);
    expect((await store.getAgent('live'))?.state).toBe('active');
    expect((await store.getAgentByTokenHash('hash-left'))?._id).toBe('left');
    expect(await store.removeGoneAgent('left')).toBe(true);
    expect(await store.getAgent('left')).toBeNull();
    expect(await store.getAgentByTokenHash('hash-left')).toBeNull();
    expect(await store.removeGoneAgent('left')).toBe(false);
    expect(await store.removeGoneAgent('never')).toBe(false);
    expect((await store.listAgents()).map((a) => a._id)).toEqual(['live']);
  });
}
