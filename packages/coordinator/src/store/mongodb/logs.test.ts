import { Binary } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { makeLogChunk } from '../contract.js';
import { ferretStoreKit } from './test-kit.js';

const { ferretUri, freshDbName, adminOf, freshStore } = ferretStoreKit();

describe('logs of the MongoDB store on FerretDB', () => {
  it('counts a chunk repeated within one batch once', async () => {
    const store = await freshStore(ferretUri());
    try {
      const chunk = { _id: 'j#1#0', jobId: 'j', runId: 'r', attempt: 1, seq: 0, offset: 0, text: 'x', at: 0 };
      expect(await store.appendLogChunks([chunk, chunk, { ...chunk, _id: 'j#1#1', seq: 1 }])).toBe(2);
      expect(await store.appendLogChunks([chunk])).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('stores large log chunks deflated as Binary, small ones plain, and still reads plain documents', async () => {
    const dbName = freshDbName();
    const store = await freshStore(ferretUri(), { dbName });
    try {
      const raw = adminOf(ferretUri()).db(dbName).collection<{ _id: string; [key: string]: unknown }>('log_chunks');
      const big = 'PASS src/store/contract.ts > log chunks ✓ 12 ms\n'.repeat(1_000);
      const chunk = (seq: number, text: string) => makeLogChunk('j', seq, text);
      expect(await store.appendLogChunks([chunk(0, big), chunk(1, 'tiny\n')])).toBe(2);
      const stored = await raw.findOne({ _id: 'j#1#0' });
      expect(stored).not.toHaveProperty('text');
      expect(stored?._encoding).toBe('deflate-raw');
      expect(stored?._data).toBeInstanceOf(Binary);
      const packed = stored?._data instanceof Binary ? stored._data.length() : 0;
      expect(packed).toBeGreaterThan(0);
      expect(packed * 10).toBeLessThan(Buffer.byteLength(big));
      expect(await raw.findOne({ _id: 'j#1#1' })).toMatchObject({ text: 'tiny\n' });
      expect(await raw.findOne({ _id: 'j#1#1' })).not.toHaveProperty('_data');
      // A resend of the compressed chunk stays one document, unchanged.
      expect(await store.appendLogChunks([chunk(0, big)])).toBe(0);
      expect(await raw.countDocuments({})).toBe(2);
      // Written before compression: plain text, no encoding.
      await raw.insertOne({ ...chunk(2, 'old plain text\n'.repeat(100)) });
      const read = await store.readLogChunks('j');
      expect(read).toStrictEqual([chunk(0, big), chunk(1, 'tiny\n'), chunk(2, 'old plain text\n'.repeat(100))]);
    } finally {
      await store.close();
    }
  });
});
