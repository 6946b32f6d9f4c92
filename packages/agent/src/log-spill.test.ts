import { access, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogShipper } from './log-shipper.js';
import { createLogSpill } from './log-spill.js';

type Chunk = { seq: number; offset: number; text: string };

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'hf-spill-'));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

describe('log spill', () => {
  it('gives chunks back in order, by batch size, and empties its file once all were taken', async () => {
    await using tmp = await tempDir();
    const path = join(tmp.dir, 'spill', 'job-a1.log');
    const spill = createLogSpill(path);
    const texts = ['héllo\n', 'wörld 😀\n', 'x'.repeat(100), 'last\n'];
    let offset = 0;
    texts.forEach((text, seq) => {
      const bytes = Buffer.byteLength(text);
      spill.append({ seq, offset, text }, bytes);
      offset += bytes;
    });
    expect(spill.count).toBe(4);
    const first = await spill.take(30);
    expect(first.chunks.map((c) => c.text)).toEqual(['héllo\n', 'wörld 😀\n']);
    expect(first.sizes).toEqual([7, 12]);
    // One chunk larger than asked comes alone.
    const second = await spill.take(30);
    expect(second.chunks).toEqual([{ seq: 2, offset: 19, text: 'x'.repeat(100) }]);
    spill.append({ seq: 4, offset: 123, text: 'after\n' }, 6);
    const third = await spill.take(1_000);
    expect(third.chunks.map((c) => [c.seq, c.text])).toEqual([
      [3, 'last\n'],
      [4, 'after\n'],
    ]);
    expect(spill.count).toBe(0);
    await spill.take(0);
    expect((await stat(path)).size).toBe(0);
    // The file starts again from its beginning.
    spill.append({ seq: 5, offset: 129, text: 'again\n' }, 6);
    expect((await spill.take(100)).chunks).toEqual([{ seq: 5, offset: 129, text: 'again\n' }]);
    await spill.close();
    expect(await exists(path)).toBe(false);
  });
});

describe('log shipper with a spill file', () => {
  it('a job printing while the coordinator cannot take its log is not held up: the excess waits on disk, then goes once, in order', async () => {
    await using tmp = await tempDir();
    const spillPath = join(tmp.dir, 'job-a1.log');
    const sent: Chunk[] = [];
    let out = true;
    const shipper = createLogShipper({
      chunkBytes: 1_000,
      batchBytes: 8_000,
      highWaterBytes: 16_000,
      spillPath,
      send: async (c) => {
        if (out)
          throw Object.assign(new Error('store unavailable'), { data: { hiveforgeCode: 'HF_STORE_UNAVAILABLE' } });
        sent.push(...c);
      },
    });
    const lines = Array.from({ length: 2_000 }, (_, i) => `line ${String(i).padStart(5, '0')} ${'.'.repeat(80)}\n`);
    // 180 KB, ten times the high-water mark: no write asks to wait for long.
    for (const line of lines) {
      if (!shipper.write(line)) await Promise.race([shipper.drained(), new Promise((r) => setTimeout(r, 1_000))]);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(await exists(spillPath)).toBe(true);
    expect((await stat(spillPath)).size).toBeGreaterThan(100_000);
    out = false;
    await shipper.close();
    expect(sent.map((c) => c.seq)).toEqual(sent.map((_, i) => i));
    let offset = 0;
    for (const c of sent) {
      expect(c.offset).toBe(offset);
      offset += Buffer.byteLength(c.text);
    }
    expect(sent.map((c) => c.text).join('')).toBe(lines.join(''));
    expect(await exists(spillPath)).toBe(false);
  });

  it('without a spill file, writers wait once the high-water mark is passed', async () => {
    let out = true;
    const shipper = createLogShipper({
      highWaterBytes: 1_000,
      send: async () => {
        if (out)
          throw Object.assign(new Error('store unavailable'), { data: { hiveforgeCode: 'HF_STORE_UNAVAILABLE' } });
      },
    });
    expect(shipper.write(`${'a'.repeat(2_000)}\n`)).toBe(false);
    out = false;
    await shipper.close();
  });
});
