import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutorUnavailableError, resolveImage } from '@hiveforge/sdk';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createImageBuilder, resolveImageBuilderConfig } from './image-builder.js';

describe('createImageBuilder without an engine', () => {
  it('an engine that does not answer is a retryable ExecutorUnavailableError, for ensure and list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-no-engine-'));
    try {
      const docker = new Docker({ socketPath: join(dir, 'docker.sock') });
      const builder = createImageBuilder({ docker });
      const spec = resolveImage('tools', { from: 'hiveforge-test/busybox:1', steps: ['true'] });
      const ensured = await builder.ensure(spec).catch((e: unknown) => e);
      expect(ensured).toBeInstanceOf(ExecutorUnavailableError);
      expect(ensured).toMatchObject({ code: 'HF_EXECUTOR_UNAVAILABLE', retryable: true });
      expect((ensured as Error).message).toMatch(/^docker: .*ENOENT/);
      await expect(builder.list()).rejects.toMatchObject({ code: 'HF_EXECUTOR_UNAVAILABLE' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveImageBuilderConfig', () => {
  it('defaults to no registry and no push; push needs a registry; the registry is host[:port]', () => {
    expect(resolveImageBuilderConfig({})).toEqual({ registry: null, push: false });
    expect(resolveImageBuilderConfig({ registry: '127.0.0.1:5000', push: true })).toEqual({
      registry: '127.0.0.1:5000',
      push: true,
    });
    expect(() => resolveImageBuilderConfig({ push: true })).toThrow(/push needs a registry/);
    for (const registry of ['http://127.0.0.1:5000', 'host/path', 'a b']) {
      expect(() => resolveImageBuilderConfig({ registry })).toThrow(/registry must be host or host:port/);
    }
  });
});
