import {
  ConfigError,
  ExecutorUnavailableError,
  ImageBuildError,
  type ImageSpec,
  isHiveForgeError,
} from '@hiveforge/sdk';
import type Docker from 'dockerode';
import { createDockerClient } from '../docker-client.js';
import { BASE_ARG, buildContext, IMAGE_LABEL, IMAGE_NAME_LABEL } from './dockerfile.js';
import { createTail, type EngineMessage, engineMessages, messageError, messageText } from './engine-progress.js';
import type { BuiltImage, EnsureImageOptions, ImageBuilder, PreparedImage } from './types.js';

/** Options of {@link createImageBuilder}. */
export interface ImageBuilderOptions {
  /** The engine images are built on. @default `createDockerClient()` (DOCKER_HOST or /var/run/docker.sock) */
  docker?: Docker;
  /**
   * A registry (`host:port`) that bases without a registry host of their own are pulled from
   * when the engine lacks them (`busybox:1.36` → `REGISTRY/busybox:1.36`), and that built
   * images are pushed to when `push` is set. @default none: bases come from their own registry
   */
  registry?: string;
  /** Push each image this builder ensures to `REGISTRY/hiveforge/<name>:<hash>`. @default false */
  push?: boolean;
}

/** What the builder was configured with, defaults applied. */
export interface ResolvedImageBuilderConfig {
  registry: string | null;
  push: boolean;
}

interface Flight {
  readonly promise: Promise<PreparedImage>;
  readonly listeners: Set<(text: string) => void>;
  readonly controller: AbortController;
  waiters: number;
}

