import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWorkspaceUsage, directorySize, watchDiskQuota } from './workspace-usage.js';

describe('workspace usage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-usage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sums the files of a tree without following links; a missing directory is empty', async () => {
    await mkdir(join(dir, 'a/b'), { recursive: true });
    await writeFile(join(dir, 'a/one'), Buffer.alloc(1000));
    await writeFile(join(dir, 'a/b/two'), Buffer.alloc(2000));
    await symlink('/usr', join(dir, 'a/link'));
    expect(await directorySize(dir)).toMatchObject({ bytes: 3000, truncated: false });
    expect((await directorySize(dir, { maxEntries: 2 })).truncated).toBe(true);
    expect(await directorySize(join(dir, 'missing'))).toEqual({ bytes: 0, entries: 0, truncated: false });
  });

  it('reports free bytes every time and walks again only when the last walk is old enough', async () => {
    let now = 0;
    const usage = createWorkspaceUsage({ workspacesDir: dir, workDir: dir, minIntervalMs: 1_000, now: () => now });
    const first = await usage.report();
    expect(first?.workspaceBytes).toBe(0);
    expect(first?.freeBytes).toBeGreaterThan(0);
    await writeFile(join(dir, 'f'), Buffer.alloc(500));
    now = 500;
    expect((await usage.report())?.workspaceBytes).toBe(0);
    now = 1_000;
    await usage.report(); // starts a walk in the background
    await new Promise((r) => setTimeout(r, 50));
    expect((await usage.report())?.workspaceBytes).toBe(500);
  });

  it('calls back once a workspace outgrows its quota', async () => {
    const exceeded = new Promise<Error>((resolve) => {
      watchDiskQuota({ path: dir, quotaBytes: 1024, intervalMs: 20, onExceeded: resolve });
    });
    // Written beside the workspace and moved in whole, so the watcher never sees it half written.
    const staged = `${dir}-big`;
    await writeFile(staged, Buffer.alloc(10 * 1024 * 1024 + 300_000));
    await rename(staged, join(dir, 'big'));
    const error = await exceeded;
    expect(error).toMatchObject({ code: 'HF_DISK_QUOTA' });
    expect(error.message).toBe('workspace exceeded its disk quota of 1 KiB (used 10.3 MiB)');
  });
});
