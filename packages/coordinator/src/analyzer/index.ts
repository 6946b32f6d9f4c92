/**
 * The static analyzer: reads a pipeline's `hiveforge.ts` (and the local files it imports)
 * without running it, and produces a validated PipelineSpec or diagnostics with positions.
 *
 * @example
 * ```ts
 * import { AnalysisFailedError, createAnalyzer, formatDiagnostic } from './analyzer/index.js';
 *
 * const analyzer = createAnalyzer(); // keep one: it re-parses only files that changed
 * const result = analyzer.analyze({ entry: 'hiveforge.ts', files: { 'hiveforge.ts': source } });
 * for (const d of result.diagnostics) console.warn(formatDiagnostic(d));
 * if (!result.ok) throw new AnalysisFailedError(result.diagnostics);
 * ```
 *
 * @module
 */
export {
  analyzePipeline,
  createAnalyzer,
  type AnalysisResult,
  type AnalyzeInput,
  type Analyzer,
} from './analyzer.js';
export { AnalysisFailedError, formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { renderGraph, toGraph, type GraphFormat, type PipelineGraph } from './render-graph.js';
