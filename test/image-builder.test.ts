import { createImageBuilder, IMAGE_LABEL, IMAGE_NAME_LABEL } from '@hiveforge/agent';
import { canonicalImage, ImageBuildError, resolveImage } from '@hiveforge/sdk';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageEngine, runInImage, TEST_BASE, tagEvents, testImages, trackLeftLayers } from './helpers/image-engine.js';

let docker: Docker;
beforeAll(async () => {
  docker = await imageEngine();
});

const collect = () => {
  let text = '';
  return {
    onLog: (t: string) => {
      text += t;
    },
    text: () => text,
  };
};

describe('image builder on the real engine', () => {
  it('builds a description: its steps, env, workdir and label are in the image', async () => {
    await using images = testImages(docker);
    const spec = resolveImage('tools', {
      from: TEST_BASE,
      steps: [`echo ${images.nonce} > made.txt`, 'echo "built with $GREETING in $(pwd)"'],
      env: { GREETING: 'hello $USER "quoted"' },
      workdir: '/opt/tools',
    });
    images.track(spec.tag);
    const log = collect();
    const prepared = await createImageBuilder({ docker }).ensure(spec, { onLog: log.onLog });

    expect(prepared.tag).toBe(spec.tag);
    expect(prepared.tag).toMatch(/^hiveforge\/tools:[0-9a-f]{20}$/);
    expect(log.text()).toContain('built with hello $USER "quoted" in /opt/tools');
    const run = await runInImage(docker, prepared.tag, 'cat /opt/tools/made.txt; echo "env=$GREETING"; pwd');
    expect(run.exitCode).toBe(0);
    expect(run.output).toContain(images.nonce);
    expect(run.output).toContain('env=hello $USER "quoted"');
    expect(run.output).toContain('/opt/tools');
    const info = await docker.getImage(prepared.tag).inspect();
    expect(info.Id).toBe(prepared.id);
    expect(info.Config.Labels?.[IMAGE_LABEL]).toBe(canonicalImage(spec));
    expect(JSON.parse(info.Config.Labels?.[IMAGE_LABEL] ?? '')).toEqual({
      from: TEST_BASE,
      steps: spec.steps,
      env: spec.env,
      workdir: '/opt/tools',
    });
    expect(info.Config.Labels?.[IMAGE_NAME_LABEL]).toBe('tools');
  });

  it('reuses an image that is present: a second ensure does not build', async () => {
    await using images = testImages(docker);
    const spec = resolveImage('reuse', { from: TEST_BASE, steps: [`echo ${images.nonce}`] });
    images.track(spec.tag);
    const since = Date.now();
    const first = await createImageBuilder({ docker }).ensure(spec);
    const log = collect();
    const second = await createImageBuilder({ docker }).ensure(spec, { onLog: log.onLog });
    expect(second).toEqual(first);
    expect(log.text()).toBe('');
    expect(await tagEvents(docker, spec.tag, since)).toBe(1);
  });

  it('two concurrent ensures of one description cause one build', async () => {
    await using images = testImages(docker);
    const spec = resolveImage('shared', { from: TEST_BASE, steps: [`sleep 1; echo ${images.nonce}`] });
    images.track(spec.tag);
    const builder = createImageBuilder({ docker });
    const since = Date.now();
    const [a, b] = [collect(), collect()];
    const results = await Promise.all([
      builder.ensure(spec, { onLog: a.onLog }),
      builder.ensure(spec, { onLog: b.onLog }),
    ]);
    expect(results[0]).toEqual(results[1]);
    expect(await tagEvents(docker, spec.tag, since)).toBe(1);
    // Both callers saw the one build's output.
    expect(a.text()).toContain('Successfully tagged');
    expect(b.text()).toContain('Successfully tagged');
  });

  it('a failing step rejects with ImageBuildError carrying the build output', async () => {
    await using images = testImages(docker);
    const spec = resolveImage('broken', {
      from: TEST_BASE,
      steps: [`echo before-the-failure-${images.nonce}`, 'echo about to fail >&2; exit 3'],
    });
    images.track(spec.tag);
    const log = collect();
    const error = await createImageBuilder({ docker })
      .ensure(spec, { onLog: log.onLog })
      .catch((e: unknown) => e);
    await trackLeftLayers(docker, images, 'broken');
    expect(error).toBeInstanceOf(ImageBuildError);
    const e = error as ImageBuildError;
    expect(e.code).toBe('HF_IMAGE_BUILD');
    expect(e.retryable).toBe(false);
    expect(e.message.split('\n')[0]).toMatch(
      /^image 'broken' \(hiveforge\/broken:[0-9a-f]+\): build failed: .*non-zero code: 3/,
    );
    expect(e.message).toContain(`before-the-failure-${images.nonce}`);
    expect(e.outputTail).toContain('about to fail');
    expect(log.text()).toContain('about to fail');
    await expect(docker.getImage(spec.tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('an unpinned base is a warning in the build output, and refused when strict', async () => {
    await using images = testImages(docker);
    const spec = resolveImage('loose', { from: TEST_BASE, steps: [`echo ${images.nonce}`] });
    images.track(spec.tag);
    expect(spec.pinned).toBe(false);
    const builder = createImageBuilder({ docker });

    const strict = await builder.ensure(spec, { strict: true }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(ImageBuildError);
    expect((strict as Error).message).toContain('not pinned by digest');
    expect((strict as Error).message).toContain('strictImages');
    await expect(docker.getImage(spec.tag).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const log = collect();
    await builder.ensure(spec, { onLog: log.onLog });
    expect(log.text()).toMatch(/^warning HF_ANALYSIS_UNPINNED_IMAGE: image 'loose' is not pinned by digest/);
  });

  it('list shows the images descriptions produced, with name, tag, id, created and size', async () => {
    await using images = testImages(docker);
    const spec = resolveImage('listed', { from: TEST_BASE, steps: [`echo ${images.nonce} > /n`] });
    images.track(spec.tag);
    const builder = createImageBuilder({ docker });
    const before = Date.now();
    const prepared = await builder.ensure(spec);
    const listed = await builder.list();
    const entry = listed.find((i) => i.tag === spec.tag);
    expect(entry).toMatchObject({ name: 'listed', tag: spec.tag, id: prepared.id });
    expect(entry?.sizeBytes).toBeGreaterThan(0);
    expect(entry?.createdAt).toBeGreaterThan(before - 2000);
    // The base is not a description's image.
    expect(listed.some((i) => i.tag === TEST_BASE)).toBe(false);
  });

  it('a cancelled ensure stops its build; a caller still waiting on a shared build keeps it going', async () => {
    await using images = testImages(docker);
    const builder = createImageBuilder({ docker });
    const slow = resolveImage('slow', { from: TEST_BASE, steps: [`sleep 30 # ${images.nonce}`] });
    images.track(slow.tag);
    const controller = new AbortController();
    let log = '';
    const started = Date.now();
    const ensured = builder
      .ensure(slow, {
        signal: controller.signal,
        onLog: (t) => {
          log += t;
          if (/Step 4\/4 : RUN[\s\S]*Running in/.test(log)) controller.abort(new Error('job cancelled'));
        },
      })
      .catch((e: unknown) => e);
    expect(await ensured).toMatchObject({ message: 'job cancelled' });
    expect(Date.now() - started).toBeLessThan(15_000);
    // The engine stops the step and removes its container once the build's client is gone.
    const deadline = Date.now() + 15_000;
    const running = async () =>
      (await docker.listContainers({ all: true })).filter((c) => c.Command.includes(images.nonce));
    while ((await running()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await running()).toEqual([]);
    await trackLeftLayers(docker, images, 'slow');
    await expect(docker.getImage(slow.tag).inspect()).rejects.toMatchObject({ statusCode: 404 });

    const shared = resolveImage('shared-cancel', { from: TEST_BASE, steps: [`sleep 2 # ${images.nonce}`] });
    images.track(shared.tag);
    const quitter = new AbortController();
    const first = builder.ensure(shared, { signal: quitter.signal }).catch((e: unknown) => e);
    const second = builder.ensure(shared);
    await new Promise((r) => setTimeout(r, 500));
    quitter.abort(new Error('first job cancelled'));
    expect(await first).toMatchObject({ message: 'first job cancelled' });
    const prepared = await second;
    expect((await docker.getImage(shared.tag).inspect()).Id).toBe(prepared.id);
  });
});
