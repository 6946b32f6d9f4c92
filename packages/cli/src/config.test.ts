import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCoordinatorConfig } from './config.js';

const secret = { agentSecret: 'a-secret-of-16-chars' };

describe('coordinator configuration', () => {
  it('takes the memory store artifact directory from flags, then the environment, then the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-config-'));
    try {
      const file = join(dir, 'coordinator.json');
      await writeFile(file, JSON.stringify({ artifactsDir: '/from/file' }));
      expect(resolveCoordinatorConfig(secret, {}).artifactsDir).toBeNull();
      expect(resolveCoordinatorConfig({ ...secret, config: file }, {}).artifactsDir).toBe('/from/file');
      const env = { HIVEFORGE_ARTIFACTS_DIR: '/from/env' };
      expect(resolveCoordinatorConfig({ ...secret, config: file }, env).artifactsDir).toBe('/from/env');
      expect(resolveCoordinatorConfig({ ...secret, config: file, artifactsDir: '/from/flag' }, env).artifactsDir).toBe(
        '/from/flag',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an artifact directory with the MongoDB store, which keeps artifacts in GridFS', () => {
    expect(() =>
      resolveCoordinatorConfig({ ...secret, store: 'mongodb', mongodbUri: 'mongodb://db', artifactsDir: '/x' }, {}),
    ).toThrow(/--artifacts-dir is for the memory store/);
  });
});
