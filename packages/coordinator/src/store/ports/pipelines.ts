import type { PipelineSpec } from '@hiveforge/sdk';

/** One deployed, content-addressed version of a pipeline. */
export interface PipelineVersionRecord {
  _id: string;
  pipeline: string;
  spec: PipelineSpec;
  /** The executable bundle (ESM JavaScript) agents evaluate in job mode. */
  bundle: string;
  /** The entry file of the sources, relative to their root. */
  entry: string;
  createdAt: number;
}

/**
 * One entry of a pipeline's version history: what a list of versions shows without the bundle
 * or the full spec.
 */
export interface PipelineVersionSummary {
  /** The version id (content hash). */
  _id: string;
  pipeline: string;
  /** When the version was first stored; deploying the same content again keeps it. */
  createdAt: number;
  /** The entry file of the sources, relative to their root. */
  entry: string;
  /** The names of the version's jobs, in the spec's order. */
  jobs: string[];
}

/** Which page of a pipeline's versions to list, newest first. */
export interface PipelineVersionQuery {
  /** Versions older than this version id (one of the pipeline's), for pagination. */
  before?: string;
  limit: number;
}

/** The head of a pipeline: its latest deployed version. */
export interface PipelineRecord {
  _id: string;
  versionId: string;
  updatedAt: number;
}

/** Pipelines of the Store: content-addressed versions, each pipeline's head and history. */
export interface PipelineStore {
  putPipelineVersion(version: PipelineVersionRecord): Promise<void>;
  getPipelineVersion(id: string): Promise<PipelineVersionRecord | null>;
  setPipelineHead(name: string, versionId: string, at: number): Promise<void>;
  getPipeline(name: string): Promise<PipelineRecord | null>;
  listPipelines(): Promise<PipelineRecord[]>;

  /**
   * The versions of a pipeline, newest first (by `createdAt`, then id), as summaries. Every
   * version stored by `putPipelineVersion` is listed once, however often it is stored again. A
   * `before` that is not a version of the pipeline lists nothing.
   */
  listPipelineVersions(pipeline: string, query: PipelineVersionQuery): Promise<PipelineVersionSummary[]>;
}
