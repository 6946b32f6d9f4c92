import { expect, it } from 'vitest';
import type { Store } from '../types.js';

/** The contract of decisions, run inside `describeStoreContract` on the store it made for each test. */
export function describeDecisionsContract(storeOf: () => Store): void {
  it('the first insert of a decision wins and later ones read the winner', async () => {
    const store = storeOf();
    const first = await store.decide('job:x/attempt:1/lease', { agentId: 'a' });
    const second = await store.decide('job:x/attempt:1/lease', { agentId: 'b' });
    expect(first.won).toBe(true);
    expect(second.won).toBe(false);
    expect(second.decision.data).toEqual({ agentId: 'a' });
    expect((await store.getDecision('job:x/attempt:1/lease'))?.data).toEqual({ agentId: 'a' });
  });

  it('concurrent decisions on one id have exactly one winner', async () => {
    const store = storeOf();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.decide('race', { i })));
    expect(results.filter((r) => r.won)).toHaveLength(1);
    const winner = results.find((r) => r.won)?.decision.data;
    for (const r of results) expect(r.decision.data).toEqual(winner);
  });
}
