import { expect, it } from 'vitest';
import type { Store } from '../types.js';
import { makeLogChunk } from './fixtures.js';

/** The contract of logs, run inside `describeStoreContract` on the store it made for each test. */
export function describeLogsContract(storeOf: () => Store): void {
  it('log chunks are idempotent on resend and read back in order', async () => {
    const store = storeOf();
    const chunk = (seq: number, attempt = 1) => ({
      _id: `j#${attempt}#${seq}`,
      jobId: 'j',
      runId: 'r',
      attempt,
      seq,
      offset: seq * 2,
      text: `${attempt}.${seq}`,
      at: 0,
    });
    expect(await store.appendLogChunks([chunk(1), chunk(0)])).toBe(2);
    expect(await store.appendLogChunks([chunk(1), chunk(2), chunk(0, 2)])).toBe(2);
    expect((await store.readLogChunks('j')).map((c) => c.text)).toEqual(['1.0', '1.1', '1.2', '2.0']);
    expect((await store.readLogChunks('j', { attempt: 1, seq: 1 })).map((c) => c.text)).toEqual(['1.2', '2.0']);
  });

  it('log chunks round-trip large, compressible, incompressible and unicode text exactly', async () => {
    const store = storeOf();
    const chunk = (seq: number, text: string) => makeLogChunk('big', seq, text);
    let random = 7;
    const next = () => {
      random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
      return random;
    };
    const texts = [
      'npm ci: added 1234 packages in 3s\n'.repeat(2_000),
      // Code points from all over the BMP and beyond: next to nothing to compress.
      Array.from({ length: 20_000 }, () => String.fromCodePoint(0x4e00 + (next() % 0x5000))).join(''),
      Array.from({ length: 5_000 }, () => String.fromCharCode(0x21 + (next() % 94))).join(''),
      'héllo wörld ✓ 日本語 🚀 \u0000 tab\t\r\n'.repeat(300),
      'short ✓',
      '',
    ];
    expect(await store.appendLogChunks(texts.map((text, i) => chunk(i, text)))).toBe(texts.length);
    // A resend of the same chunks is dropped, however they were stored.
    expect(await store.appendLogChunks(texts.map((text, i) => chunk(i, text)))).toBe(0);
    const read = await store.readLogChunks('big');
    expect(read.map((c) => c.text)).toEqual(texts);
    expect(read[0]).toEqual(chunk(0, texts[0] as string));
    expect((await store.readLogChunks('big', { attempt: 1, seq: 3 }, 1)).map((c) => c.text)).toEqual([texts[4]]);
  });

  it('a byte-limited read of log chunks stops at the chunk that reaches the limit', async () => {
    const store = storeOf();
    // 40 chunks of 1000 bytes (the 'é' is two), over two attempts.
    const texts = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}é${'x'.repeat(996)}`);
    const chunks = texts.map((text, i) => ({
      ...makeLogChunk('paged', i % 20, text),
      _id: `paged#${1 + Math.floor(i / 20)}#${i % 20}`,
      attempt: 1 + Math.floor(i / 20),
    }));
    expect(await store.appendLogChunks(chunks)).toBe(40);
    const page = await store.readLogChunks('paged', undefined, { bytes: 4_500 });
    expect(page.map((c) => c.text)).toEqual(texts.slice(0, 5));
    expect((await store.readLogChunks('paged', undefined, { bytes: 4_000 })).length).toBe(4);
    // From a position, across attempts, with a chunk limit too.
    const across = await store.readLogChunks('paged', { attempt: 1, seq: 18 }, { bytes: 10_000, chunks: 3 });
    expect(across.map((c) => [c.attempt, c.seq])).toEqual([
      [1, 19],
      [2, 0],
      [2, 1],
    ]);
    // Following pages reads every chunk once, in order.
    const all: string[] = [];
    let after: { attempt: number; seq: number } | undefined;
    for (;;) {
      const next = await store.readLogChunks('paged', after, { bytes: 3_000, chunks: 100 });
      if (next.length === 0) break;
      expect(next.length).toBeLessThanOrEqual(3);
      all.push(...next.map((c) => c.text));
      const last = next.at(-1) as { attempt: number; seq: number };
      after = { attempt: last.attempt, seq: last.seq };
    }
    expect(all).toEqual(texts);
  });
}
