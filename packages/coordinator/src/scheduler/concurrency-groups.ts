import { isTerminal } from '../store/types.js';
import type { SchedulerContext } from './context.js';

/** Who holds a turn of a concurrency group: one attempt of one job. */
interface Turn {
  jobId: string;
  attempt: number;
}

/** `_id` of turn `n` of a concurrency group. Turns are taken in order, one at a time. */
export const turnId = (group: string, n: number) => `concurrency:${group}/turn:${n}`;

async function turnEnded(ctx: SchedulerContext, turn: Turn): Promise<boolean> {
  const job = await ctx.store.getJob(turn.jobId);
  return !job || job.attempt > turn.attempt || isTerminal(job.state);
}

/**
 * Takes the group's next turn for one attempt of a job, or says the group is busy. At most one
 * attempt holds an unfinished turn: turn n+1 can be decided only once turn n's attempt ended,
 * and the unique `_id` of each turn is the only lock (see DESIGN.md).
 */
export async function takeTurn(ctx: SchedulerContext, group: string, holder: Turn): Promise<boolean> {
  const seen = ctx.turns;
  let n = seen.get(group) ?? 1;
  for (;;) {
    const current = await ctx.store.getDecision<Turn>(turnId(group, n));
    if (!current) break;
    seen.set(group, n);
    if (current.data.jobId === holder.jobId && current.data.attempt === holder.attempt) return true;
    if (!(await turnEnded(ctx, current.data))) return false;
    n++;
  }
  const { decision } = await ctx.store.decide<Turn>(turnId(group, n), holder);
  seen.set(group, n);
  return decision.data.jobId === holder.jobId && decision.data.attempt === holder.attempt;
}
