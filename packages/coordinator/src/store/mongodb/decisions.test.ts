import { describe, expect, it } from 'vitest';
import { createMongoStore } from './index.js';
import { ferretStoreKit, batchSizes } from './test-kit.js';

const { ferretUri, freshDbName, freshStore, withWatchedStore } = ferretStoreKit();

describe('decisions of the MongoDB store on FerretDB', () => {
  it('decisions made at once go to the server together (group commit), each with its own outcome', async () => {
    const { sizes: inserts, onCommand } = batchSizes('insert', 'decisions');
    await withWatchedStore(onCommand, async (store) => {
      inserts.length = 0; // the store's start records a decision of its own (HISTORY_BACKFILLED)
      expect((await store.decide('taken', { by: 'first' })).won).toBe(true);
      expect(inserts).toEqual([1]);
      inserts.length = 0;
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.decide(i % 10 === 0 ? 'taken' : `d${i}`, { by: i })),
      );
      results.forEach((result, i) => {
        if (i % 10 === 0)
          expect(result).toMatchObject({ won: false, decision: { _id: 'taken', data: { by: 'first' } } });
        else expect(result).toMatchObject({ won: true, decision: { _id: `d${i}`, data: { by: i } } });
      });
      expect(await store.getDecision('d39')).toMatchObject({ data: { by: 39 } });
      // Every decision was sent once; the first went alone, the rest in fewer, larger inserts.
      expect(inserts.reduce((sum, n) => sum + n, 0)).toBe(40);
      expect(inserts[0]).toBe(1);
      expect(inserts.length).toBeLessThan(40);
    });
  });

  it('decisions racing from two store instances have exactly one winner', async () => {
    const dbName = freshDbName();
    const a = await freshStore(ferretUri(), { dbName });
    const b = await createMongoStore({ uri: ferretUri(), dbName });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => [
          a.decide('run:1/job:build/attempt:1/lease', { store: 'a', i }),
          b.decide('run:1/job:build/attempt:1/lease', { store: 'b', i }),
        ]).flat(),
      );
      const winners = results.filter((r) => r.won);
      expect(winners).toHaveLength(1);
      for (const r of results) expect(r.decision).toEqual(winners[0]?.decision);
      expect((await b.getDecision('run:1/job:build/attempt:1/lease'))?.data).toEqual(winners[0]?.decision.data);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