/** True when the first path component of a reference names a registry host. */
function hasRegistryHost(reference: string): boolean {
  const slash = reference.indexOf('/');
  if (slash < 0) return false;
  const first = reference.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * What a failed engine call means: no HTTP status is an engine that did not answer (retryable,
 * not the description's fault); a status is the engine's refusal, reported as `what` failing.
 */
function engineFailure(error: unknown, what: string): string {
  if (isHiveForgeError(error)) throw error;
  const message = (error instanceof Error ? error.message : String(error)).trim().split('\n')[0] ?? '';
  if (statusOf(error) === undefined) {
    throw new ExecutorUnavailableError(`docker: the engine did not answer (${what}): ${message}`, { cause: error });
  }
  return message;
}

/** Parses the builder's options; a bad registry or `push` without a registry is a ConfigError. */
export function resolveImageBuilderConfig(options: ImageBuilderOptions): ResolvedImageBuilderConfig {
  const registry = options.registry?.trim() || null;
  if (registry !== null && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(registry)) {
    throw new ConfigError(`registry must be host or host:port, got ${JSON.stringify(options.registry)}`);
  }
  const push = options.push ?? false;
  if (push && registry === null) throw new ConfigError('push needs a registry to push to');
  return { registry, push };
}

/**
 * An {@link ImageBuilder} on one Docker engine. An image is built the first time a description
 * is ensured (its tag absent from the engine) and found afterwards; concurrent calls for one tag
 * share one build, and each caller's `onLog` sees its output.
 *
 * @example
 * const images = createImageBuilder({ docker: createDockerClient(), registry: '127.0.0.1:5000' });
 * const { tag } = await images.ensure(spec.images[0], { onLog: (t) => process.stderr.write(t) });
 */
export function createImageBuilder(options: ImageBuilderOptions = {}): ImageBuilder {
  const config = resolveImageBuilderConfig(options);
  const docker = options.docker ?? createDockerClient();
  const flights = new Map<string, Flight>();
  const pushed = new Set<string>();

  async function inspect(reference: string): Promise<Docker.ImageInspectInfo | null> {
    try {
      return await docker.getImage(reference).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw new ExecutorUnavailableError(`docker: inspecting ${reference}: ${engineFailure(error, 'inspect')}`, {
        cause: error,
      });
    }
  }

  /** Follows a progress stream to its end; returns the first error it reports. */
  async function follow(
    stream: NodeJS.ReadableStream,
    log: (text: string) => void,
    tail: ReturnType<typeof createTail>,
    onMessage?: (message: EngineMessage) => void,
  ): Promise<string | undefined> {
    let failure: string | undefined;
    for await (const message of engineMessages(stream as AsyncIterable<Buffer>)) {
      const text = messageText(message);
      if (text) {
        tail.push(text);
        log(text);
      }
      const error = messageError(message);
      if (error !== undefined) {
        failure ??= error;
        tail.push(`${error}\n`);
        log(`${error}\n`);
      }
      onMessage?.(message);
    }
    return failure;
  }

  /** Pulls a missing base; returns the reference the build's FROM should use. */
  async function ensureBase(spec: ImageSpec, log: (text: string) => void, signal: AbortSignal): Promise<string> {
    if (await inspect(spec.from)) return spec.from;
    const source = config.registry && !hasRegistryHost(spec.from) ? `${config.registry}/${spec.from}` : spec.from;
    if (source !== spec.from && (await inspect(source))) return source;
    log(`pulling base ${source}\n`);
    const tail = createTail();
    let failure: string | undefined;
    try {
      const stream = await docker.pull(source, { abortSignal: signal });
      failure = await follow(stream, log, tail);
    } catch (error) {
      signal.throwIfAborted();
      failure = engineFailure(error, `pulling ${source}`);
    }
    if (failure !== undefined) {
      throw new ImageBuildError({
        image: spec.name,
        tag: spec.tag,
        message: `its base ${source} could not be pulled: ${failure.split('\n')[0]}`,
        outputTail: tail.text(),
      });
    }
    return source;
  }

  async function build(spec: ImageSpec, log: (text: string) => void, signal: AbortSignal): Promise<PreparedImage> {
    const found = await inspect(spec.tag);
    if (found) return { tag: spec.tag, id: found.Id };
    if (!spec.pinned) {
      log(
        `warning HF_ANALYSIS_UNPINNED_IMAGE: image '${spec.name}' is not pinned by digest (${spec.from}); the same description may build different images over time\n`,
      );
    }
    const context = buildContext(spec);
    const base = await ensureBase(spec, log, signal);
    const tail = createTail();
    let failure: string | undefined;
    try {
      const stream = await docker.buildImage(
        context as unknown as NodeJS.ReadableStream,
        {
          t: spec.tag,
          rm: true,
          forcerm: true,
          ...(base === spec.from ? {} : { buildargs: { [BASE_ARG]: base } }),
          abortSignal: signal,
        } as Docker.ImageBuildOptions,
      );
      failure = await follow(stream, log, tail);
    } catch (error) {
      signal.throwIfAborted();
      failure = engineFailure(error, 'building');
    }
    signal.throwIfAborted();
    const built = failure === undefined ? await inspect(spec.tag) : null;
    if (!built) {
      throw new ImageBuildError({
        image: spec.name,
        tag: spec.tag,
        message: `build failed: ${(failure ?? 'the engine finished without the image').split('\n')[0]}`,
        outputTail: tail.text(),
      });
    }
    return { tag: spec.tag, id: built.Id };
  }

  async function push(spec: ImageSpec, log: (text: string) => void, signal: AbortSignal): Promise<void> {
    if (!config.push || config.registry === null || pushed.has(spec.tag)) return;
    const [repository = '', tag = ''] = spec.tag.split(':');
    const remote = `${config.registry}/${repository}`;
    log(`pushing ${remote}:${tag}\n`);
    const tail = createTail();
    let failure: string | undefined;
    try {
      await docker.getImage(spec.tag).tag({ repo: remote, tag });
      const stream = await docker.getImage(remote).push({ tag, abortSignal: signal } as Record<string, unknown>);
      failure = await follow(stream, log, tail);
    } catch (error) {
      signal.throwIfAborted();
      failure = engineFailure(error, `pushing ${remote}:${tag}`);
    }
    if (failure !== undefined) {
      throw new ImageBuildError({
        image: spec.name,
        tag: spec.tag,
        message: `push to ${remote}:${tag} failed: ${failure.split('\n')[0]}`,
        outputTail: tail.text(),
      });
    }
    pushed.add(spec.tag);
  }

  function start(spec: ImageSpec): Flight {
    const listeners = new Set<(text: string) => void>();
    const controller = new AbortController();
    const log = (text: string) => {
      for (const listener of listeners) listener(text);
    };
    const promise = (async () => {
      try {
        const image = await build(spec, log, controller.signal);
        await push(spec, log, controller.signal);
        return image;
      } finally {
        flights.delete(spec.tag);
      }
    })();
    const flight: Flight = { promise, listeners, controller, waiters: 0 };
    flights.set(spec.tag, flight);
    return flight;
  }

  return {
    async ensure(spec, ensureOptions: EnsureImageOptions = {}) {
      const { signal, onLog } = ensureOptions;
      signal?.throwIfAborted();
      if (ensureOptions.strict && !spec.pinned) {
        throw new ImageBuildError({
          image: spec.name,
          tag: spec.tag,
          message: `its base ${spec.from} is not pinned by digest and the pipeline asks for strictImages; pin it as ${spec.from.split('@')[0]}@sha256:<digest>`,
        });
      }
      const joined = flights.get(spec.tag);
      const flight = joined ?? start(spec);
      const listener = onLog ?? (() => {});
      if (joined) listener(`waiting for the build of ${spec.tag} already under way on this agent\n`);
      flight.listeners.add(listener);
      flight.waiters += 1;
      let onAbort: (() => void) | undefined;
      try {
        if (!signal) return await flight.promise;
        return await Promise.race([
          flight.promise,
          new Promise<never>((_, reject) => {
            onAbort = () => reject(signal.reason);
            signal.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
      } finally {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        flight.listeners.delete(listener);
        flight.waiters -= 1;
        // The last caller to give up stops the build; others still waiting keep it going.
        if (flight.waiters === 0 && signal?.aborted) flight.controller.abort(signal.reason);
      }
    },

    async list() {
      let images: Docker.ImageInfo[];
      try {
        images = await docker.listImages({ filters: { label: [IMAGE_LABEL] } });
      } catch (error) {
        throw new ExecutorUnavailableError(`docker: listing images: ${engineFailure(error, 'list')}`, { cause: error });
      }
      const result: BuiltImage[] = [];
      for (const image of images) {
        const name = image.Labels?.[IMAGE_NAME_LABEL];
        if (!name) continue;
        const tag = (image.RepoTags ?? []).find((t) => t.startsWith(`hiveforge/${name.toLowerCase()}:`));
        if (!tag) continue;
        result.push({ name, tag, id: image.Id, createdAt: image.Created * 1000, sizeBytes: image.Size });
      }
      return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : b.createdAt - a.createdAt));
    },
  };
}
