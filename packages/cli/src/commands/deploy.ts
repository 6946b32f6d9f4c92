import { hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { ErrorCodes, type PipelineSpec } from '@hiveforge/sdk';
import { packagePipeline } from '../bundle.js';
import { withCluster } from '../cluster-client.js';
import { resolveEntry } from '../entry.js';
import { createStyle } from '../output.js';
import { diffSpecs, renderSpecDiff } from '../spec-diff.js';
import { diagnosticsOf } from '../user-client.js';
import { analyzeFile, printAnalysisErrors, printDiagnostics } from './analyze.js';
import type { CommandIO } from './run.js';

/** Options of `hiveforge deploy`. */
export interface DeployCommandOptions {
  /** The pipeline file, or a directory with hiveforge.ts. @default ./hiveforge.ts */
  file?: string;
  /** Print the version and the diff as JSON. */
  json?: boolean;
}

/**
 * `hiveforge deploy [file]`: analyzes the pipeline as `validate` does (errors: printed the same
 * way, exit 1, nothing uploaded), bundles and uploads it as `hiveforge run` does
 * (`pipelines.deploy`), and prints the new version's id and how its job graph differs from the
 * version it replaces.
 */
export async function deployCommand(options: DeployCommandOptions, io: CommandIO): Promise<number> {
  const analysis = analyzeFile(options.file);
  if (!analysis.ok) {
    printAnalysisErrors(analysis, io);
    return 1;
  }
  printDiagnostics(analysis, io);
  const name = analysis.spec.name;
  return withCluster(async ({ client }) => {
    let previous: { versionId: string; spec: PipelineSpec | null } | null = null;
    try {
      const head = await client.pipelines.get.query({ name });
      previous = { versionId: head.versionId, spec: head.spec };
    } catch (error) {
      if (hiveforgeErrorCode(error) !== ErrorCodes.notFound) throw error;
    }
    const pkg = await packagePipeline(resolveEntry(options.file));
    let deployed: Awaited<ReturnType<typeof client.pipelines.deploy.mutate>>;
    try {
      deployed = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    } catch (error) {
      // The coordinator's analysis may differ from this CLI's (another version): same output.
      const diagnostics = diagnosticsOf(error);
      if (!diagnostics) throw error;
      printAnalysisErrors({ diagnostics }, io);
      return 1;
    }
    for (const w of deployed.agentWarnings) io.stderr.write(`warning: ${w}\n`);
    const diff = diffSpecs(previous?.spec ?? null, deployed.spec);
    const unchanged = previous?.versionId === deployed.versionId;
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify(
          {
            pipeline: deployed.pipeline,
            versionId: deployed.versionId,
            previousVersionId: previous?.versionId ?? null,
            unchanged,
            diff,
          },
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    const style = createStyle(io.stdout);
    const replaces = unchanged
      ? 'unchanged: the same as the version deployed'
      : previous
        ? `replaces ${previous.versionId}`
        : 'its first version';
    io.stdout.write(`${style.green('✓')} deployed ${deployed.pipeline} version ${deployed.versionId} (${replaces})\n`);
    const lines = renderSpecDiff(diff);
    if (!unchanged && previous && lines.length === 0) io.stdout.write('  jobs unchanged (the code changed)\n');
    for (const line of lines) io.stdout.write(`  ${line}\n`);
    return 0;
  });
}
