import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '@hiveforge/sdk';
import { redact, resolveAgentConfig, resolveCoordinatorConfig, secretValues } from './config.js';

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
  it('takes the secrets key from --secrets-key, --secrets-key-file or HIVEFORGE_SECRETS_KEY, and a previous one', async () => {
    const [flag, inFile, inEnv, previous] = [0, 1, 2, 3].map(() => randomBytes(32));
    const dir = await mkdtemp(join(tmpdir(), 'hf-config-'));
    try {
      const file = join(dir, 'key');
      await writeFile(file, `${inFile?.toString('base64')}\n`);
      const env = { HIVEFORGE_SECRETS_KEY: inEnv?.toString('base64') };
      const key = (flags: Record<string, string>, e: NodeJS.ProcessEnv = env) =>
        Buffer.from(resolveCoordinatorConfig({ ...secret, ...flags }, e).secretsKey ?? []);
      expect(resolveCoordinatorConfig(secret, {}).secretsKey).toBeNull();
      expect(key({})).toEqual(inEnv);
      expect(key({ secretsKeyFile: file })).toEqual(inFile);
      expect(key({ secretsKey: flag?.toString('base64') ?? '' })).toEqual(flag);
      const rotated = resolveCoordinatorConfig(
        { ...secret, secretsKey: flag?.toString('base64'), secretsKeyPrevious: previous?.toString('base64') },
        {},
      );
      expect(Buffer.from(rotated.secretsKeyPrevious ?? [])).toEqual(previous);
      expect(redact(rotated)).toMatchObject({ secretsKey: '***', secretsKeyPrevious: '***' });
      expect(() => resolveCoordinatorConfig({ ...secret, secretsKeyFile: join(dir, 'none') }, {})).toThrow(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a secrets key that is not 32 bytes of base64, and a previous key alone', () => {
    expect(() => resolveCoordinatorConfig({ ...secret, secretsKey: randomBytes(16).toString('base64') }, {})).toThrow(
      /--secrets-key decodes to 16 bytes/,
    );
    expect(() => resolveCoordinatorConfig(secret, { HIVEFORGE_SECRETS_KEY: 'not base64!' })).toThrow(
      /HIVEFORGE_SECRETS_KEY is not base64/,
    );
    expect(() =>
      resolveCoordinatorConfig({ ...secret, secretsKeyPrevious: randomBytes(32).toString('base64') }, {}),
    ).toThrow(/only decrypts/);
  });
});

