import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheClient } from './cache-client.js';
import { createProcessExecutor } from './executors/process.js';
import type { JobEnvironment } from './executors/types.js';
import { createJobCaches } from './job-caches.js';

describe('default caches and the host’s own home (process executor)', () => {
  let dir: string;
  let home: string;
  const asked: string[] = [];
  /** A coordinator that cannot be reached: each call is recorded, then fails. */
  const unreachable: CacheClient = {
    restore: async () => {
      asked.push('restore');
      throw new Error('no coordinator');
    },
    download: async () => {
      asked.push('download');
      throw new Error('no coordinator');
    },
    save: async () => {
      asked.push('save');
      throw new Error('no coordinator');
    },
  };
  const envWith = (hostHome: string, jobHome: string): Promise<JobEnvironment> =>
    createProcessExecutor({ hostHome, baseEnv: { PATH: process.env.PATH, HOME: jobHome } }).start({
      jobId: 'j',
      hostWorkspace: join(dir, 'ws'),
      image: null,
      env: {},
    });
  beforeEach(async () => {
    asked.length = 0;
    dir = await mkdtemp(join(tmpdir(), 'hf-job-caches-'));
    home = join(dir, 'home');
    await mkdir(join(home, '.npm'), { recursive: true });
    await writeFile(join(home, '.npm/index'), 'x');
    await mkdir(join(dir, 'ws'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('skips a default cache whose ~ path is the real home: nothing restored, nothing saved, a line says why', async () => {
    const lines: string[] = [];
    const caches = createJobCaches({
      client: unreachable,
      local: null,
      spoolDir: join(dir, 'spool'),
      jobId: 'j',
      attempt: 1,
      log: (line) => lines.push(line),
      retry: (call) => call(),
    });
    const env = await envWith(home, home);
    expect(env.isHostHome?.('~/.npm')).toBe(true);
    expect(env.isHostHome?.('.npm')).toBe(false);
    const result = await caches.restore(env, { key: 'npm-abc', paths: ['~/.npm'], skipHostHome: true });
    await caches.saveAll();
    expect(result).toEqual({ hit: 'miss', key: null });
    expect(asked).toEqual([]);
    expect(lines).toEqual([
      'cache npm-abc: "~/.npm" is in this host\'s own home directory (process executor), already in place and kept between jobs; not restored or saved',
    ]);
  });

  it('caches as usual with a per-job HOME, or when the call does not ask to skip', async () => {
    const lines: string[] = [];
    const caches = createJobCaches({
      client: unreachable,
      local: null,
      spoolDir: join(dir, 'spool'),
      jobId: 'j',
      attempt: 1,
      log: (line) => lines.push(line),
      retry: (call) => call(),
    });
    const perJob = await envWith(join(dir, 'real-home'), home);
    expect(perJob.isHostHome?.('~/.npm')).toBe(false);
    await caches.restore(perJob, { key: 'npm-abc', paths: ['~/.npm'], skipHostHome: true });
    await caches.restore(await envWith(home, home), { key: 'npm-def', paths: ['~/.npm'] });
    await caches.saveAll();
    expect(asked).toEqual(['restore', 'restore', 'save', 'save']);
  });
});
