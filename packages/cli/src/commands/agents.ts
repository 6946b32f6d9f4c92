import { ConfigError, formatBytes, formatDuration } from '@hiveforge/sdk';
import { withCluster } from '../cluster-client.js';
import { staleNotice } from '../stale-notice.js';
import { renderTable, toJson } from '../table.js';
import type { CommandIO } from './run.js';

/** What `hiveforge agents` can do to one agent. */
const ACTIONS = ['suspend', 'resume', 'drain', 'remove'] as const;

/** `hiveforge agents [list]`: each agent with its labels, state, running jobs, last check-in and disk. */
export async function agentsListCommand(options: { all?: boolean; json?: boolean }, io: CommandIO): Promise<number> {
  return withCluster(async ({ client }) => {
    const agents = await client.agents.list.query({ includeGone: options.all === true });
    const notice = staleNotice(agents[0]?.stale);
    if (notice) io.stderr.write(`${notice}\n`);
    if (options.json) {
      io.stdout.write(toJson(agents));
      return 0;
    }
    if (agents.length === 0) {
      io.stdout.write('no agents\n');
      return 0;
    }
    const now = Date.now();
    const rows = agents.map((a) => [
      a._id,
      a.name,
      a.state,
      a.labels.join(',') || '-',
      `${a.jobs.length}/${a.capacity}${a.jobs.length ? ` ${a.jobs.map((j) => j.jobId).join(' ')}` : ''}`,
      `${formatDuration(Math.max(0, now - a.lastHeartbeatAt))} ago`,
      a.disk ? `${formatBytes(a.disk.workspaceBytes)} used, ${formatBytes(a.disk.freeBytes)} free` : '-',
    ]);
    io.stdout.write(`${renderTable(['ID', 'NAME', 'STATE', 'LABELS', 'JOBS', 'LAST CHECK-IN', 'DISK'], rows)}\n`);
    return 0;
  });
}

/**
 * `hiveforge agents suspend|resume|drain|remove ID`: suspended and draining agents get no new
 * jobs (draining ones finish theirs); only gone agents can be removed.
 */
export async function agentActionCommand(
  options: { action: string; agentId: string; json?: boolean },
  io: CommandIO,
): Promise<number> {
  const action = options.action as (typeof ACTIONS)[number];
  if (!ACTIONS.includes(action))
    throw new ConfigError(`hiveforge agents: the action must be list or one of ${ACTIONS.join(', ')}, not '${action}'`);
  if (!options.agentId)
    throw new ConfigError(`hiveforge agents ${action}: give the agent's id (hiveforge agents lists them)`);
  return withCluster(async ({ client }) => {
    const input = { agentId: options.agentId };
    const result =
      action === 'remove'
        ? await client.agents.remove.mutate(input)
        : action === 'suspend'
          ? await client.agents.suspend.mutate(input)
          : action === 'drain'
            ? await client.agents.drain.mutate(input)
            : await client.agents.resume.mutate(input);
    if (options.json) io.stdout.write(toJson(result));
    else io.stdout.write(`agent ${options.agentId} ${'state' in result ? `is ${result.state}` : 'removed'}\n`);
    return 0;
  });
}
