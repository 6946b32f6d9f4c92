import { buildPipelineSpec } from './build-spec.js';
import { type Pipeline, declaredPipelineOf } from './pipeline.js';
import type { PipelineSpec } from './spec.js';

/** The spec of a pipeline collected at run time: what the analyzer would produce, without source positions. */
export function describePipeline(p: Pipeline): PipelineSpec {
  return buildPipelineSpec(declaredPipelineOf(p));
}
