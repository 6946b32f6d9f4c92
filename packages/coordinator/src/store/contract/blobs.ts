import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { expect, it } from 'vitest';
import type { BlobStore } from '../blobs.js';

const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Reads a stream whole (small blobs only). */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

/** Bytes in several chunks, as a request body arrives. */
const chunked = (data: Buffer, size = 64 * 1024) =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)),
  );

/** The contract of blob storage (`BlobStore`), run on the store (or part of it) made for each test. */
export function describeBlobsContract(blobsOf: () => BlobStore): void {
  it('blobs: stored by SHA-256 and streamed back; identical content is stored once', async () => {
    const blobs = blobsOf();
    const data = randomBytes(300 * 1024);
    const first = await blobs.putBlob(chunked(data));
    expect(first).toEqual({ sha256: sha256Of(data), size: data.length, created: true });
    const again = await blobs.putBlob(chunked(data));
    expect(again).toEqual({ ...first, created: false });
    const opened = await blobs.openBlob(first.sha256);
    expect(opened?.size).toBe(data.length);
    expect((await readAll(opened?.stream as NodeJS.ReadableStream)).equals(data)).toBe(true);
    expect(await blobs.openBlob(sha256Of(Buffer.from('none')))).toBeNull();
    expect(await blobs.openBlob('../../etc/passwd')).toBeNull();
    const empty = await blobs.putBlob(Readable.from([]));
    expect(empty).toMatchObject({ sha256: sha256Of(Buffer.alloc(0)), size: 0 });
    expect((await readAll((await blobs.openBlob(empty.sha256))?.stream as NodeJS.ReadableStream)).length).toBe(0);
  });

  it('blobs: two puts of the same content at once keep one copy, both succeed', async () => {
    const blobs = blobsOf();
    const data = randomBytes(200 * 1024);
    const results = await Promise.all([blobs.putBlob(chunked(data)), blobs.putBlob(chunked(data))]);
    expect(results.map((r) => r.sha256)).toEqual([sha256Of(data), sha256Of(data)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await readAll((await blobs.openBlob(sha256Of(data)))?.stream as NodeJS.ReadableStream)).equals(data)).toBe(
      true,
    );
  });

  it('blobs: a source that fails, too many bytes, a wrong hash or a failed check store nothing', async () => {
    const blobs = blobsOf();
    const data = randomBytes(100 * 1024);
    const failing = Readable.from(
      (async function* () {
        yield data.subarray(0, 1000);
        throw new Error('connection cut');
      })(),
    );
    await expect(blobs.putBlob(failing)).rejects.toThrow(/connection cut/);
    await expect(blobs.putBlob(chunked(data), { maxBytes: 50_000, what: 'the artifact' })).rejects.toMatchObject({
      code: 'HF_PAYLOAD_TOO_LARGE',
    });
    await expect(blobs.putBlob(chunked(data), { expectedSha256: sha256Of(Buffer.from('x')) })).rejects.toMatchObject({
      code: 'HF_ARTIFACT_INVALID',
    });
    const refuse = new Transform({
      transform: (chunk, _e, callback) => callback(null, chunk),
      flush: (callback) => callback(new Error('not an archive')),
    });
    await expect(blobs.putBlob(chunked(data), { verify: refuse })).rejects.toThrow(/not an archive/);
    expect(await blobs.openBlob(sha256Of(data))).toBeNull();
    // And the same bytes, accepted, are stored afresh.
    expect(await blobs.putBlob(chunked(data), { expectedSha256: sha256Of(data) })).toMatchObject({ created: true });
    await blobs.deleteBlob(sha256Of(data));
    expect(await blobs.openBlob(sha256Of(data))).toBeNull();
    await blobs.deleteBlob(sha256Of(data));
  });
}
