/**
 * The rules every entry of an artifact archive (a tar, gzipped or not) must follow, checked by the
 * agent when it packs an upload, by the coordinator as the upload streams in, and by the agent
 * and the CLI again before they extract a download (the zip-slip class: CVE-2024-42471 was
 * actions/download-artifact extracting an entry outside its directory).
 *
 * - Paths are relative, without `..` segments, and inside the tree (`root`).
 * - Files, directories, symbolic links and hard links only (no devices, FIFOs).
 * - A symbolic link's target is relative, its `..` segments come first (`../typescript/bin/tsc`,
 *   never `a/../..`: with `a` itself a link, `a/..` is not where it reads), and it resolves
 *   inside the tree from the link's own directory.
 * - A hard link names a file that came earlier in the same archive, inside the tree.
 * - No entry lies below a symbolic link of the archive (it would be written through the link).
 *
 * Together these keep every link, followed any number of times, inside the extraction directory:
 * each link sits at a real path of the tree and climbs no higher than its own depth.
 * @module
 */

/** An archive entry as the checks see it (tar's `path`, `type` and `linkpath`). */
export interface ArchiveEntryInfo {
  path: string;
  /** tar's entry type: `File`, `Directory`, `SymbolicLink`, `Link` (hard link)... */
  type: string;
  /** The target of a `SymbolicLink` or `Link`. */
  linkpath?: string;
}

/** Checks the entries of one archive, in archive order. */
export interface ArchiveEntryChecker {
  /** The problem with this entry (a short sentence naming it), or null when it is allowed. */
  check(entry: ArchiveEntryInfo): string | null;
}

/** The entry types an artifact archive may hold. */
const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  'File',
  'OldFile',
  'ContiguousFile',
  'Directory',
  'SymbolicLink',
  'Link',
]);

/** Path segments without empty and `.` ones; `null` for an absolute path. */
function segmentsOf(path: string): string[] | null {
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return null;
  return path.split(/[\\/]/).filter((s) => s !== '' && s !== '.');
}

/**
 * Creates the checker of one archive's entries.
 * @param options.root the tree the entries must stay in, as archive-relative segments joined by
 *   `/` (the uploaded path when packing). @default '' (the archive's root: the extraction directory)
 * @example
 * const checker = createArchiveEntryChecker({ root: 'node_modules' });
 * checker.check({ path: 'node_modules/.bin/tsc', type: 'SymbolicLink', linkpath: '../typescript/bin/tsc' }); // null
 */
export function createArchiveEntryChecker(options: { root?: string } = {}): ArchiveEntryChecker {
  const root = segmentsOf(options.root ?? '') ?? [];
  const rootLabel = root.length ? `"${root.join('/')}"` : 'the archive';
  const files = new Set<string>();
  const links = new Set<string>();
  /** The segments of `path` below the root, or null when it is not inside it. */
  const belowRoot = (segments: readonly string[]): string[] | null =>
    segments.length >= root.length && root.every((s, i) => segments[i] === s) ? segments.slice(root.length) : null;

  return {
    check(entry) {
      const path = entry.path;
      const segments = segmentsOf(path);
      if (segments === null || segments.includes('..')) return `unsafe path "${path}" (absolute or with "..")`;
      const inner = belowRoot(segments);
      if (inner === null) return `"${path}" is outside the uploaded tree ${rootLabel}`;
      if (!ALLOWED_TYPES.has(entry.type))
        return `unsupported entry type ${entry.type} at "${path}" (files, directories and links only)`;
      const key = segments.join('/');
      for (let i = 1; i < segments.length; i++)
        if (links.has(segments.slice(0, i).join('/')))
          return `"${path}" lies below the symbolic link "${segments.slice(0, i).join('/')}" of the archive`;
      const target = entry.linkpath ?? '';
      if (entry.type === 'SymbolicLink') {
        const parts = segmentsOf(target);
        if (target === '' || parts === null) return `link "${path}" points to an absolute path "${target}"`;
        const ups = parts.findIndex((s) => s !== '..');
        const climbs = ups < 0 ? parts.length : ups;
        if (parts.slice(climbs).includes('..'))
          return `link "${path}" has ".." after a name (-> "${target}"; only leading ".." are allowed)`;
        if (inner.length === 0)
          return `the uploaded path "${path}" is itself a symbolic link: upload what it points to`;
        // The link's own directory, below the root: how high its target may climb.
        if (climbs > inner.length - 1)
          return `link "${path}" points outside ${root.length ? `the uploaded tree ${rootLabel}` : 'the archive'} (-> "${target}")`;
        links.add(key);
        files.delete(key);
      } else if (entry.type === 'Link') {
        const parts = segmentsOf(target);
        if (parts === null || parts.includes('..') || !files.has(parts.join('/')))
          return `hard link "${path}" -> "${target}" does not name a file earlier in the archive`;
        if (belowRoot(parts) === null) return `hard link "${path}" -> "${target}" points outside ${rootLabel}`;
        files.add(key);
        links.delete(key);
      } else {
        if (entry.type === 'Directory') files.delete(key);
        else files.add(key);
        links.delete(key);
      }
      return null;
    },
  };
}
