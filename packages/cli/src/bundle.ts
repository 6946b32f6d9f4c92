import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

/** A pipeline ready to deploy: its local sources (for analysis) and its executable bundle. */
export interface PipelinePackage {
  /** The directory source paths are relative to. */
  root: string;
  /** The entry file, relative to `root`. */
  entry: string;
  /** Local source files (not node_modules), by path relative to `root`. */
  files: Record<string, string>;
  /** ESM JavaScript that agents evaluate in job mode. */
  bundle: string;
}

/** The nearest directory at or above the entry's that has a package.json: the user's project. */
export function projectRoot(entry: string): string {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(entry);
  }
}

/**
 * Bundles a pipeline with esbuild and collects the local source files it imports. The bundle
 * carries everything (the SDK and actions too), so agents need nothing installed.
 */
export async function packagePipeline(entryPath: string): Promise<PipelinePackage> {
  const absolute = resolve(entryPath);
  const result = await build({
    entryPoints: [absolute],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __hfCreateRequire } from 'node:module'; const require = __hfCreateRequire(import.meta.url);",
    },
  });
  const bundle = result.outputFiles[0]?.text ?? '';
  const locals = Object.keys(result.metafile.inputs)
    .map((p) => resolve(p))
    .filter((p) => !p.split(sep).includes('node_modules') && /\.(m|c)?[jt]sx?$/.test(p));
  const root = projectRoot(absolute);
  const sources = locals.filter((p) => p.startsWith(root + sep));
  const files: Record<string, string> = {};
  for (const path of sources) files[relative(root, path).split(sep).join('/')] = await readFile(path, 'utf8');
  return { root, entry: relative(root, absolute).split(sep).join('/'), files, bundle };
}
