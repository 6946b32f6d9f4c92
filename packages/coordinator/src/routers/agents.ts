import { ConflictError, NotFoundError } from '@hiveforge/sdk';
import { z } from 'zod';
import { readThrough } from '../stale-reads.js';
import { type CoordinatorContext, cachedReadProcedure, router, userProcedure } from '../trpc.js';

const AgentId = z.object({ agentId: z.string().min(1).max(200) });

/**
 * Seeing and steering agents: suspended and draining agents get no new jobs; gone agents (they
 * deregistered or went silent) can be removed.
 */
export const agentsRouter = router({
  /** The agents that are not gone; with `includeGone`, the gone ones too. */
  list: cachedReadProcedure('viewer')
    .input(z.object({ includeGone: z.boolean().default(false) }).optional())
    .query(({ ctx, input }) =>
      readThrough(ctx, `agents:${input?.includeGone === true}`, async () => {
        const agents = await ctx.store.listAgents();
        return Promise.all(
          agents
            .filter((a) => input?.includeGone || a.state !== 'gone')
            .map(async ({ tokenHash: _hidden, ...agent }) => ({
              ...agent,
              jobs: (await ctx.store.findJobsOfAgent(agent._id)).map((j) => ({
                jobId: j._id,
                attempt: j.attempt,
                state: j.state,
              })),
            })),
        );
      }),
    ),

  suspend: userProcedure('maintainer')
    .input(AgentId)
    .mutation(async ({ ctx, input }) => setState(ctx, input.agentId, 'suspended')),

  drain: userProcedure('maintainer')
    .input(AgentId)
    .mutation(async ({ ctx, input }) => setState(ctx, input.agentId, 'draining')),

  resume: userProcedure('maintainer')
    .input(AgentId)
    .mutation(async ({ ctx, input }) => setState(ctx, input.agentId, 'active')),

  /** Deletes a gone agent's record. An agent that is not gone is drained or suspended instead. */
  remove: userProcedure('maintainer')
    .input(AgentId)
    .mutation(async ({ ctx, input }) => {
      if (await ctx.store.removeGoneAgent(input.agentId)) return { agentId: input.agentId, removed: true as const };
      const agent = await ctx.store.getAgent(input.agentId);
      if (!agent) throw new NotFoundError(`no agent '${input.agentId}'`);
      throw new ConflictError(
        `agent '${input.agentId}' is ${agent.state}, not gone: only gone agents can be removed (drain or stop it first)`,
      );
    }),
});

async function setState(
  { store, agents, scheduler, clock }: Pick<CoordinatorContext, 'store' | 'agents' | 'scheduler' | 'clock'>,
  agentId: string,
  state: 'active' | 'suspended' | 'draining',
) {
  const agent = await store.getAgent(agentId);
  if (!agent || agent.state === 'gone') throw new NotFoundError(`no agent '${agentId}'`);
  await store.updateAgent(agentId, { state });
  // This coordinator's next request from the agent sees the change (others within their TTL,
  // or as soon as a pull of the agent waiting there hears of it).
  agents.forget(agentId);
  // Pulls waiting for a job, here and in other coordinators, read their agent again.
  scheduler.notifyAgents();
  if (agent.state !== state)
    await scheduler.events.record({ type: 'agent', agentId, name: agent.name, state }, clock.now());
  return { agentId, state };
}
