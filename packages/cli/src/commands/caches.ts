import { formatBytes } from '@hiveforge/sdk';
import { withCluster } from '../cluster-client.js';
import { formatTime, renderTable, toJson } from '../table.js';
import type { CommandIO } from './run.js';

/** `hiveforge caches list [--pipeline P]`: the cache entries jobs saved, least recently used last. */
export async function cachesListCommand(
  options: { pipeline?: string; json?: boolean },
  io: CommandIO,
): Promise<number> {
  return withCluster(async ({ client }) => {
    const entries = await client.caches.list.query({ pipeline: options.pipeline });
    if (options.json) {
      io.stdout.write(toJson(entries));
      return 0;
    }
    const rows = entries.map((e) => [
      e.id.slice(0, 12),
      e.pipeline,
      e.branch,
      e.key,
      formatBytes(e.size),
      formatTime(e.lastUsedAt),
    ]);
    io.stdout.write(`${renderTable(['ID', 'PIPELINE', 'BRANCH', 'KEY', 'SIZE', 'LAST USED'], rows)}\n`);
    const total = entries.reduce((sum, e) => sum + e.size, 0);
    io.stdout.write(`${entries.length} entries, ${formatBytes(total)}\n`);
    return 0;
  });
}

/** `hiveforge caches rm ID`: removes one entry (a prefix of its id, as `list` shows it, will do). */
export async function cachesRemoveCommand(options: { id: string; json?: boolean }, io: CommandIO): Promise<number> {
  return withCluster(async ({ client }) => {
    let id = options.id;
    if (!/^[0-9a-f]{40}$/.test(id)) {
      const matches = (await client.caches.list.query({})).filter((e) => e.id.startsWith(id));
      if (matches.length === 1) id = (matches[0] as { id: string }).id;
    }
    const removed = await client.caches.remove.mutate({ id });
    if (options.json) io.stdout.write(toJson(removed));
    else io.stdout.write(`removed cache entry ${removed.id}\n`);
    return 0;
  });
}
