import { type DeclaredPipeline, assemblePipelineSpec } from './assemble-spec.js';
import { type PipelineSpec, parsePipelineSpec } from './spec.js';

export {
  assemblePipelineSpec,
  DEFAULT_JOB_TIMEOUT_MS,
  structuralDigest,
  type DeclaredJob,
  type DeclaredPipeline,
} from './assemble-spec.js';

/**
 * Expands matrices and resolves defaults, producing a validated PipelineSpec. Both the static
 * analyzer and the run-time collector go through this one function, so their specs agree.
 * Graph checks (cycles, unknown needs, duplicates) are the analyzer's; they need positions.
 */
export function buildPipelineSpec(declared: DeclaredPipeline): PipelineSpec {
  return parsePipelineSpec(assemblePipelineSpec(declared));
}
