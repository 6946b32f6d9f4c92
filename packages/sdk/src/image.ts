import { createHash } from 'node:crypto';
import type { ImageSpec } from './spec.js';

/** How to build a deterministic agent image. */
export interface ImageOptions {
  /** The base image; pin it by digest (`node:20-bookworm@sha256:…`) for reproducible builds. */
  from: string;
  /** Shell commands run in order on top of the base (`RUN` steps). @default [] */
  steps?: readonly string[];
  /** Environment baked into the image. @default {} */
  env?: Readonly<Record<string, string>>;
  /** The working directory of the image. @default null (the base's) */
  workdir?: string;
}

/** A reference to an image declared with {@link image}. */
export interface ImageRef {
  readonly kind: 'image';
  readonly name: string;
  readonly spec: ImageSpec;
}

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** True when an image reference names its content by `@sha256:` digest. */
export function isPinnedImage(from: string): boolean {
  return DIGEST.test(from);
}

/** What determines an image's content: everything of its description but its name. */
export interface ImageContent {
  from: string;
  steps: readonly string[];
  env: Readonly<Record<string, string>>;
  workdir: string | null;
}

/**
 * The canonical JSON of an image description's content: keys in a fixed order, `env` sorted by
 * name. Its hash is the tag, and built images carry it in their `dev.hiveforge.image` label.
 */
export function canonicalImage(content: ImageContent): string {
  return JSON.stringify({
    from: content.from,
    steps: [...content.steps],
    env: Object.fromEntries(Object.entries(content.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    workdir: content.workdir,
  });
}

/**
 * The content-addressed tag of an image description: the hash of everything that determines
 * its content ({@link canonicalImage}), so the same description is the same image on every agent.
 */
export function imageTag(name: string, content: ImageContent): string {
  const hash = createHash('sha256').update(canonicalImage(content)).digest('hex').slice(0, 20);
  return `hiveforge/${name.toLowerCase()}:${hash}`;
}

/** Builds the resolved {@link ImageSpec} of an image description. */
export function resolveImage(name: string, options: ImageOptions): ImageSpec {
  const resolved = {
    from: options.from,
    steps: [...(options.steps ?? [])],
    env: { ...(options.env ?? {}) },
    workdir: options.workdir ?? null,
  };
  return { name, ...resolved, tag: imageTag(name, resolved), pinned: isPinnedImage(options.from) };
}

/**
 * Declares a deterministic agent image: a base pinned by digest plus build steps. Its tag is
 * the hash of the description.
 * @example
 * const node20 = image('node20', { from: 'node:20-bookworm@sha256:…', steps: ['npm i -g pnpm'] });
 */
export function image(name: string, options: ImageOptions): ImageRef {
  return { kind: 'image', name, spec: resolveImage(name, options) };
}
