import { describe, expect, it } from 'vitest';
import { createMongoStore } from './index.js';
import { ferretStoreKit } from './test-kit.js';

const { ferretUri, freshDbName, adminOf } = ferretStoreKit();

describe('tokens of the MongoDB store on FerretDB', () => {
  it('tokens stored before they had ids get one at start, and keep working', async () => {
    const uri = ferretUri();
    const dbName = freshDbName();
    const db = adminOf(uri).db(dbName);
    try {
      await db
        .collection<{ _id: string; name: string; role: string; createdAt: number }>('tokens')
        .insertOne({ _id: 'legacy-hash', name: 'old', role: 'admin', createdAt: 5 });
      const store = await createMongoStore({ uri, dbName });
      const token = await store.getToken('legacy-hash');
      expect(token).toMatchObject({ _id: 'legacy-hash', name: 'old', role: 'admin', expiresAt: null, revokedAt: null });
      expect(token?.id).toMatch(/^tok_[0-9a-f]{16}$/);
      expect((await store.listTokens()).map((t) => t.id)).toEqual([token?.id]);
      expect(await store.revokeToken(token?.id as string, 9)).toMatchObject({ name: 'old', revokedAt: 9 });
      await store.close();
    } finally {
      await db.dropDatabase();
    }
  });
});
