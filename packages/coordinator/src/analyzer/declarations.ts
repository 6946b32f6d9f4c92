import type { DeclaredJob, ImageSpec, Triggers } from '@hiveforge/sdk';
import type { ts } from 'ts-morph';
import type { Located } from './diagnostic-sink.js';
import type { SourceFileInfo } from './source-host.js';

/** A need of a job, with where it is written. */
export interface NeedDeclaration {
  name: string;
  at: Located;
}

/** An image as read from an `image()` call. */
export interface ImageDeclaration {
  spec: ImageSpec;
  at: Located;
  /** Where `from` is written: unpinned-image diagnostics point here. */
  fromAt: Located;
}

/** A `job()` call as read: the declared job plus the positions graph checks need. */
export interface JobDeclaration {
  name: string;
  at: Located;
  needs: NeedDeclaration[];
  image: ImageDeclaration | null;
  instances: string[];
  declared: DeclaredJob;
}

/** A `pipeline()` call as read. */
export interface PipelineDeclaration {
  name: string | undefined;
  at: Located;
  on: Triggers | Triggers[] | undefined;
  strictImages: boolean | undefined;
  env: Record<string, string | number | boolean> | undefined;
  /** The function that declares the jobs, when it could be found. */
  build: { fn: ts.SignatureDeclaration; file: SourceFileInfo } | undefined;
}
