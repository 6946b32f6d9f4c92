import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe } from 'vitest';
import type { CacheStore } from './ports/caches.js';
import { describeCachesContract } from './contract/caches.js';
import { createDirectoryCaches } from './directory-caches.js';

describe('directory caches', () => {
  let dir: string;
  let store: CacheStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-caches-'));
    store = createDirectoryCaches(join(dir, 'cache'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  describeCachesContract(() => store);
});
