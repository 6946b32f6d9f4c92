import { relative, sep } from 'node:path';
import { type AnalysisResult, analyzePipeline, formatDiagnostic, renderGraph } from '@hiveforge/coordinator';
import { ConfigError } from '@hiveforge/sdk';
import { projectRoot } from '../bundle.js';
import { resolveEntry } from '../entry.js';
import { createStyle } from '../output.js';
import type { CommandIO } from '../command-io.js';

/** Analyzes the pipeline file a command names (see `resolveEntry`), as `validate` does. */
export function analyzeFile(file: string | undefined): AnalysisResult {
  const entry = resolveEntry(file);
  const root = projectRoot(entry);
  return analyzePipeline({ entry: relative(root, entry).split(sep).join('/'), root });
}

/** Prints diagnostics as `validate` does: one `file:line:column` line each, on stderr. */
export function printDiagnostics(result: Pick<AnalysisResult, 'diagnostics'>, io: CommandIO): void {
  for (const d of result.diagnostics) io.stderr.write(`${formatDiagnostic(d)}\n`);
}

/** Prints failed analysis's diagnostics and its closing count, as `validate` does. */
export function printAnalysisErrors(result: Pick<AnalysisResult, 'diagnostics'>, io: CommandIO): void {
  printDiagnostics(result, io);
  io.stderr.write(`${result.diagnostics.filter((d) => d.severity === 'error').length} error(s)\n`);
}

/** `hiveforge validate`: static analysis only; exit 1 when there are errors. */
export async function validateCommand(options: { file?: string; json?: boolean }, io: CommandIO): Promise<number> {
  const result = analyzeFile(options.file);
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify(result.ok ? { ok: true, spec: result.spec, diagnostics: result.diagnostics } : result, null, 2)}\n`,
    );
    return result.ok ? 0 : 1;
  }
  const style = createStyle(io.stdout);
  if (!result.ok) {
    printAnalysisErrors(result, io);
    return 1;
  }
  printDiagnostics(result, io);
  const { spec } = result;
  io.stdout.write(
    `${style.green('✓')} pipeline '${spec.name}': ${spec.jobs.length} job${spec.jobs.length === 1 ? '' : 's'}, ${spec.images.length} image${spec.images.length === 1 ? '' : 's'}\n`,
  );
  return 0;
}

const FORMATS = ['text', 'mermaid', 'dot', 'json'] as const;

/** `hiveforge graph`: the job graph as a text tree, mermaid, dot or json. */
export async function graphCommand(options: { file?: string; format?: string }, io: CommandIO): Promise<number> {
  const format = (options.format ?? 'text') as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new ConfigError(`--format must be one of ${FORMATS.join(', ')}`);
  const result = analyzeFile(options.file);
  printDiagnostics(result, io);
  if (!result.ok) return 1;
  io.stdout.write(`${renderGraph(result.spec, format).replace(/\n?$/, '\n')}`);
  return 0;
}
