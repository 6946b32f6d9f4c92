import type { AgentRecord } from '../store/types.js';
import { watchTopic } from '../wakeup.js';
import type { SchedulerContext } from './context.js';
import { type Lease, leaseJob } from './lease-pull.js';
import { Topics } from './topics.js';

/** How an agent's pull waits for a job (see `Scheduler.pull`). */
export interface PullOptions {
  /** The longest the pull waits for a job before it answers with none. */
  waitMs: number;
  /** Ends the wait (the request went away). */
  signal?: AbortSignal;
  /**
   * The request id was never sent before, so the pull's first look need not check for a lease
   * decided for it. @default false
   */
  firstSending?: boolean;
  /** Called with the agent's record when the pull read it again (see `Topics.agents`). */
  onAgent?: (agent: AgentRecord) => void;
}

/**
 * Leases a job to `agent`, waiting up to `waitMs` for one. A pull that has waited reads its
 * agent's record again before it leases: an agent drained or suspended while its pull waited
 * takes no job.
 */
export async function pullLease(
  ctx: SchedulerContext,
  agent: AgentRecord,
  requestId: string,
  { waitMs, signal, firstSending = false, onAgent }: PullOptions,
): Promise<Lease | null> {
  const deadline = ctx.clock.now() + waitMs;
  // Watched before the first look: a job queued while a look is under way wakes the wait
  // that follows it at once, instead of being found only at the next look. A change of an
  // agent's state (through any coordinator) wakes it too.
  const watch = waitMs > 0 ? watchTopic(ctx.store, [Topics.queue, Topics.agents]) : null;
  let agentsChanged = false;
  const offAgents = watch ? ctx.store.subscribe(Topics.agents, () => (agentsChanged = true)) : null;
  // The agent's record as this pull last read it; `fresh` is false once the pull has waited
  // since (the agent may have been drained or suspended meanwhile).
  let current = agent;
  let fresh = true;
  const reread = async (): Promise<AgentRecord> => {
    current = (await ctx.store.getAgent(agent._id)) ?? { ...current, state: 'gone' };
    fresh = true;
    onAgent?.(current);
    return current;
  };
  try {
    // Only the first look of a first sending skips the lookup: while this call waits, the
    // agent may give up on it and resend the request elsewhere.
    for (let look = 0; ; look++) {
      if (agentsChanged) {
        agentsChanged = false;
        await reread();
      }
      const lease = await leaseJob(ctx, current, requestId, {
        resent: !(firstSending && look === 0),
        // At most one read of the agent per look, and only once the pull has waited.
        recheck: fresh ? undefined : reread,
      });
      if (lease || signal?.aborted) return lease;
      const left = deadline - ctx.clock.now();
      if (left <= 0 || !watch) return null;
      // Wait for a wake-up, but look again at least every second: a job can also become
      // ready in another coordinator whose notification does not reach this one.
      await watch.wait(Math.min(left, 1_000), signal);
      fresh = false;
    }
  } finally {
    watch?.close();
    offAgents?.();
  }
}
