import type { ImageSpec } from '@hiveforge/sdk';

/** An image made available to jobs: the content-addressed tag and the engine's image id. */
export interface PreparedImage {
  /** The tag jobs run (`hiveforge/<name>:<content hash>`, or the base itself). */
  readonly tag: string;
  /** The engine's id of the image (`sha256:…`). */
  readonly id: string;
}

/** Options of one {@link ImageBuilder.ensure} call. */
export interface EnsureImageOptions {
  signal?: AbortSignal;
  /** Receives the build's (or pull's) output as it comes, for the job's log. */
  onLog?: (text: string) => void;
  /**
   * Refuse a base not pinned by digest (the pipeline's `strictImages`) instead of warning.
   * @default false
   */
  strict?: boolean;
}

/** An image the engine holds that an image description produced. */
export interface BuiltImage extends PreparedImage {
  /** The image's declared name in its pipeline. */
  readonly name: string;
  readonly createdAt: number;
  readonly sizeBytes: number;
}

/**
 * Turns image descriptions into images on one engine: built on first use, reused afterwards,
 * one build at a time per tag.
 */
export interface ImageBuilder {
  /** Builds (or finds) the image of a description; concurrent calls for one tag share one build. */
  ensure(image: ImageSpec, options?: EnsureImageOptions): Promise<PreparedImage>;
  /** The images this builder's engine holds that descriptions produced. */
  list(): Promise<BuiltImage[]>;
}
