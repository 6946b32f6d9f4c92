import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Project, ts } from 'ts-morph';

/** A parsed file of the project being analyzed. */
export interface SourceFileInfo {
  /** The path relative to the project root, with `/` separators (`src/config.ts`). */
  readonly rel: string;
  /** The raw TypeScript syntax tree. The analyzer walks it directly: wrappers cost time. */
  readonly sf: ts.SourceFile;
  readonly text: string;
  /** Syntax errors found while parsing. */
  readonly syntaxErrors: readonly ts.DiagnosticWithLocation[];
}

/** A file, or why it could not be read. */
export type LoadResult = { ok: true; file: SourceFileInfo } | { ok: false; reason: string };

/** Where the sources of one analysis come from. */
export interface SourceSet {
  /** Absolute project root. */
  root: string;
  /** In-memory sources keyed by path relative to root; when present, the disk is not read. */
  files?: Readonly<Record<string, string>>;
}

// Files live under a virtual root so paths outside the project (`../shared/x.ts`) stay distinct.
const VIRTUAL_ROOT = '/__hiveforge__/project/root';
const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx'];
const JS_TO_TS: Record<string, readonly string[]> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};

/** Normalizes a root-relative path: posix separators, no `./`, no `a/../`. */
export function normalizeRelative(p: string): string {
  const normalized = path.posix.normalize(p.replaceAll('\\', '/'));
  return normalized.startsWith('./') ? normalized.slice(2) : normalized;
}

/** True for module specifiers that name a file of the project (`./x.js`, `../y`). */
export function isRelativeSpecifier(specifier: string): boolean {
  return specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
}

interface CachedFile {
  info: SourceFileInfo;
  usedInRun: number;
}

/**
 * Loads and parses project files into one long-lived ts-morph Project. A file whose text is
 * unchanged since the previous analysis keeps its syntax tree (and every cache keyed on it);
 * a changed file is re-parsed in place. Files no analysis used last time are dropped.
 */
export class SourceHost {
  private readonly project = new Project({
    useInMemoryFileSystem: true,
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    skipLoadingLibFiles: true,
    compilerOptions: { noLib: true, allowJs: true, target: ts.ScriptTarget.ESNext, types: [] },
  });
  private readonly cache = new Map<string, CachedFile>();
  private run = 0;
  private sources: SourceSet = { root: process.cwd() };
  private memoryFiles: Map<string, string> | undefined;
  private loaded = new Map<string, LoadResult>();

  /** Starts an analysis over a set of sources. */
  begin(sources: SourceSet): void {
    this.run++;
    this.sources = sources;
    this.loaded = new Map();
    this.memoryFiles = sources.files
      ? new Map(Object.entries(sources.files).map(([k, v]) => [normalizeRelative(k), v]))
      : undefined;
  }

  /** Ends an analysis, forgetting files it did not use so memory stays bounded. */
  end(): void {
    for (const [key, cached] of this.cache) {
      if (cached.usedInRun === this.run) continue;
      this.cache.delete(key);
      const sf = this.project.getSourceFile(key);
      if (sf) this.project.removeSourceFile(sf);
    }
    this.loaded = new Map();
    this.memoryFiles = undefined;
  }

  /** Loads a file by its root-relative path. */
  load(rel: string): LoadResult {
    const normalized = normalizeRelative(rel);
    const known = this.loaded.get(normalized);
    if (known) return known;
    const text = this.readText(normalized);
    const result: LoadResult =
      text === undefined
        ? { ok: false, reason: this.memoryFiles ? 'it is not among the files received' : 'it does not exist' }
        : { ok: true, file: this.parse(normalized, text) };
    this.loaded.set(normalized, result);
    return result;
  }

  /** Resolves a relative import the way TypeScript's NodeNext resolution does for source files. */
  resolveImport(from: SourceFileInfo, specifier: string): LoadResult {
    const base = normalizeRelative(path.posix.join(path.posix.dirname(from.rel), specifier));
    for (const candidate of candidatesOf(base)) {
      const loaded = this.load(candidate);
      if (loaded.ok) return loaded;
    }
    return { ok: false, reason: `no file matches "${specifier}" (looked for ${base} with TypeScript extensions)` };
  }

  private readText(rel: string): string | undefined {
    if (this.memoryFiles) return this.memoryFiles.get(rel);
    try {
      return readFileSync(path.resolve(this.sources.root, rel), 'utf8');
    } catch {
      return undefined;
    }
  }

  private parse(rel: string, text: string): SourceFileInfo {
    const key = path.posix.join(VIRTUAL_ROOT, rel);
    const cached = this.cache.get(key);
    if (cached && cached.info.text === text) {
      cached.usedInRun = this.run;
      return cached.info;
    }
    // Let go of the previous tree first: the new parse then has the heap to itself.
    this.cache.delete(key);
    const existing = this.project.getSourceFile(key);
    if (existing) this.project.removeSourceFile(existing);
    const sf = this.project.createSourceFile(key, text).compilerNode;
    const syntaxErrors = (sf as ts.SourceFile & { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics;
    const info: SourceFileInfo = { rel, sf, text, syntaxErrors: syntaxErrors ?? [] };
    this.cache.set(key, { info, usedInRun: this.run });
    return info;
  }
}

function candidatesOf(base: string): string[] {
  const ext = path.posix.extname(base);
  const candidates: string[] = [];
  const mapped = JS_TO_TS[ext];
  if (mapped) for (const replacement of mapped) candidates.push(base.slice(0, -ext.length) + replacement);
  if (SOURCE_EXTENSIONS.includes(ext)) candidates.push(base);
  else {
    for (const e of ['.ts', '.tsx', '.mts', '.js', '.mjs']) candidates.push(base + e);
    for (const e of ['.ts', '.tsx', '.js']) candidates.push(`${base}/index${e}`);
  }
  return candidates;
}
