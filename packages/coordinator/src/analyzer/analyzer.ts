import path from 'node:path';
import { type DeclaredJob, ErrorCodes, type PipelineSpec, buildPipelineSpec, isHiveForgeError } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import { DiagnosticSink, positionOf, snippet } from './diagnostic-sink.js';
import type { Diagnostic } from './diagnostics.js';
import { checkGraph } from './graph-checks.js';
import type { JobDeclaration, PipelineDeclaration } from './declarations.js';
import { OptionReader } from './read-options.js';
import { exportsOf, lookup } from './scope.js';
import { checkSecretReads } from './secret-reads.js';
import { type SourceFileInfo, SourceHost, normalizeRelative } from './source-host.js';
import { Evaluator } from './evaluator.js';
import { SDK_MODULE } from './sdk-module.js';
import { unwrap } from './syntax.js';

/** The outcome of analyzing a pipeline: a spec, or the diagnostics that prevent one. */
export type AnalysisResult =
  | { ok: true; spec: PipelineSpec; diagnostics: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

/** What to analyze. */
export interface AnalyzeInput {
  /** The entry file (`hiveforge.ts`), relative to `root`. */
  entry: string;
  /** The project directory; diagnostics name files relative to it. @default process.cwd() */
  root?: string;
  /**
   * In-memory sources keyed by path relative to `root` (what a coordinator receives on
   * deploy). When given, nothing is read from disk.
   */
  files?: Readonly<Record<string, string>>;
}

/** A reusable analyzer: it keeps parsed files between calls and re-parses only what changed. */
export interface Analyzer {
  /** Analyzes one pipeline. Never runs user code; never throws for bad input. */
  analyze(input: AnalyzeInput): AnalysisResult;
}

/**
 * Creates an analyzer that reuses one ts-morph project across calls, so analyzing the same
 * pipeline again after an edit only re-parses the edited files.
 * @example
 * const analyzer = createAnalyzer();
 * const result = analyzer.analyze({ entry: 'hiveforge.ts', root: '/repo' });
 * if (!result.ok) console.error(result.diagnostics.map(formatDiagnostic).join('\n'));
 */
export function createAnalyzer(): Analyzer {
  const host = new SourceHost();
  return {
    analyze(input) {
      const root = path.resolve(input.root ?? process.cwd());
      const entry = normalizeRelative(path.isAbsolute(input.entry) ? path.relative(root, input.entry) : input.entry);
      host.begin({ root, ...(input.files ? { files: input.files } : {}) });
      const sink = new DiagnosticSink();
      try {
        const spec = new Analysis(host, sink).run(entry);
        const diagnostics = sink.sorted(entry);
        return spec && sink.errors === 0 ? { ok: true, spec, diagnostics } : { ok: false, diagnostics };
      } catch (error) {
        // Absurdly nested literals can exhaust the stack; that is bad input, not a crash.
        if (!(error instanceof RangeError)) throw error;
        sink.fileError(
          ErrorCodes.analysisSource,
          entry,
          `the pipeline is nested too deeply to analyze (${error.message})`,
          'Flatten the deeply nested expressions in the pipeline file or the files it imports.',
        );
        return { ok: false, diagnostics: sink.sorted(entry) };
      } finally {
        host.end();
      }
    },
  };
}

/**
 * Analyzes one pipeline with a fresh analyzer. Prefer {@link createAnalyzer} when analyzing
 * repeatedly.
 */
export function analyzePipeline(input: AnalyzeInput): AnalysisResult {
  return createAnalyzer().analyze(input);
}

const HINT_DEFAULT_EXPORT =
  "Default-export the result of pipeline() from '@hiveforge/sdk', directly or through a const: export default pipeline('web', () => { job(…); });";

/** One run of the analyzer over one entry file. */
class Analysis {
  private readonly evaluator: Evaluator;
  private readonly reader: OptionReader;
  /** Names of job() calls rejected for their placement; needs naming them are not unknown. */
  private readonly rejected = new Set<string>();

  constructor(
    private readonly host: SourceHost,
    private readonly sink: DiagnosticSink,
  ) {
    this.evaluator = new Evaluator(host, sink);
    this.reader = new OptionReader(this.evaluator, sink);
  }

  run(entry: string): PipelineSpec | undefined {
    const loaded = this.host.load(entry);
    if (!loaded.ok) {
      this.sink.fileError(
        ErrorCodes.analysisSource,
        entry,
        `cannot read the pipeline file ${entry}: ${loaded.reason}`,
        'Check the path of the entry file (relative to the project root).',
      );
      return undefined;
    }
    const file = loaded.file;
    this.evaluator.noteFile(file);
    if (file.syntaxErrors.length) return undefined;

    const found = this.findPipelineCall(file);
    if (!found) return undefined;
    const pipeline = this.reader.readPipeline(found.call, found.file);
    const jobs = this.collectJobs(pipeline, found.file);
    return this.finish(pipeline, jobs);
  }

  /** Finds the `pipeline()` call that the entry file default-exports. */
  private findPipelineCall(file: SourceFileInfo): { call: ts.CallExpression; file: SourceFileInfo } | undefined {
    const table = exportsOf(file.sf);
    const entry = table.named.get('default');
    if (!entry) {
      const named = [...table.named.keys()];
      this.sink.fileError(
        ErrorCodes.analysisNoDefaultExport,
        file.rel,
        `${file.rel} has no default export${named.length ? ` (it exports ${named.map((n) => `\`${n}\``).join(', ')})` : ''}`,
        named.length === 1 ? `Export the pipeline as the default: export default ${named[0]};` : HINT_DEFAULT_EXPORT,
      );
      return undefined;
    }
    const node = entry.kind === 'expression' ? entry.expression : entry.node;
    const at = { file, node };
    const resolved = this.evaluator.resolveExport(file, 'default', at, 0);
    if (resolved.kind === 'expression' && ts.isCallExpression(resolved.expression)) {
      const callee = this.evaluator.sdkCallee(resolved.expression, resolved.file);
      if (callee === 'pipeline') return { call: resolved.expression, file: resolved.file };
      const calleeNode = unwrap(resolved.expression.expression);
      if (callee === undefined && ts.isIdentifier(calleeNode) && calleeNode.text === 'pipeline') {
        this.sink.error(
          ErrorCodes.analysisNoDefaultExport,
          at,
          `the default export of ${file.rel} calls a \`pipeline\` that is not imported from ${SDK_MODULE}`,
          `Import it: import { pipeline, job } from '${SDK_MODULE}';`,
        );
        return undefined;
      }
    }
    const why = resolved.kind === 'fail' ? ` (${resolved.message})` : '';
    this.sink.error(
      ErrorCodes.analysisNoDefaultExport,
      at,
      `the default export of ${file.rel} is not a pipeline: \`${snippet(node, file.sf)}\`${why}`,
      HINT_DEFAULT_EXPORT,
    );
    return undefined;
  }

  /** Finds and reads the `job()` calls of the pipeline's build function, in declaration order. */
  private collectJobs(pipeline: PipelineDeclaration, pipelineFile: SourceFileInfo): JobDeclaration[] {
    const jobs: JobDeclaration[] = [];
    const build = pipeline.build;
    const files = new Set([pipelineFile, ...(build ? [build.file] : [])]);
    for (const file of files) {
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && this.evaluator.sdkCallee(node, file) === 'job') {
          this.job(node, file, build, jobs);
          // A job's body is code that runs on agents: it is not analyzed, except for the
          // syntactic check of its secret reads (secret-reads.ts).
          return;
        }
        ts.forEachChild(node, visit);
      };
      visit(file.sf);
    }
    if (build) this.warnAboutHelperCalls(build.fn, build.file);
    return jobs;
  }

  private job(
    call: ts.CallExpression,
    file: SourceFileInfo,
    build: PipelineDeclaration['build'],
    jobs: JobDeclaration[],
  ): void {
    const problem = placementProblem(call, build?.fn, this.evaluator, file);
    if (problem === 'elsewhere') return;
    if (problem) {
      this.sink.error(ErrorCodes.analysisNotStatic, { file, node: call }, problem.message, problem.hint);
      const name = call.arguments[0];
      if (name && ts.isStringLiteralLike(name)) this.rejected.add(name.text);
      return;
    }
    const errorsBefore = this.sink.errors;
    const job = this.reader.readJob(call, file);
    if (!job) return;
    const { line, column } = positionOf(job.at);
    job.declared.source = { file: file.rel, line, column };
    jobs.push(job);
    const body = call.arguments[call.arguments.length >= 3 ? 2 : 1];
    // Options that failed to read leave the secrets unknown: checking reads against them would
    // only repeat the error already reported.
    const secretsKnown = job.declared.secrets !== undefined || this.sink.errors === errorsBefore;
    if (body && secretsKnown) {
      checkSecretReads({ body, file, job: job.name, declared: job.declared.secrets ?? [], sink: this.sink });
    }
  }

  /** Calls to local functions in the build function might declare jobs the analyzer cannot see. */
  private warnAboutHelperCalls(fn: ts.SignatureDeclaration, file: SourceFileInfo): void {
    const body = (fn as ts.FunctionLikeDeclaration).body;
    if (!body || !ts.isBlock(body)) return;
    const visitStatements = (statements: ts.NodeArray<ts.Statement>) => {
      for (const statement of statements) {
        if (ts.isBlock(statement)) visitStatements(statement.statements);
        if (!ts.isExpressionStatement(statement)) continue;
        const e = unwrap(statement.expression);
        const call = ts.isAwaitExpression(e) ? unwrap(e.expression) : e;
        if (!ts.isCallExpression(call) || !ts.isIdentifier(call.expression)) continue;
        const d = lookup(call.expression.text, call.expression);
        const local =
          d && (d.kind === 'function' || d.kind === 'const' || (d.kind === 'import' && d.specifier.startsWith('.')));
        if (!local || this.evaluator.sdkCallee(call, file) !== undefined) continue;
        this.sink.warning(
          ErrorCodes.analysisNotStatic,
          { file, node: call },
          `\`${snippet(call, file.sf)}\` is not analyzed: jobs it declares would be missing from the pipeline's spec`,
          'Call job() directly in the function given to pipeline(); to declare variations of a job, use `matrix`.',
        );
      }
    };
    visitStatements(body.statements);
  }

  private finish(pipeline: PipelineDeclaration, jobs: JobDeclaration[]): PipelineSpec | undefined {
    if (jobs.length === 0 && this.sink.errors === 0) {
      this.sink.error(
        ErrorCodes.analysisInvalidValue,
        pipeline.at,
        `pipeline '${pipeline.name ?? ''}' declares no jobs`,
        "Declare at least one job in the function given to pipeline(): job('build', async (ctx) => { … });",
      );
    }
    const unique = checkGraph(jobs, this.sink, this.rejected) as JobDeclaration[];
    this.checkImages(unique, pipeline.strictImages === true);
    if (this.sink.errors > 0 || pipeline.name === undefined) return undefined;
    const { line, column } = positionOf(pipeline.at);
    try {
      return buildPipelineSpec({
        name: pipeline.name,
        ...(pipeline.on === undefined ? {} : { on: pipeline.on }),
        ...(pipeline.strictImages === undefined ? {} : { strictImages: pipeline.strictImages }),
        ...(pipeline.env === undefined ? {} : { env: pipeline.env }),
        jobs: unique.map((j): DeclaredJob => j.declared),
        source: { file: pipeline.at.file.rel, line, column },
      });
    } catch (error) {
      // The checks above mirror the schema; this is a safety net, not an expected path.
      this.sink.error(
        ErrorCodes.analysisInvalidValue,
        pipeline.at,
        `the pipeline does not form a valid spec: ${isHiveForgeError(error) ? error.message : String(error)}`,
        'Check the values named in the message.',
      );
      return undefined;
    }
  }

  private checkImages(jobs: readonly JobDeclaration[], strict: boolean): void {
    const seen = new Map<string, NonNullable<JobDeclaration['image']>>();
    for (const job of jobs) {
      const image = job.image;
      if (!image) continue;
      const first = seen.get(image.spec.name);
      if (first) {
        if (first.spec.tag !== image.spec.tag) {
          const { line } = positionOf(first.at);
          this.sink.error(
            ErrorCodes.analysisInvalidValue,
            image.at,
            `two different images are named '${image.spec.name}'; the other is declared on line ${line} of ${first.at.file.rel}`,
            'Give each image description its own name, or declare it once and share the const.',
          );
        }
        continue;
      }
      seen.set(image.spec.name, image);
      if (image.spec.pinned) continue;
      const message = `image '${image.spec.name}' is not pinned by digest: ${JSON.stringify(image.spec.from)}`;
      const hint = `Pin the base image by digest, e.g. from: '${image.spec.from.split('@')[0]}@sha256:<digest>' (docker buildx imagetools inspect shows it)${strict ? ', or drop strictImages: true' : ''}.`;
      if (strict) this.sink.error(ErrorCodes.analysisUnpinnedImage, image.fromAt, message, hint);
      else this.sink.warning(ErrorCodes.analysisUnpinnedImage, image.fromAt, message, hint);
    }
  }
}

