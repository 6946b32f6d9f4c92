import { describe, expect, it } from 'vitest';
import { createLogShipper, truncationLine } from './log-shipper.js';

type Chunk = { seq: number; offset: number; text: string };

describe('log shipper', () => {
  it('masks secrets, even when a secret is split across writes', async () => {
    const sent: Chunk[] = [];
    const shipper = createLogShipper({ secrets: ['hunter22', 'ab'], send: async (c) => void sent.push(...c) });
    shipper.write('token=hun');
    shipper.write('ter22 done\nab stays\n');
    await shipper.close();
    const text = sent.map((c) => c.text).join('');
    expect(text).toBe('token=*** done\nab stays\n');
  });

  it('numbers chunks in order with byte offsets', async () => {
    const sent: Chunk[] = [];
    const shipper = createLogShipper({ chunkBytes: 4, send: async (c) => void sent.push(...c) });
    shipper.write('héllo wörld\n');
    await shipper.flush();
    shipper.write('more\n');
    await shipper.close();
    expect(sent.map((c) => c.seq)).toEqual(sent.map((_, i) => i));
    for (let i = 1; i < sent.length; i++) {
      const prev = sent[i - 1] as Chunk;
      expect((sent[i] as Chunk).offset).toBe(prev.offset + Buffer.byteLength(prev.text));
    }
    expect(sent.map((c) => c.text).join('')).toBe('héllo wörld\nmore\n');
  });

  it('resends the same batch after a transport error, so the server can drop duplicates', async () => {
    const attempts: Chunk[][] = [];
    let failures = 1;
    const shipper = createLogShipper({
      send: async (c) => {
        attempts.push(c);
        if (failures-- > 0) throw Object.assign(new Error('socket hang up'), { data: undefined });
      },
    });
    shipper.write('line\n');
    await shipper.close();
    expect(attempts).toHaveLength(2);
    expect(attempts[1]).toEqual(attempts[0]);
  });

  it('stops sending once the coordinator fences the attempt', async () => {
    let calls = 0;
    const shipper = createLogShipper({
      send: async () => {
        calls++;
        throw Object.assign(new Error('fenced'), { data: { httpStatus: 409, hiveforgeCode: 'HF_FENCED' } });
      },
    });
    shipper.write('one\n');
    await shipper.flush();
    expect(shipper.fenced).toBe(true);
    shipper.write('two\n');
    await shipper.close();
    expect(calls).toBe(1);
  });
});

describe('log shipper: sizes, limits, refusals, backpressure', () => {
  it('cuts chunks and batches by UTF-8 bytes, never inside a character', async () => {
    const batches: Chunk[][] = [];
    const shipper = createLogShipper({
      chunkBytes: 1_000,
      batchBytes: 4_000,
      send: async (c) => void batches.push(c),
    });
    const line = `${'é'.repeat(10_000)}€😀\n`;
    shipper.write(line);
    await shipper.close();
    const chunks = batches.flat();
    for (const c of chunks) {
      expect(Buffer.byteLength(c.text)).toBeLessThanOrEqual(1_000);
      expect(c.text).not.toMatch(/\uFFFD/);
    }
    for (const b of batches) expect(b.reduce((n, c) => n + Buffer.byteLength(c.text), 0)).toBeLessThanOrEqual(4_000);
    expect(chunks.map((c) => c.text).join('')).toBe(line);
  });

  it('decodes UTF-8 split across the chunks of a stream', async () => {
    const sent: Chunk[] = [];
    const shipper = createLogShipper({ send: async (c) => void sent.push(...c) });
    const write = shipper.writer();
    const bytes = Buffer.from('héllo €\n');
    for (let i = 0; i < bytes.length; i++) write(bytes.subarray(i, i + 1));
    await shipper.close();
    expect(sent.map((c) => c.text).join('')).toBe('héllo €\n');
  });

  it('ends the log with a truncation line at the limit, drops the rest and goes on', async () => {
    const sent: Chunk[] = [];
    const shipper = createLogShipper({ limitBytes: 1_000, send: async (c) => void sent.push(...c) });
    for (let i = 0; i < 100; i++) shipper.write(`line ${i} ${'x'.repeat(40)}\n`);
    await shipper.close();
    const log = sent.map((c) => c.text).join('');
    expect(Buffer.byteLength(log)).toBeLessThanOrEqual(1_000);
    expect(log).toMatch(/^line 0 x+\n/);
    expect(log.endsWith(truncationLine(1_000))).toBe(true);
    expect(shipper.failure).toBeNull();
  });

  it("with onLimit 'fail', passing the limit is a failure with HF_LOG_LIMIT", async () => {
    const failures: Error[] = [];
    const shipper = createLogShipper({
      limitBytes: 1_000,
      onLimit: 'fail',
      onFailure: (e) => failures.push(e),
      send: async () => {},
    });
    for (let i = 0; i < 100; i++) shipper.write(`line ${i} ${'x'.repeat(40)}\n`);
    await expect(shipper.close()).rejects.toMatchObject({ code: 'HF_LOG_LIMIT' });
    expect(failures).toHaveLength(1);
  });

  it('a batch the coordinator refuses is a failure carrying its code, not swallowed', async () => {
    const failures: Error[] = [];
    const shipper = createLogShipper({
      onFailure: (e) => failures.push(e),
      send: async () => {
        throw Object.assign(new Error('too large'), { data: { httpStatus: 413, hiveforgeCode: 'HF_LOG_LIMIT' } });
      },
    });
    shipper.write('one\n');
    await expect(shipper.close()).rejects.toMatchObject({ code: 'HF_LOG_LIMIT' });
    expect(failures[0]?.message).toMatch(/refused the job's log: too large/);
  });

  it('asks writers to wait while too much waits to be sent, and lets them go once it is sent', async () => {
    let release: () => void = () => {};
    const sent: Chunk[] = [];
    const shipper = createLogShipper({
      highWaterBytes: 10_000,
      chunkBytes: 1_000,
      send: async (c) => {
        await new Promise<void>((r) => {
          release = r;
        });
        sent.push(...c);
      },
    });
    let accepted = true;
    let writes = 0;
    while (accepted && writes < 1_000) {
      accepted = shipper.write(`${'y'.repeat(99)}\n`);
      writes++;
    }
    expect(accepted).toBe(false);
    expect(writes).toBeLessThan(200);
    let drained = false;
    const waiting = shipper.drained().then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    for (let i = 0; i < 50 && !drained; i++) {
      release();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waiting;
    expect(drained).toBe(true);
    const closing = shipper.close();
    for (let i = 0; i < 100 && sent.length < writes; i++) {
      release();
      await new Promise((r) => setTimeout(r, 5));
    }
    await closing;
    expect(sent.map((c) => c.text).join('')).toBe(`${'y'.repeat(99)}\n`.repeat(writes));
  });
});
