import { describe, expect, it } from 'vitest';
import { type ArchiveEntryInfo, createArchiveEntryChecker } from './archive-entries.js';

/** The problems of `entries` checked in order, one per entry (null: allowed). */
const problems = (entries: ArchiveEntryInfo[], root?: string) => {
  const checker = createArchiveEntryChecker({ root });
  return entries.map((e) => checker.check(e));
};

describe('artifact archive entry rules', () => {
  it('keeps relative links that resolve inside the tree, and hard links to earlier files', () => {
    expect(
      problems(
        [
          { path: 'node_modules/', type: 'Directory' },
          { path: 'node_modules/typescript/bin/tsc', type: 'File' },
          { path: 'node_modules/.bin/tsc', type: 'SymbolicLink', linkpath: '../typescript/bin/tsc' },
          { path: 'node_modules/.bin/self', type: 'SymbolicLink', linkpath: '.' },
          { path: 'node_modules/copy', type: 'Link', linkpath: 'node_modules/typescript/bin/tsc' },
        ],
        'node_modules',
      ),
    ).toEqual([null, null, null, null, null]);
  });

  it('refuses links escaping the tree, absolute targets, ".." after a name, and entries outside it', () => {
    const [escaping, absolute, hidden, sibling, outside, dotdot, abs] = problems(
      [
        { path: 'node_modules/.bin/x', type: 'SymbolicLink', linkpath: '../../../etc/passwd' },
        { path: 'node_modules/.bin/y', type: 'SymbolicLink', linkpath: '/etc/passwd' },
        { path: 'node_modules/z', type: 'SymbolicLink', linkpath: 'a/../..' },
        { path: 'node_modules/w', type: 'SymbolicLink', linkpath: '../src' },
        { path: 'src/index.js', type: 'File' },
        { path: 'node_modules/../x', type: 'File' },
        { path: '/etc/passwd', type: 'File' },
      ],
      'node_modules',
    );
    expect(escaping).toMatch(
      /link "node_modules\/.bin\/x" points outside the uploaded tree "node_modules" \(-> "..\/..\/..\/etc\/passwd"\)/,
    );
    expect(absolute).toMatch(/points to an absolute path/);
    expect(hidden).toMatch(/has ".." after a name/);
    expect(sibling).toMatch(/points outside the uploaded tree "node_modules"/);
    expect(outside).toMatch(/outside the uploaded tree/);
    expect(dotdot).toMatch(/unsafe path/);
    expect(abs).toMatch(/unsafe path/);
  });

  it('at the archive root, a link may reach anything inside the archive but not above it', () => {
    expect(
      problems([
        { path: 'a/b/l', type: 'SymbolicLink', linkpath: '../../c' },
        { path: 'a/l2', type: 'SymbolicLink', linkpath: '../../c' },
        { path: 'top', type: 'SymbolicLink', linkpath: '..' },
      ]).map((p) => p !== null),
    ).toEqual([false, true, true]);
  });

  it('refuses a hard link to what is not an earlier file, devices, and entries below a link', () => {
    const [later, dir, dev, link, below] = problems([
      { path: 'h', type: 'Link', linkpath: 'f' },
      { path: 'd/', type: 'Directory' },
      { path: 'null', type: 'CharacterDevice' },
      { path: 'l', type: 'SymbolicLink', linkpath: 'd' },
      { path: 'l/x', type: 'File' },
    ]);
    expect(later).toMatch(/does not name a file earlier in the archive/);
    expect(dir).toBeNull();
    expect(dev).toMatch(/unsupported entry type CharacterDevice/);
    expect(link).toBeNull();
    expect(below).toMatch(/lies below the symbolic link "l"/);
  });

  it('refuses an uploaded path that is itself a link', () => {
    expect(problems([{ path: 'dist', type: 'SymbolicLink', linkpath: 'build' }], 'dist')[0]).toMatch(
      /itself a symbolic link/,
    );
  });
});
