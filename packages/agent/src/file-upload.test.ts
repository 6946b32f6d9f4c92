import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { putFile } from './file-upload.js';

describe('file upload over node:http', () => {
  it('sends the whole file with its length, and returns an early refusal as the answer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-put-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    const data = randomBytes(5 * 1024 * 1024);
    const file = join(dir, 'a.bin');
    await writeFile(file, data);
    const server = createServer((req, res) => {
      if (req.url === '/refuse') {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        return res.end(JSON.stringify({ code: 'HF_PAYLOAD_TOO_LARGE' }));
      }
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () =>
        res.end(JSON.stringify({ length: req.headers['content-length'], sha256: hash.digest('hex') })),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await using _server = { [Symbol.asyncDispose]: () => new Promise<void>((r) => server.close(() => r())) };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ok = await putFile(`${url}/up`, { headers: {}, file, size: data.length });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      length: String(data.length),
      sha256: createHash('sha256').update(data).digest('hex'),
    });
    const refused = await putFile(`${url}/refuse`, { headers: {}, file, size: data.length });
    expect(refused).toMatchObject({ ok: false, status: 413 });
    expect(await refused.json()).toEqual({ code: 'HF_PAYLOAD_TOO_LARGE' });
    const timedOut = await putFile(`${url}/up`, {
      headers: {},
      file,
      size: data.length,
      signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')),
    }).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ name: 'TimeoutError' });
  });
});
