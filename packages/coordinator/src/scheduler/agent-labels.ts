import { type AgentRecord, labelsFit } from '../store/types.js';

/**
 * Why a queued job with these labels waits when no live agent (neither gone nor suspended) has
 * them all, or null when one has. Computed from the agents when read, never stored: agents are
 * few, and one registering or resuming changes the answer.
 * @example waitingReason(['gpu'], agents) // "no agent has labels [gpu]"
 */
export function waitingReason(labels: readonly string[], agents: readonly AgentRecord[]): string | null {
  const live = agents.filter((a) => a.state !== 'gone' && a.state !== 'suspended');
  if (live.some((a) => labelsFit(labels, a.labels))) return null;
  if (labels.length > 0) return `no agent has labels [${labels.join(', ')}]`;
  return 'no agent is registered (or every one is suspended)';
}

/**
 * A warning for each job no registered (not gone) agent could take, by its labels; none when no
 * agent is registered (the coordinator does not know its agents yet).
 */
export function labelWarnings(
  jobs: readonly { name: string; labels: readonly string[] }[],
  agents: readonly AgentRecord[],
): string[] {
  const registered = agents.filter((a) => a.state !== 'gone');
  if (registered.length === 0) return [];
  return jobs
    .filter((job) => !registered.some((a) => labelsFit(job.labels, a.labels)))
    .map(
      (job) =>
        `job '${job.name}' needs labels [${job.labels.join(', ')}], which no registered agent has: its runs will wait until such an agent registers`,
    );
}
