import { describe, expect, it } from 'vitest';
import { createProcessExecutor } from './executors/process.js';
import { HIVEFORGE_VERSION, attemptFingerprint, configHash } from './fingerprint.js';

const base = {
  url: 'http://127.0.0.1:7700',
  registrationSecret: 'one-secret-value',
  name: 'host-a',
  labels: ['linux', 'x64'],
  capacity: 2,
  workDir: '/var/lib/a',
  executor: createProcessExecutor(),
  secrets: { NPM_TOKEN: 'value-a' },
  onEvent: () => {},
};

describe('the agent configuration hash', () => {
  it('ignores secrets’ values, the name, the work directory, the coordinator URLs and label order', () => {
    const hash = configHash(base);
    expect(hash).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(
      configHash({
        ...base,
        url: ['http://10.0.0.1:7700', 'http://10.0.0.2:7700'],
        registrationSecret: 'another-secret',
        name: 'host-b',
        labels: ['x64', 'linux'],
        workDir: '/srv/b',
        executor: createProcessExecutor({ killGraceMs: 1 }),
        secrets: { NPM_TOKEN: 'value-b' },
        onEvent: undefined,
      }),
    ).toBe(hash);
  });

  it('changes with what decides how jobs run', () => {
    const hash = configHash(base);
    expect(configHash({ ...base, labels: ['linux'] })).not.toBe(hash);
    expect(configHash({ ...base, capacity: 3 })).not.toBe(hash);
    expect(configHash({ ...base, secrets: { NPM_TOKEN: 'x', OTHER: 'y' } })).not.toBe(hash);
    expect(configHash({ ...base, executor: { ...base.executor, name: 'docker' } })).not.toBe(hash);
  });

  it('fingerprints an attempt with the image, the hash and the versions', () => {
    expect(
      attemptFingerprint({ executor: 'docker', image: { tag: 'hf/a:1', id: 'sha256:ab' }, configHash: 'h' }),
    ).toEqual({
      executor: 'docker',
      imageTag: 'hf/a:1',
      imageId: 'sha256:ab',
      configHash: 'h',
      hiveforgeVersion: HIVEFORGE_VERSION,
      nodeVersion: process.version,
    });
    expect(HIVEFORGE_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
