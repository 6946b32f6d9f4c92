import { expect, it } from 'vitest';
import type { Store, AgentRecord } from '../types.js';
import { makeAgent } from './fixtures.js';

/** The contract of agents, run inside `describeStoreContract` on the store it made for each test. */
export function describeAgentsContract(storeOf: () => Store): void {
  it('agents are found by token hash', async () => {
    const store = storeOf();
    await store.putAgent({
      _id: 'ag',
      name: 'n',
      labels: ['linux'],
      state: 'active',
      tokenHash: 'h1',
      capacity: 1,
      registeredAt: 0,
      lastHeartbeatAt: 0,
      disk: null,
    });
    expect((await store.getAgentByTokenHash('h1'))?._id).toBe('ag');
    expect(await store.getAgentByTokenHash('h2')).toBeNull();
    await store.updateAgent('ag', { state: 'draining' });
    expect((await store.getAgent('ag'))?.state).toBe('draining');
    expect((await store.getAgentByTokenHash('h1'))?.state).toBe('draining');
    // A new token: the old one finds nobody.
    await store.updateAgent('ag', { tokenHash: 'h3' });
    expect(await store.getAgentByTokenHash('h1')).toBeNull();
    expect((await store.getAgentByTokenHash('h3'))?._id).toBe('ag');
    await store.putAgent({ ...((await store.getAgent('ag')) as AgentRecord), tokenHash: 'h4' });
    expect(await store.getAgentByTokenHash('h3')).toBeNull();
    expect((await store.getAgentByTokenHash('h4'))?._id).toBe('ag');
  });

  it('agents: silent ones are found longest silent first, gone ones never', async () => {
    const store = storeOf();
    await store.putAgent(makeAgent('a', { lastHeartbeatAt: 300 }));
    await store.putAgent(makeAgent('b', { lastHeartbeatAt: 100 }));
    await store.putAgent(makeAgent('c', { lastHeartbeatAt: 200, state: 'draining' }));
    await store.putAgent(makeAgent('d', { lastHeartbeatAt: 50, state: 'gone', goneAt: 60 }));
    await store.putAgent(makeAgent('e', { lastHeartbeatAt: 1_000 }));
    expect((await store.findSilentAgents(500, 10)).map((a) => a._id)).toEqual(['b', 'c', 'a']);
    expect((await store.findSilentAgents(500, 2)).map((a) => a._id)).toEqual(['b', 'c']);
    expect((await store.findSilentAgents(100, 10)).map((a) => a._id)).toEqual([]);
    await store.updateAgent('b', { state: 'gone', goneAt: 600 });
    expect((await store.findSilentAgents(500, 10)).map((a) => a._id)).toEqual(['c', 'a']);
    expect((await store.getAgent('b'))?.goneAt).toBe(600);
  });

  it('agents: only gone ones are removed, and their token then finds nobody', async () => {
    const store = storeOf();
    await store.putAgent(makeAgent('live'));
    await store.putAgent(makeAgent('left', { state: 'gone', goneAt: 5 }));
    expect(await store.removeGoneAgent('live')).toBe(false);
    expect((await store.getAgent('live'))?.state).toBe('active');
    expect((await store.getAgentByTokenHash('hash-left'))?._id).toBe('left');
    expect(await store.removeGoneAgent('left')).toBe(true);
    expect(await store.getAgent('left')).toBeNull();
    expect(await store.getAgentByTokenHash('hash-left')).toBeNull();
    expect(await store.removeGoneAgent('left')).toBe(false);
    expect(await store.removeGoneAgent('never')).toBe(false);
    expect((await store.listAgents()).map((a) => a._id)).toEqual(['live']);
  });
}
