import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LiveJob, createLiveViewWriter, eraseSequence, redrawSequence, renderLiveView } from './live-view.js';
import { createStyle } from './output.js';

const plain = createStyle({ isTTY: false } as NodeJS.WriteStream, false);
const ESC = '\x1b';

const jobs: LiveJob[] = [
  { name: 'build', state: 'succeeded', startedAt: 1_000, finishedAt: 2_500 },
  { name: 'test', state: 'running', startedAt: 2_000, finishedAt: null },
  { name: 'lint', state: 'failed', startedAt: 1_000, finishedAt: 1_200 },
  { name: 'deploy', state: 'queued', startedAt: null, finishedAt: null },
  { name: 'docs', state: 'skipped', startedAt: null, finishedAt: null },
  { name: 'e2e', state: 'cancelled', startedAt: 2_000, finishedAt: 3_000 },
];

describe('the live view', () => {
  it('draws one line per job: mark, name, state, duration (elapsed while running)', () => {
    expect(renderLiveView(plain, { jobs, now: 5_000, frame: 0 })).toEqual([
      '✓ build   succeeded  1.5s',
      '⠋ test    running    3.0s',
      '✗ lint    failed     200ms',
      '· deploy  queued',
      '↷ docs    skipped',
      '⊘ e2e     cancelled  1.0s',
    ]);
  });

  it('spins and counts while a job runs, and cuts lines to the terminal width', () => {
    const running = [jobs[1] as LiveJob];
    expect(renderLiveView(plain, { jobs: running, now: 3_000, frame: 1 })).toEqual(['⠙ test  running    1.0s']);
    expect(renderLiveView(plain, { jobs: running, now: 9_000, frame: 2 })).toEqual(['⠹ test  running    7.0s']);
    expect(renderLiveView(plain, { jobs: running, now: 3_000, frame: 0, columns: 10 })).toEqual(['⠋ test  r']);
  });

  it('colors a line by its state, after cutting it', () => {
    const colored = createStyle({ isTTY: true } as NodeJS.WriteStream, true);
    const [ok, running, failed] = renderLiveView(colored, { jobs, now: 5_000, frame: 0, columns: 8 });
    expect(ok).toBe(`${ESC}[32m✓ build${ESC}[0m`);
    expect(running).toBe('⠋ test ');
    expect(failed).toBe(`${ESC}[31m✗ lint ${ESC}[0m`);
  });

  it('redraws in place: cursor up over the old block, log lines above, each line cleared', () => {
    expect(redrawSequence(0, [], ['a', 'b'])).toBe(`${ESC}[2Ka\n${ESC}[2Kb\n${ESC}[J`);
    expect(redrawSequence(2, ['log 1'], ['a', 'b'])).toBe(
      `${ESC}[2A\r${ESC}[2Klog 1\n${ESC}[2Ka\n${ESC}[2Kb\n${ESC}[J`,
    );
    expect(eraseSequence(3)).toBe(`${ESC}[3A\r${ESC}[J`);
    expect(eraseSequence(0)).toBe(`${ESC}[J`);
  });
});

describe('the live view writer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('redraws at most ten times a second however many lines arrive, and leaves plain output when stopped', () => {
    const writes: string[] = [];
    let now = 0;
    const view = createLiveViewWriter({
      stream: { write: (t: string) => writes.push(t) },
      style: plain,
      jobs: [{ name: 'test', state: 'queued', startedAt: null, finishedAt: null }],
      now: () => now,
    });
    view.update({ name: 'test', state: 'running', startedAt: 0, finishedAt: null });
    for (let i = 0; i < 1_000; i++) {
      view.log([`line ${i}`]);
      now += 1;
      vi.advanceTimersByTime(1);
    }
    expect(writes.length).toBeLessThanOrEqual(10);
    expect(writes.length).toBeGreaterThanOrEqual(9);
    const all = writes.join('');
    for (let i = 0; i < 1_000; i++) expect(all).toContain(`line ${i}\n`);
    // Every redraw after the first moves up over the one-line block it replaces.
    for (const w of writes.slice(1)) expect(w.startsWith(`${ESC}[1A\r`)).toBe(true);
    view.log(['last']);
    view.update({ name: 'test', state: 'succeeded', startedAt: 0, finishedAt: 1_500 });
    view.stop();
    expect(writes.at(-1)).toBe(`${ESC}[1A\r${ESC}[J${ESC}[2Klast\n`);
    const count = writes.length;
    vi.advanceTimersByTime(1_000);
    expect(writes.length).toBe(count);
  });

  it('does not redraw while nothing changes and nothing runs', () => {
    const writes: string[] = [];
    const view = createLiveViewWriter({
      stream: { write: (t: string) => writes.push(t) },
      style: plain,
      jobs: [{ name: 'a', state: 'queued', startedAt: null, finishedAt: null }],
      now: () => 0,
    });
    vi.advanceTimersByTime(1_000);
    expect(writes).toEqual([`${ESC}[2K· a     queued\n${ESC}[J`]);
    view.stop();
  });
});
