import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Docker from 'dockerode';
import { repoRoot } from './cli.js';

/** The busybox-static base the image tests build on (scripts/docker-test-images.sh imports it). */
export const TEST_BASE = 'hiveforge-test/busybox:1';

/**
 * The local engine, after making sure it answers and holds {@link TEST_BASE}. No engine is a
 * failure, never a skip.
 */
export async function imageEngine(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(`the image tests need a Docker engine (DOCKER_HOST or /var/run/docker.sock): ${String(error)}`);
  }
  const script = join(repoRoot, 'scripts', 'docker-test-images.sh');
  await new Promise<void>((resolve, reject) =>
    execFile('bash', [script], { timeout: 120_000 }, (error, _out, stderr) =>
      error ? reject(new Error(`${script} failed: ${stderr || error.message}`)) : resolve(),
    ),
  );
  return docker;
}

/** Images a test made; removed (newest first) when disposed. */
export interface TestImages extends AsyncDisposable {
  /** A word unique to this test, to put in descriptions so that they really build. */
  readonly nonce: string;
  /** Removes `reference` at dispose. */
  track(reference: string): void;
}

/** Tracks the images a test builds and removes them afterwards. */
export function testImages(docker: Docker): TestImages {
  const references = new Set<string>();
  return {
    nonce: randomBytes(6).toString('hex'),
    track: (reference) => references.add(reference),
    async [Symbol.asyncDispose]() {
      // Newest first: an image built on another goes before its base.
      for (const reference of [...references].reverse()) {
        await docker
          .getImage(reference)
          .remove({ force: true })
          .catch(() => {});
      }
    },
  };
}

/** Runs `command` in a throwaway container of `image`; resolves with its output and status. */
export async function runInImage(
  docker: Docker,
  image: string,
  command: string,
): Promise<{ output: string; exitCode: number }> {
  const container = await docker.createContainer({ Image: image, Cmd: ['/bin/sh', '-c', command], Tty: true });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    return { output: logs.toString(), exitCode: StatusCode };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** How many times the engine tagged `tag` (once per finished build) since `sinceMs`. */
export async function tagEvents(docker: Docker, tag: string, sinceMs: number): Promise<number> {
  const stream = (await docker.getEvents({
    since: Math.floor(sinceMs / 1000),
    until: (Date.now() / 1000 + 0.5).toFixed(3),
    filters: { type: ['image'], event: ['tag'] },
  } as Record<string, unknown>)) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Actor?: { Attributes?: { name?: string } } })
    .filter((event) => event.Actor?.Attributes?.name === tag).length;
}

/**
 * Tracks the images a failed or cancelled build of image `name` left (the engine keeps finished
 * steps as cache): those whose description label holds this test's nonce.
 */
export async function trackLeftLayers(docker: Docker, images: TestImages, name: string): Promise<void> {
  const left = await docker.listImages({ all: true, filters: { label: [`dev.hiveforge.image.name=${name}`] } });
  for (const image of left.sort((a, b) => a.Created - b.Created)) {
    if (image.Labels?.['dev.hiveforge.image']?.includes(images.nonce)) images.track(image.Id);
  }
}
