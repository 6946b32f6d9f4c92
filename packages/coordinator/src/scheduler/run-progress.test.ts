import { describe, expect, it } from 'vitest';
import { RunProgress } from './run-progress.js';

describe('RunProgress', () => {
  it('a lease shows a run goes on only after marks taken before its decision started', () => {
    const progress = new RunProgress();
    const before = progress.mark();
    const deciding = progress.mark();
    const after = progress.mark();
    progress.leased('r1', deciding);
    expect(progress.leasedSince('r1', before)).toBe(true);
    expect(progress.leasedSince('r1', deciding)).toBe(false);
    expect(progress.leasedSince('r1', after)).toBe(false);
    expect(progress.leasedSince('r2', before)).toBe(false);
    // A lease decided earlier but won later does not move the run's latest lease back.
    progress.leased('r1', before);
    expect(progress.leasedSince('r1', before)).toBe(true);
  });

  it('remembers at most `limit` runs, forgetting the least recently leased first', () => {
    const progress = new RunProgress(2);
    const start = progress.mark();
    progress.leased('r1', progress.mark());
    progress.leased('r2', progress.mark());
    progress.leased('r1', progress.mark());
    progress.leased('r3', progress.mark());
    expect(progress.leasedSince('r2', start)).toBe(false);
    expect(progress.leasedSince('r1', start)).toBe(true);
    expect(progress.leasedSince('r3', start)).toBe(true);
  });
});
