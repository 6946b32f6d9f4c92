import { createImageBuilder } from '@hiveforge/agent';
import { resolveImage } from '@hiveforge/sdk';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageEngine, runInImage, TEST_BASE, testImages } from './helpers/image-engine.js';
import { startRegistry } from './helpers/registry.js';

let docker: Docker;
beforeAll(async () => {
  docker = await imageEngine();
});

/** Follows an engine progress stream to its end; rejects on an error message. */
async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  const error = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { error?: string })
    .find((m) => m.error);
  if (error) throw new Error(error.error);
  return text;
}

describe('image builder with a registry', () => {
  it('pulls a missing base from the registry, by digest, and builds on it', async () => {
    await using registry = await startRegistry();
    await using images = testImages(docker);
    // A base that exists only in the registry: made here, pushed, then removed from the engine.
    const seedRepo = `hiveforge-test/seed-${images.nonce}`;
    const seedRemote = `${registry.host}/${seedRepo}`;
    const seed = await createImageBuilder({ docker }).ensure(
      resolveImage('seed', { from: TEST_BASE, steps: [`echo ${images.nonce} > /seed.txt`] }),
    );
    images.track(seed.tag);
    await docker.getImage(seed.tag).tag({ repo: seedRemote, tag: '1' });
    const pushed = await drain(await docker.getImage(seedRemote).push({ tag: '1' }));
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
    expect(digest).toBeDefined();
    for (const ref of [`${seedRemote}:1`, seed.tag]) await docker.getImage(ref).remove({ force: true });
    await expect(docker.getImage(seed.id).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const spec = resolveImage('on-seed', { from: `${seedRepo}@${digest}`, steps: ['cat /seed.txt > /copy.txt'] });
    expect(spec.pinned).toBe(true);
    images.track(spec.tag);
    images.track(`${seedRemote}@${digest}`);
    let log = '';
    const prepared = await createImageBuilder({ docker, registry: registry.host }).ensure(spec, {
      onLog: (t) => {
        log += t;
      },
    });
    expect(log).toContain(`pulling base ${seedRemote}@${digest}`);
    expect(log).toMatch(/Pull complete|Downloaded newer image/);
    expect(log).not.toContain('not pinned');
    const run = await runInImage(docker, prepared.tag, 'cat /copy.txt');
    expect(run.output.trim()).toBe(images.nonce);
  });

  it('a base the registry lacks fails with ImageBuildError naming it', async () => {
    await using registry = await startRegistry();
    await using images = testImages(docker);
    const spec = resolveImage('orphan', { from: `hiveforge-test/absent-${images.nonce}:1`, steps: ['true'] });
    const error = await createImageBuilder({ docker, registry: registry.host })
      .ensure(spec)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HF_IMAGE_BUILD' });
    expect((error as Error).message.split('\n')[0]).toContain(
      `its base ${registry.host}/hiveforge-test/absent-${images.nonce}:1 could not be pulled`,
    );
  });

  it('push sends a built image to REGISTRY/hiveforge/<name>:<hash>, also one built before', async () => {
    await using registry = await startRegistry();
    await using images = testImages(docker);
    const spec = resolveImage('shipped', { from: TEST_BASE, steps: [`echo ${images.nonce} > /n`] });
    const [repository, hash] = spec.tag.split(':') as [string, string];
    images.track(spec.tag);
    images.track(`${registry.host}/${spec.tag}`);
    // Built without push first: a pushing builder still pushes what it finds.
    const built = await createImageBuilder({ docker }).ensure(spec);
    expect((await registry.api<{ repositories: string[] }>('/v2/_catalog')).repositories).toEqual([]);

    let log = '';
    const prepared = await createImageBuilder({ docker, registry: registry.host, push: true }).ensure(spec, {
      onLog: (t) => {
        log += t;
      },
    });
    expect(prepared).toEqual(built);
    expect(log).toContain(`pushing ${registry.host}/${spec.tag}`);
    expect(log).toMatch(/Pushed|Layer already exists/);
    expect((await registry.api<{ repositories: string[] }>('/v2/_catalog')).repositories).toContain(repository);
    expect(await registry.api<{ name: string; tags: string[] }>(`/v2/${repository}/tags/list`)).toEqual({
      name: repository,
      tags: [hash],
    });
  });

  it('push needs a registry', () => {
    expect(() => createImageBuilder({ docker, push: true })).toThrow(/push needs a registry/);
    expect(() => createImageBuilder({ docker, registry: 'http://x' })).toThrow(/registry must be host or host:port/);
  });
});
