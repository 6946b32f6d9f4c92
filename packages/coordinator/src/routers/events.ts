import { z } from 'zod';
import type { AgentRecord, RunRecord, Store } from '../store/types.js';
import { router, userProcedure } from '../trpc.js';

/** A change in the cluster, as the events feed reports it. */
export type ClusterEvent =
  | { type: 'run'; runId: string; pipeline: string; number: number; status: RunRecord['status'] }
  | { type: 'agent'; agentId: string; name: string; state: AgentRecord['state'] };

/** The feed's view of the cluster: what it last reported of each run and agent. */
async function snapshot(store: Store) {
  const runs = await store.listRuns({ limit: 200 });
  const agents = await store.listAgents();
  return {
    runs: new Map(runs.map((r) => [r._id, r])),
    agents: new Map(agents.map((a) => [a._id, a])),
  };
}

/**
 * Cluster events, derived from the store: the current runs and agents first, then runs created
 * and finished, agents registered, suspended, drained or resumed. Any coordinator serves the
 * same feed.
 */
export const eventsRouter = router({
  watch: userProcedure('viewer')
    .input(
      z.object({ intervalMs: z.number().int().min(100).max(10_000).default(1_000) }).default({ intervalMs: 1_000 }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      // Like a list-then-watch: the current state first, then each change.
      let last = { runs: new Map<string, RunRecord>(), agents: new Map<string, AgentRecord>() };
      for (let first = true; !signal?.aborted; first = false) {
        if (!first) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, input.intervalMs);
            signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        if (signal?.aborted) return;
        const next = await snapshot(ctx.store);
        const events: ClusterEvent[] = [];
        for (const [id, run] of next.runs) {
          if (last.runs.get(id)?.status !== run.status) {
            events.push({ type: 'run', runId: id, pipeline: run.pipeline, number: run.number, status: run.status });
          }
        }
        for (const [id, agent] of next.agents) {
          if (last.agents.get(id)?.state !== agent.state)
            events.push({ type: 'agent', agentId: id, name: agent.name, state: agent.state });
        }
        last = next;
        for (const event of events) yield event;
      }
    }),
});
