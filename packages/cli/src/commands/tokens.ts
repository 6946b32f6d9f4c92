import { ConfigError } from '@hiveforge/sdk';
import { withCluster } from '../cluster-client.js';
import { formatTime, renderTable, toJson } from '../table.js';
import type { CommandIO } from './run.js';

const ROLES = ['admin', 'maintainer', 'viewer'] as const;

/**
 * `hiveforge tokens create NAME --role R [--expires 30d]`: prints the new token (shown this once,
 * never stored in clear) on stdout, its id and role on stderr. Needs an admin token.
 */
export async function tokensCreateCommand(
  options: { name: string; role?: string; expires?: string; json?: boolean },
  io: CommandIO,
): Promise<number> {
  const role = options.role as (typeof ROLES)[number] | undefined;
  if (!role || !ROLES.includes(role)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}`);
  return withCluster(async ({ client }) => {
    const issued = await client.tokens.create.mutate({ name: options.name, role, expires: options.expires });
    if (options.json) {
      io.stdout.write(toJson(issued));
      return 0;
    }
    io.stderr.write(
      `created token ${issued.id} '${issued.name}' (${issued.role}, ${issued.expiresAt ? `expires ${formatTime(issued.expiresAt)}` : 'never expires'}); it is shown only now:\n`,
    );
    io.stdout.write(`${issued.token}\n`);
    return 0;
  });
}

/** `hiveforge tokens list`: every token's id, name, role and dates; never the tokens themselves. */
export async function tokensListCommand(options: { json?: boolean }, io: CommandIO): Promise<number> {
  return withCluster(async ({ client }) => {
    const tokens = await client.tokens.list.query();
    if (options.json) {
      io.stdout.write(toJson(tokens));
      return 0;
    }
    const rows = tokens.map((t) => [
      t.id,
      t.name,
      t.role,
      formatTime(t.createdAt),
      t.expiresAt ? formatTime(t.expiresAt) : 'never',
      formatTime(t.lastUsedAt),
      t.revokedAt
        ? `revoked ${formatTime(t.revokedAt)}`
        : t.expiresAt && t.expiresAt <= Date.now()
          ? 'expired'
          : 'active',
    ]);
    io.stdout.write(`${renderTable(['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE'], rows)}\n`);
    return 0;
  });
}

/** `hiveforge tokens revoke ID`: every coordinator refuses the token from its next request on. */
export async function tokensRevokeCommand(options: { id: string; json?: boolean }, io: CommandIO): Promise<number> {
  return withCluster(async ({ client }) => {
    const token = await client.tokens.revoke.mutate({ id: options.id });
    if (options.json) io.stdout.write(toJson(token));
    else io.stdout.write(`revoked token ${token.id} '${token.name}'\n`);
    return 0;
  });
}
