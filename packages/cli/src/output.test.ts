import { describe, expect, it } from 'vitest';
import { createPrefixer, createStyle, renderSummary } from './output.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

describe('terminal output', () => {
  it('colors job prefixes on a terminal and not in a pipe', () => {
    const colored = createPrefixer(createStyle(tty, true), ['build', 'test']);
    const ESC = String.fromCharCode(27);
    expect(colored.lines('build', 'hello\n')[0]).toBe(`${ESC}[36mbuild |${ESC}[0m hello`);
    expect(colored.lines('test', 'x\n')[0]?.startsWith(`${ESC}[35m`)).toBe(true);
    const plain = createPrefixer(createStyle(pipe, false), ['build', 'test']);
    expect(plain.lines('build', 'hello\n')).toEqual(['build | hello']);
  });

  it('holds a partial line until it completes, per job', () => {
    const p = createPrefixer(createStyle(pipe, false), ['a', 'b']);
    expect(p.lines('a', 'one\ntw')).toEqual(['a    | one']);
    expect(p.lines('b', 'other\n')).toEqual(['b    | other']);
    expect(p.lines('a', 'o\n')).toEqual(['a    | two']);
    expect(p.lines('a', 'tail')).toEqual([]);
    expect(p.rest('a')).toEqual(['a    | tail']);
  });

  it('renders the summary table aligned, with durations', () => {
    const table = renderSummary(createStyle(pipe, false), [
      { job: 'build', status: 'succeeded', attempt: 1, durationMs: 1_500 },
      { job: 'integration-test', status: 'skipped', attempt: 1, durationMs: null },
    ]);
    expect(table.split('\n')).toEqual([
      'JOB               STATUS     ATTEMPT  DURATION',
      'build             succeeded  1        1.5s',
      'integration-test  skipped    1        -',
    ]);
  });

  it('adds each job’s environment to the summary when verbose', () => {
    const fingerprint = {
      executor: 'docker',
      imageTag: 'hiveforge/node20:3f2a9c1e',
      imageId: 'sha256:0123456789abcdef0123',
      configHash: 'sha256:1ad7c295d23ea402',
      hiveforgeVersion: '0.1.0',
      nodeVersion: 'v20.20.2',
    };
    const table = renderSummary(
      createStyle(pipe, false),
      [
        { job: 'build', status: 'succeeded', attempt: 1, durationMs: 1_500, fingerprint },
        { job: 'skip', status: 'skipped', attempt: 1, durationMs: null, fingerprint: null },
      ],
      { verbose: true },
    );
    expect(table.split('\n')).toEqual([
      'JOB    STATUS     ATTEMPT  DURATION  EXECUTOR  IMAGE                                     CONFIG                   HIVEFORGE  NODE',
      'build  succeeded  1        1.5s      docker    hiveforge/node20:3f2a9c1e (0123456789ab)  sha256:1ad7c295d23ea402  0.1.0      v20.20.2',
      'skip   skipped    1        -         -         -                                         -                        -          -',
    ]);
  });

  it('says which executor ran each job when the rows carry it', () => {
    const table = renderSummary(createStyle(pipe, false), [
      { job: 'build', executor: 'docker:node20', status: 'succeeded', attempt: 1, durationMs: 1_500 },
      { job: 'lint', executor: 'process', status: 'failed', attempt: 2, durationMs: 200 },
    ]);
    expect(table.split('\n')).toEqual([
      'JOB    STATUS     ATTEMPT  DURATION  EXECUTOR',
      'build  succeeded  1        1.5s      docker:node20',
      'lint   failed     2        200ms     process',
    ]);
  });
});
