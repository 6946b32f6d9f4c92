import { describe, expect, it } from 'vitest';
import { createLogShipper } from './log-shipper.js';

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
