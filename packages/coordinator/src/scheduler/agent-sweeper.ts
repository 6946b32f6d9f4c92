import { type Clock, systemClock } from '../clock.js';
import { type EventLog, createEventLog } from '../event-log.js';
import type { AgentRecord, Store } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';

/** Silent agents marked gone per sweep; the rest wait for the next one. */
const GONE_PER_SWEEP = 100;
/** The longest time between two agent sweeps of a coordinator. */
const MAX_SWEEP_INTERVAL_MS = 30_000;

/** Why an agent became gone, as its decision records it. */
export type AgentGoneReason = 'deregistered' | 'silent';

/**
 * Marks an agent gone, once across all coordinators: the decision `agent:<id>/gone` decides, and
 * its winner writes the state and records the event. Returns whether this call won. The
 * caller drops what it keeps of the agent (its `AgentTokenCache`); other coordinators' caches
 * hold it at most their TTL.
 */
export async function markAgentGone(
  store: Store,
  agent: AgentRecord,
  { at, reason, events }: { at: number; reason: AgentGoneReason; events: EventLog },
): Promise<boolean> {
  const { won, decision } = await store.decide(DecisionIds.agentGone(agent._id), {
    reason,
    lastHeartbeatAt: agent.lastHeartbeatAt,
  });
  if (!won) {
    // The winner writes the state; if it died before it did, the decision is carried out here
    // (without a second event).
    const current = await store.getAgent(agent._id);
    if (current && current.state !== 'gone') await store.updateAgent(agent._id, { state: 'gone', goneAt: decision.at });
    return false;
  }
  await store.updateAgent(agent._id, { state: 'gone', goneAt: at });
  await events.record({ type: 'agent', agentId: agent._id, name: agent.name, state: 'gone' }, at);
  return true;
}

/** Options of {@link createAgentSweeper}. */
export interface AgentSweeperOptions {
  store: Store;
  /** An agent not heard from (no heartbeat) for this long is marked gone. */
  goneAfterMs: number;
  /** Called with each agent this coordinator marked gone. */
  onGone?: (agent: AgentRecord) => void;
  /** @default systemClock */
  clock?: Clock;
  /** Where it records the agents it marks gone (the coordinator's scheduler's). @default createEventLog(store) */
  events?: EventLog;
}

/** Marks agents that stopped heartbeating gone; every coordinator runs one. */
export interface AgentSweeper {
  /** How often to sweep: a quarter of `goneAfterMs`, at most every 30 s. */
  readonly intervalMs: number;
  /** One sweep; returns the agents this coordinator marked gone. */
  sweep(): Promise<AgentRecord[]>;
}

/**
 * Creates the agent sweeper. An agent found silent is read again just before its decision, so
 * one that heartbeated since the query is left alone; which coordinator marks it is decided by
 * `markAgentGone`'s decision, so coordinators sweeping at once record one event.
 */
export function createAgentSweeper({
  store,
  goneAfterMs,
  onGone,
  clock = systemClock,
  events = createEventLog(store),
}: AgentSweeperOptions): AgentSweeper {
  const now = () => clock.now();
  return {
    intervalMs: Math.max(1, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(goneAfterMs / 4))),
    async sweep() {
      const cutoff = now() - goneAfterMs;
      const marked: AgentRecord[] = [];
      for (const found of await store.findSilentAgents(cutoff, GONE_PER_SWEEP)) {
        const agent = await store.getAgent(found._id);
        if (!agent || agent.state === 'gone' || agent.lastHeartbeatAt >= cutoff) continue;
        if (await markAgentGone(store, agent, { at: now(), reason: 'silent', events })) {
          marked.push(agent);
          onGone?.(agent);
        }
      }
      return marked;
    },
  };
}