const HINT_MATRIX = 'Declare one job with `matrix: { … }` to run variations of it.';
const HINT_IF = 'Declare the job unconditionally and give it `if: { branch: …, event: … }` to run it only sometimes.';
const HINT_DIRECT =
  'Call job() directly in the function given to pipeline(), as a statement or as the initializer of a `const`.';

/**
 * Why a `job()` call is not a plain, unconditional declaration in the build function:
 * undefined when it is one; 'elsewhere' when it belongs to another `pipeline()` of the file.
 */
function placementProblem(
  call: ts.CallExpression,
  build: ts.SignatureDeclaration | undefined,
  evaluator: Evaluator,
  file: SourceFileInfo,
): { message: string; hint: string } | 'elsewhere' | undefined {
  const name = call.arguments[0] && ts.isStringLiteralLike(call.arguments[0]) ? ` '${call.arguments[0].text}'` : '';
  const problem = (where: string, hint: string) => ({
    message: `job${name} is declared ${where}, so whether and how often it exists is only known at run time`,
    hint,
  });
  let node: ts.Node = call;
  while (
    ts.isParenthesizedExpression(node.parent) ||
    ts.isAsExpression(node.parent) ||
    ts.isSatisfiesExpression(node.parent) ||
    ts.isNonNullExpression(node.parent)
  ) {
    node = node.parent;
  }
  const parent = node.parent;
  // Straight-line forms: `job(…);`, `const x = job(…);` (or let/var), `x = job(…);`,
  // `return job(…);` and an arrow function whose body is the call.
  const direct =
    ts.isExpressionStatement(parent) ||
    ts.isReturnStatement(parent) ||
    (parent === build && ts.isArrowFunction(parent)) ||
    (ts.isVariableDeclaration(parent) && parent.initializer === node && ts.isVariableStatement(parent.parent.parent)) ||
    (ts.isBinaryExpression(parent) &&
      parent.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      parent.right === node &&
      ts.isExpressionStatement(parent.parent));
  for (let p: ts.Node = node.parent; p; p = p.parent) {
    if (p === build) break;
    if (ts.isSourceFile(p)) return problem('outside the function given to pipeline()', HINT_DIRECT);
    if (ts.isIterationStatement(p, false)) return problem('inside a loop', HINT_MATRIX);
    if (ts.isIfStatement(p) || ts.isConditionalExpression(p) || ts.isSwitchStatement(p)) {
      return problem('inside a condition', HINT_IF);
    }
    if (
      ts.isBinaryExpression(p) &&
      [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken].includes(
        p.operatorToken.kind,
      )
    ) {
      return problem('inside a condition', HINT_IF);
    }
    if (ts.isTryStatement(p)) return problem('inside a try statement', HINT_DIRECT);
    if (ts.isFunctionLike(p)) {
      const owner = p.parent;
      if (
        ts.isCallExpression(owner) &&
        owner.arguments.includes(p as ts.Expression) &&
        evaluator.sdkCallee(owner, file) === 'pipeline'
      ) {
        return 'elsewhere';
      }
      return problem('inside a nested function', `${HINT_DIRECT} ${HINT_MATRIX}`);
    }
  }
  if (!direct) {
    return {
      message: `job${name} is used inside an expression; a job must be declared by a statement of its own`,
      hint: HINT_DIRECT,
    };
  }
  return undefined;
}
