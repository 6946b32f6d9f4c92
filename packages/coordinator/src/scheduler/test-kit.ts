import { API_VERSION, type JobSpec, type PipelineSpec } from '@hiveforge/sdk';
import { beforeEach } from 'vitest';
import { type ManualClock, createManualClock } from '../clock.js';
import { createMemoryStore } from '../store/memory.js';
import type { AgentRecord, Store } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';
import { type Scheduler, createScheduler } from './scheduler.js';

/**
 * What the scheduler's unit tests share (they test one concern per file: pulls, completions,
 * sweeps, runs). Not part of the package: excluded from its build, like the store's contract.
 */

/** Pipeline `p` with these jobs. */
export const specOf = (jobs: JobSpec[]): PipelineSpec => ({
  apiVersion: API_VERSION,
  name: 'p',
  triggers: { push: null, pullRequest: null, schedule: [], manual: null },
  strictImages: false,
  env: { GLOBAL: '1' },
  images: [],
  jobs,
  source: null,
});

/** Stores version v1 of pipeline p, with these jobs, as its head. */
export async function deployTo(store: Store, jobs: JobSpec[]): Promise<void> {
  await store.putPipelineVersion({
    _id: 'v1',
    pipeline: 'p',
    spec: specOf(jobs),
    bundle: '',
    entry: 'hiveforge.ts',
    createdAt: 0,
  });
  await store.setPipelineHead('p', 'v1', 0);
}

/** An active agent's record. */
export const agentRecord = (id: string, labels: string[] = []): AgentRecord => ({
  _id: id,
  name: id,
  labels,
  state: 'active',
  tokenHash: `hash-${id}`,
  capacity: 1,
  registeredAt: 0,
  lastHeartbeatAt: 0,
  disk: null,
});

export const trigger = {
  event: 'manual' as const,
  branch: 'main',
  commit: null,
  repository: null,
  inputs: {},
  actor: 'test',
};
export const ok = { status: 'succeeded' as const, exitCode: 0, error: null, outputs: {} };
export const failed = { status: 'failed' as const, exitCode: 1, error: 'boom', outputs: {} };

/** What each test of a {@link schedulerBed} gets afresh. */
export interface SchedulerBed {
  store: Store;
  /** Starts at 1 000 ms. */
  clock: ManualClock;
  /** Over `store` and `clock`, with a lease TTL of 5 s. */
  scheduler: Scheduler;
}

/**
 * Registers a `beforeEach` that gives each test a memory store, a manual clock and a scheduler
 * (see {@link SchedulerBed}), with agents `agent-a` and `b` (`a` and `b`) stored, and returns
 * them with helpers that act on the current test's.
 */
export function schedulerBed() {
  const bed = {} as SchedulerBed;
  const a = agentRecord('agent-a');
  const b = agentRecord('agent-b');
  beforeEach(async () => {
    bed.clock = createManualClock(1_000);
    bed.store = createMemoryStore({ clock: bed.clock });
    bed.scheduler = createScheduler({ store: bed.store, clock: bed.clock, options: { leaseTtl: 5_000 } });
    await bed.store.putAgent(a);
    await bed.store.putAgent(b);
  });
  return {
    bed,
    a,
    b,
    deploy: (jobs: JobSpec[]) => deployTo(bed.store, jobs),
    /** One pull that does not wait. */
    pull: (agent: AgentRecord, requestId = `req-${Math.random()}`) =>
      bed.scheduler.pull(agent, requestId, { waitMs: 0 }),
    /** The next pull an agent sends with its completion, which does not wait. */
    nextOf: (agent: AgentRecord) => ({ agent, requestId: `req-${Math.random()}`, waitMs: 0 }),
    /** Records the order of the store calls named, as they are made. */
    spyCalls: (...names: ('updateRun' | 'findQueuedJobs')[]) => {
      const { store } = bed;
      const calls: string[] = [];
      for (const name of names) {
        const call = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
        (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
          calls.push(name);
          return call(...args);
        };
      }
      return calls;
    },
    /** Decides how attempt 1 of agent-a's job ended, without recording it on the job. */
    decideEnd: (jobId: string, kind: 'lost' | 'cancelled', retry: boolean) =>
      bed.store.decide(DecisionIds.attemptEnd(jobId, 1), {
        kind,
        agentId: 'agent-a',
        result:
          kind === 'lost'
            ? { status: 'failed', exitCode: null, error: 'lease expired', outputs: {} }
            : { status: 'cancelled', exitCode: null, error: 'the run was cancelled', outputs: {} },
        retry,
      }),
    /** The state of each job of a run, by name. */
    states: async (runId: string) =>
      Object.fromEntries((await bed.store.listJobs(runId)).map((j) => [j.name, j.state])),
  };
}
