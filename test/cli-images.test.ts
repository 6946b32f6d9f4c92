import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveImage } from '@hiveforge/sdk';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { imageEngine, runInImage, TEST_BASE, testImages, trackLeftLayers } from './helpers/image-engine.js';
import { startRegistry } from './helpers/registry.js';

let docker: Docker;
beforeAll(async () => {
  docker = await imageEngine();
});

/** A pipeline with two images in its own temporary directory, as a checkout on one agent. */
async function project(source: string): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await mkdtemp(join(tmpdir(), 'hf-images-'));
  await writeFile(join(dir, 'hiveforge.ts'), source);
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

function pipelineSource(nonce: string, toolsStep: string): string {
  return `import { image, job, pipeline } from '@hiveforge/sdk';

const tools = image('tools', {
  from: '${TEST_BASE}',
  steps: [${JSON.stringify(toolsStep)}],
  env: { NONCE: '${nonce}' },
  workdir: '/w',
});
const plain = image('plain', { from: '${TEST_BASE}', env: { NONCE: '${nonce}' } });

export default pipeline('images', () => {
  job('a', { image: tools }, async (ctx) => {
    await ctx.sh\`cat made.txt\`;
  });
  job('b', { image: plain }, async (ctx) => {
    await ctx.sh\`true\`;
  });
});
`;
}

describe('hiveforge images (CLI subprocess, real engine)', () => {
  it('images build builds each image once: the same description in two checkouts is the same tag and id', async () => {
    await using images = testImages(docker);
    const source = pipelineSource(images.nonce, 'echo "$NONCE" > made.txt');
    const tools = resolveImage('tools', {
      from: TEST_BASE,
      steps: ['echo "$NONCE" > made.txt'],
      env: { NONCE: images.nonce },
      workdir: '/w',
    });
    const plain = resolveImage('plain', { from: TEST_BASE, env: { NONCE: images.nonce } });
    images.track(tools.tag);
    images.track(plain.tag);
    await using first = await project(source);
    await using second = await project(source);

    const a = await runCli(['images', 'build'], { cwd: first.dir });
    expect(a.code, a.stderr).toBe(0);
    const lines = a.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^tools ${tools.tag} sha256:[0-9a-f]{64}$`)),
      expect.stringMatching(new RegExp(`^plain ${plain.tag} sha256:[0-9a-f]{64}$`)),
    ]);
    expect(a.stderr.match(/Successfully tagged/g)).toHaveLength(2);
    expect((await runInImage(docker, tools.tag, 'cat made.txt; pwd')).output).toContain(`${images.nonce}\r\n/w`);

    const b = await runCli(['images', 'build'], { cwd: second.dir });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(b.stderr).not.toContain('Step 1/');

    const list = await runCli(['images', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+TAG\s+ID\s+CREATED\s+SIZE$/);
    expect(list.stdout).toMatch(new RegExp(`^tools\\s+${tools.tag}\\s+[0-9a-f]{12}\\s+\\S+Z\\s+\\S+B$`, 'm'));
    const json = await runCli(['images', 'list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as { name: string; tag: string; id: string }[];
    const ids = Object.fromEntries(lines.map((l) => [l.split(' ')[1], l.split(' ')[2]]));
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'tools', tag: tools.tag, id: ids[tools.tag] }),
        expect.objectContaining({ name: 'plain', tag: plain.tag, id: ids[plain.tag] }),
      ]),
    );
  });

  it('images build --push sends the images to the registry', async () => {
    await using registry = await startRegistry();
    await using images = testImages(docker);
    await using dir = await project(pipelineSource(images.nonce, 'true'));
    const r = await runCli(['images', 'build', '--registry', registry.host, '--push'], { cwd: dir.dir });
    expect(r.code, r.stderr).toBe(0);
    for (const line of r.stdout.trimEnd().split('\n')) {
      const tag = line.split(' ')[1] as string;
      images.track(tag);
      images.track(`${registry.host}/${tag}`);
    }
    expect(r.stderr).toContain(`pushing ${registry.host}/hiveforge/tools:`);
    const catalog = await registry.api<{ repositories: string[] }>('/v2/_catalog');
    expect(catalog.repositories.sort()).toEqual(['hiveforge/plain', 'hiveforge/tools']);
  });

  it('a failing step exits 2 with one HF_IMAGE_BUILD line after the build output', async () => {
    await using images = testImages(docker);
    await using dir = await project(pipelineSource(images.nonce, 'echo step-output-$NONCE; exit 3'));
    const r = await runCli(['images', 'build'], { cwd: dir.dir });
    await trackLeftLayers(docker, images, 'tools');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`step-output-${images.nonce}`);
    const last = r.stderr.trimEnd().split('\n').at(-1);
    expect(last).toMatch(
      /^error HF_IMAGE_BUILD: image 'tools' \(hiveforge\/tools:[0-9a-f]+\): build failed: .*non-zero code: 3$/,
    );
  });

  it('--push without --registry is a one-line HF_CONFIG error', async () => {
    await using images = testImages(docker);
    await using dir = await project(pipelineSource(images.nonce, 'true'));
    const r = await runCli(['images', 'build', '--push'], { cwd: dir.dir });
    for (const name of ['tools', 'plain']) await trackLeftLayers(docker, images, name);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('error HF_CONFIG: push needs a registry to push to');
  });

  it('no engine answering is a one-line HF_EXECUTOR_UNAVAILABLE error', async () => {
    await using images = testImages(docker);
    await using dir = await project(pipelineSource(images.nonce, 'true'));
    const env = { DOCKER_HOST: `unix://${join(dir.dir, 'no-engine.sock')}` };
    for (const args of [
      ['images', 'list'],
      ['images', 'build'],
    ]) {
      const r = await runCli(args, { cwd: dir.dir, env });
      for (const name of ['tools', 'plain']) await trackLeftLayers(docker, images, name);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^error HF_EXECUTOR_UNAVAILABLE: docker: .*ENOENT/);
    }
  });
});
