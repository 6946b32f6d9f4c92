import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileBlobStore } from './blob-files.js';
import type { BlobStore } from './blobs.js';
import { describeBlobsContract } from './contract/blobs.js';

describe('file blob store', () => {
  let dir: string;
  let blobs: BlobStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-blobs-'));
    blobs = createFileBlobStore({ dir: join(dir, 'blobs') });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  describeBlobsContract(() => blobs);

  it('keeps one file per content and no temporary file after a refused put', async () => {
    await blobs.putBlob(Readable.from([Buffer.from('one')]));
    await blobs.putBlob(Readable.from([Buffer.from('one')]));
    await blobs.putBlob(Readable.from([Buffer.from('two')]), { maxBytes: 1 }).catch(() => {});
    expect(await readdir(join(dir, 'blobs'))).toHaveLength(1);
  });
});