describe('agent configuration', () => {
  const base = { url: 'http://127.0.0.1:7700', agentSecret: 'x' };

  it('takes the variables passed to jobs from flags, then the environment, then the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-config-'));
    try {
      const file = join(dir, 'agent.json');
      await writeFile(file, JSON.stringify({ passEnv: ['FROM_FILE'] }));
      expect(resolveAgentConfig(base, {}).passEnv).toEqual([]);
      expect(resolveAgentConfig({ ...base, config: file }, {}).passEnv).toEqual(['FROM_FILE']);
      expect(resolveAgentConfig({ ...base, config: file }, { HIVEFORGE_PASS_ENV: 'A, B' }).passEnv).toEqual(['A', 'B']);
      expect(
        resolveAgentConfig({ ...base, config: file, passEnv: ['C', 'C', 'D'] }, { HIVEFORGE_PASS_ENV: 'A' }).passEnv,
      ).toEqual(['C', 'D']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("takes its own secrets' names from flags, then the environment, then the file; values only from the environment", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-config-'));
    try {
      const file = join(dir, 'agent.json');
      await writeFile(file, JSON.stringify({ secrets: ['FROM_FILE'] }));
      const env = { A: 'a', B: 'b', FROM_FILE: 'f' };
      expect(resolveAgentConfig(base, env).secretNames).toEqual([]);
      expect(resolveAgentConfig({ ...base, config: file }, env).secretNames).toEqual(['FROM_FILE']);
      expect(resolveAgentConfig({ ...base, config: file }, { ...env, HIVEFORGE_SECRETS: 'A, B' }).secretNames).toEqual([
        'A',
        'B',
      ]);
      const config = resolveAgentConfig({ ...base, secret: ['B', 'B', 'A'] }, env);
      expect(config.secretNames).toEqual(['B', 'A']);
      expect(secretValues(config.secretNames, env)).toEqual({ B: 'b', A: 'a' });
      // The names are printed; no value is in the configuration at all.
      expect(redact(config).secretNames).toEqual(['B', 'A']);
      expect(JSON.stringify(config)).not.toMatch(/"a"|"b"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a secret whose variable is unset, or a value given in place of a name', () => {
    expect(() => resolveAgentConfig({ ...base, secret: ['DEPLOY_TOKEN'] }, {})).toThrow(
      /--secret DEPLOY_TOKEN: DEPLOY_TOKEN is not set in the agent's environment/,
    );
    expect(() => resolveAgentConfig({ ...base, secret: ['TOKEN=s3cret'] }, {})).toThrow(/give a secret's name/);
  });

  it('refuses a variable name a shell would not accept', () => {
    expect(() => resolveAgentConfig({ ...base, passEnv: ['1BAD'] }, {})).toThrow(/--pass-env 1BAD/);
    expect(() => resolveAgentConfig({ ...base, passEnv: ['A=B'] }, {})).toThrow(/HF_CONFIG|variable name/);
  });

  it('takes the executor and the default image from flags, then the environment, then the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-config-'));
    try {
      const file = join(dir, 'agent.json');
      await writeFile(file, JSON.stringify({ executor: 'docker', defaultImage: 'debian:bookworm' }));
      expect(resolveAgentConfig(base, {})).toMatchObject({ executor: 'process', defaultImage: null });
      expect(resolveAgentConfig({ ...base, config: file }, {})).toMatchObject({
        executor: 'docker',
        defaultImage: 'debian:bookworm',
      });
      const env = { HIVEFORGE_EXECUTOR: 'process', HIVEFORGE_DEFAULT_IMAGE: 'alpine:3' };
      expect(resolveAgentConfig({ ...base, config: file }, env)).toMatchObject({
        executor: 'process',
        defaultImage: 'alpine:3',
      });
      expect(resolveAgentConfig({ ...base, config: file, executor: 'docker' }, env).executor).toBe('docker');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an executor no one registered, naming the ones there are', () => {
    expect(() => resolveAgentConfig({ ...base, executor: 'kubernetes' }, {})).toThrow(
      '--executor must be one of process, docker, not kubernetes',
    );
  });

  it('takes the image registry and push from flags, then the environment, then the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-config-'));
    try {
      const file = join(dir, 'agent.json');
      await writeFile(file, JSON.stringify({ registry: 'file.example:5000', push: true }));
      expect(resolveAgentConfig(base, {})).toMatchObject({ registry: null, push: false });
      expect(resolveAgentConfig({ ...base, config: file }, {})).toMatchObject({
        registry: 'file.example:5000',
        push: true,
      });
      const env = { HIVEFORGE_REGISTRY: '127.0.0.1:5001', HIVEFORGE_PUSH_IMAGES: '0' };
      expect(resolveAgentConfig({ ...base, config: file }, env)).toMatchObject({
        registry: '127.0.0.1:5001',
        push: false,
      });
      expect(resolveAgentConfig({ ...base, config: file, registry: 'localhost:5002', push: true }, env)).toMatchObject({
        registry: 'localhost:5002',
        push: true,
      });
      expect(resolveAgentConfig(base, { HIVEFORGE_REGISTRY: 'r:1', HIVEFORGE_PUSH_IMAGES: 'true' }).push).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses --push without a registry, a registry that is not host:port, and a push variable that is not yes or no', () => {
    expect(() => resolveAgentConfig({ ...base, push: true }, {})).toThrow(
      '--push needs --registry (or HIVEFORGE_REGISTRY): the registry images are pushed to',
    );
    expect(() => resolveAgentConfig({ ...base, registry: 'http://r:5000' }, {})).toThrow(
      /--registry: registry must be host or host:port/,
    );
    expect(() => resolveAgentConfig({ ...base, registry: 'r:1' }, { HIVEFORGE_PUSH_IMAGES: 'yes' })).toThrow(
      'HIVEFORGE_PUSH_IMAGES must be 1, true, 0 or false, not "yes"',
    );
  });
});

describe('sizes', () => {
  it('reads bytes and binary units, and refuses anything else', async () => {
    const { parseSize } = await import('./config.js');
    expect(parseSize('--log-limit', '1048576')).toBe(1_048_576);
    expect(parseSize('--log-limit', '64MiB')).toBe(64 * 1_048_576);
    expect(parseSize('--log-limit', '64Mi')).toBe(64 * 1_048_576);
    expect(parseSize('--log-limit', '512k')).toBe(512 * 1_024);
    expect(parseSize('--log-limit', '1GB')).toBe(1_073_741_824);
    expect(() => parseSize('--log-limit', '64 furlongs')).toThrow(/--log-limit: "64 furlongs" is not a size/);
    expect(() => parseSize('--log-limit', '0')).toThrow(/not a size/);
  });
});
