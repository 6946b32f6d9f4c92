import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AgentRecord, Role, Store } from './store/types.js';

/** Who is calling: an agent, a user with a role, or nobody. */
export type Caller =
  | { kind: 'agent'; agent: AgentRecord }
  | { kind: 'user'; name: string; role: Role }
  | { kind: 'anonymous' };

/** Tokens are stored as their SHA-256; the clear token exists only in the caller's hands. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new random token with a readable prefix (`hfa_` for agents, `hfu_` for users). */
export const newToken = (prefix: 'hfa' | 'hfu'): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** Compares two secrets in constant time. */
export function secretsEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** Hashes of recently seen bearer tokens: an agent sends the same token with every call. */
const recentHashes = new Map<string, string>();
const RECENT_HASHES = 4_096;

/** {@link hashToken}, remembered for the last few thousand tokens seen. */
function hashOfBearer(token: string): string {
  let hash = recentHashes.get(token);
  if (hash === undefined) {
    hash = hashToken(token);
    if (recentHashes.size >= RECENT_HASHES) recentHashes.clear();
    recentHashes.set(token, hash);
  }
  return hash;
}

/** Resolves the bearer token of a request to its caller. */
export async function resolveCaller(store: Store, authorization: string | undefined): Promise<Caller> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return { kind: 'anonymous' };
  const hash = hashOfBearer(match[1]);
  if (match[1].startsWith('hfa_')) {
    const agent = await store.getAgentByTokenHash(hash);
    return agent && agent.state !== 'gone' ? { kind: 'agent', agent } : { kind: 'anonymous' };
  }
  const token = await store.getToken(hash);
  return token ? { kind: 'user', name: token.name, role: token.role } : { kind: 'anonymous' };
}

const RANK: Record<Role, number> = { viewer: 0, maintainer: 1, admin: 2 };

/** True when `role` grants at least `required`. */
export const roleAllows = (role: Role, required: Role): boolean => RANK[role] >= RANK[required];
