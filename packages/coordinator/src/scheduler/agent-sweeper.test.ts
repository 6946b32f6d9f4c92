import { describe, expect, it } from 'vitest';
import { makeAgent } from '../store/contract.js';
import { createMemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { createManualClock } from '../clock.js';
import { createAgentSweeper } from './agent-sweeper.js';
import { DecisionIds } from './decision-ids.js';

const goneEvents = async (store: Store) =>
  (await store.listEvents({ limit: 100 })).filter((e) => e.type === 'agent' && e.state === 'gone');

describe('agent sweeper', () => {
  it('sweepers of several coordinators at once mark each silent agent gone once, with one event', async () => {
    const store = createMemoryStore();
    const clock = createManualClock(10_000);
    for (const id of ['a', 'b', 'c']) await store.putAgent(makeAgent(id, { lastHeartbeatAt: 1_000 }));
    await store.putAgent(makeAgent('fresh', { lastHeartbeatAt: 9_500 }));
    const sweepers = Array.from({ length: 3 }, () => createAgentSweeper({ store, goneAfterMs: 5_000, clock }));
    const marked = (await Promise.all(sweepers.map((s) => s.sweep()))).flat().map((a) => a._id);
    expect(marked.sort()).toEqual(['a', 'b', 'c']);
    expect((await goneEvents(store)).map((e) => (e.type === 'agent' ? e.agentId : '')).sort()).toEqual(['a', 'b', 'c']);
    expect((await store.getAgent('a'))?.goneAt).toBe(10_000);
    expect((await store.getAgent('fresh'))?.state).toBe('active');
    expect(sweepers[0]?.intervalMs).toBe(1_250);
  });

  it('leaves an agent alone that heartbeated after it was found silent', async () => {
    const memory = createMemoryStore();
    await memory.putAgent(makeAgent('a', { lastHeartbeatAt: 1_000 }));
    // The heartbeat lands between the query and the agent's second read.
    const store: Store = {
      ...memory,
      async findSilentAgents(before, limit) {
        const found = await memory.findSilentAgents(before, limit);
        await memory.updateAgent('a', { lastHeartbeatAt: 9_900 });
        return found;
      },
    };
    const sweeper = createAgentSweeper({ store, goneAfterMs: 5_000, clock: createManualClock(10_000) });
    expect(await sweeper.sweep()).toEqual([]);
    expect((await memory.getAgent('a'))?.state).toBe('active');
    expect(await memory.getDecision(DecisionIds.agentGone('a'))).toBeNull();
  });

  it('carries out a gone decision whose coordinator died before writing the state, without a second event', async () => {
    const store = createMemoryStore();
    await store.putAgent(makeAgent('a', { lastHeartbeatAt: 1_000 }));
    await store.decide(DecisionIds.agentGone('a'), { reason: 'silent', lastHeartbeatAt: 1_000 });
    const sweeper = createAgentSweeper({ store, goneAfterMs: 5_000, clock: createManualClock(10_000) });
    expect(await sweeper.sweep()).toEqual([]);
    expect((await store.getAgent('a'))?.state).toBe('gone');
    expect(await goneEvents(store)).toEqual([]);
  });
});
