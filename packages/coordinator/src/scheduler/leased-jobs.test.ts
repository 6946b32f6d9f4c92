import { describe, expect, it } from 'vitest';
import { makeJob } from '../store/contract.js';
import { LeasedJobs } from './leased-jobs.js';

describe('LeasedJobs', () => {
  const leasedTo = (agentId: string, name = 'x') => makeJob('r/1', name, { state: 'leased', agentId });

  it('gives a leased attempt to the agent it was leased to, once, with its start', () => {
    const leased = new LeasedJobs();
    leased.leased(leasedTo('agent-a'));
    leased.started('r/1/x', 1, { state: 'running', startedAt: 5 });
    expect(leased.take('r/1/x', 2, 'agent-a')).toBeUndefined();
    expect(leased.take('r/1/x', 1, 'agent-a')).toMatchObject({ state: 'running', startedAt: 5, agentId: 'agent-a' });
    expect(leased.take('r/1/x', 1, 'agent-a')).toBeUndefined();
  });

  it('gives nothing to another agent, and forgets the attempt then too', () => {
    const leased = new LeasedJobs();
    leased.leased(leasedTo('agent-a'));
    expect(leased.take('r/1/x', 1, 'agent-b')).toBeUndefined();
    expect(leased.size).toBe(0);
  });

  it('keeps at most `limit` attempts, dropping the oldest', () => {
    const leased = new LeasedJobs(2);
    for (const name of ['a', 'b', 'c']) leased.leased(leasedTo('agent-a', name));
    expect(leased.size).toBe(2);
    expect(leased.take('r/1/a', 1, 'agent-a')).toBeUndefined();
    expect(leased.take('r/1/c', 1, 'agent-a')?._id).toBe('r/1/c');
  });
});
