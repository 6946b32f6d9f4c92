import { expect, it } from 'vitest';
import type { Store } from '../types.js';
import { makeToken } from './fixtures.js';

/** The contract of tokens, run inside `describeStoreContract` on the store it made for each test. */
export function describeTokensContract(storeOf: () => Store): void {
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
}
