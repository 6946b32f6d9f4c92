import { withCluster } from '../cluster-client.js';
import { formatTime, renderTable, toJson } from '../table.js';
import type { CommandIO } from './run.js';

/** Reads all of a stream as UTF-8 text. */
async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `hiveforge secrets set NAME [--pipeline P]`: the value is read from standard input (one
 * trailing newline dropped, so that `echo` and files work), never from a flag, which would
 * show in the shell's history and the process list. Needs a maintainer or admin token.
 */
export async function secretsSetCommand(
  options: { name: string; pipeline?: string; json?: boolean; stdin?: NodeJS.ReadableStream },
  io: CommandIO,
): Promise<number> {
  const value = (await readAll(options.stdin ?? process.stdin)).replace(/\r?\n$/, '');
  return withCluster(async ({ client }) => {
    const set = await client.secrets.set.mutate({ name: options.name, value, pipeline: options.pipeline });
    if (options.json) io.stdout.write(toJson(set));
    else io.stdout.write(`set secret ${set.name} (${set.pipeline === null ? 'global' : `pipeline ${set.pipeline}`})\n`);
    return 0;
  });
}

/** `hiveforge secrets list`: names, scopes and when each was set; never a value. */
export async function secretsListCommand(options: { json?: boolean }, io: CommandIO): Promise<number> {
  return withCluster(async ({ client }) => {
    const secrets = await client.secrets.list.query();
    if (options.json) {
      io.stdout.write(toJson(secrets));
      return 0;
    }
    const rows = secrets.map((s) => [s.name, s.pipeline ?? '(global)', formatTime(s.updatedAt)]);
    io.stdout.write(`${renderTable(['NAME', 'PIPELINE', 'UPDATED'], rows)}\n`);
    return 0;
  });
}

/** `hiveforge secrets rm NAME [--pipeline P]`: removes the secret of that name and scope. */
export async function secretsRemoveCommand(
  options: { name: string; pipeline?: string; json?: boolean },
  io: CommandIO,
): Promise<number> {
  return withCluster(async ({ client }) => {
    const removed = await client.secrets.remove.mutate({ name: options.name, pipeline: options.pipeline });
    if (options.json) io.stdout.write(toJson(removed));
    else
      io.stdout.write(
        `removed secret ${removed.name} (${removed.pipeline === null ? 'global' : `pipeline ${removed.pipeline}`})\n`,
      );
    return 0;
  });
}
