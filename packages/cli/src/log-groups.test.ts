import { describe, expect, it } from 'vitest';
import { createLogGroupFolder } from './log-groups.js';
import { createPrefixer, createStyle } from './output.js';

const pipe = { isTTY: false } as NodeJS.WriteStream;

describe('log groups', () => {
  it('folds a group into its title and indents the lines inside, nested groups deeper', () => {
    const f = createLogGroupFolder();
    const shown = [
      'before',
      '::group::Install',
      'npm ci',
      '::group::inner',
      'deep',
      '::endgroup::',
      'back',
      '::endgroup::',
      'after',
    ].map((l) => f.fold('a', l));
    expect(shown).toEqual(['before', '▸ Install', '  npm ci', '  ▸ inner', '    deep', null, '  back', null, 'after']);
  });

  it('keeps each job’s groups apart, and a stray closing marker prints nothing', () => {
    const f = createLogGroupFolder();
    expect(f.fold('a', '::group::A')).toBe('▸ A');
    expect(f.fold('b', 'b line')).toBe('b line');
    expect(f.fold('b', '::endgroup::')).toBeNull();
    expect(f.fold('b', 'still flat')).toBe('still flat');
    expect(f.fold('a', 'in A')).toBe('  in A');
  });

  it('prints the title once with the job prefix and never the raw markers', () => {
    const p = createPrefixer(createStyle(pipe, false), ['build']);
    const lines = p.lines('build', '::group::Compile\ntsc -b\n::endgroup::\ndone\n');
    expect(lines).toEqual(['build | ▸ Compile', 'build |   tsc -b', 'build | done']);
  });
});
