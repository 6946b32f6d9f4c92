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

/**
 * The agent records a coordinator read for agent tokens, kept for `ttlMs`: an agent sends a
 * request per job, and reading its record for each was a store read per job. A record kept is at
 * most `ttlMs` old, so a suspend, drain, resume or removal made through another coordinator
 * reaches this one's pulls up to that late; this coordinator's own changes apply at once
 * (`forget`). Leases do not depend on it: their fencing is the attempt's decisions. Unknown
 * tokens are never kept. `ttlMs` 0 keeps nothing.
 */
export interface AgentTokenCache {
  /** The record kept for a token's hash, if it is fresh. */
  get(hash: string): AgentRecord | undefined;
  set(hash: string, agent: AgentRecord): void;
  /** Drops what is kept of an agent (its state changed, as this coordinator saw). */
  forget(agentId: string): void;
}

/** How many agents' records a cache keeps at most (it starts over when full). */
const AGENT_TOKEN_CACHE_SIZE = 4_096;

/** Creates an {@link AgentTokenCache}. */
export function createAgentTokenCache({
  ttlMs,
  now = Date.now,
}: {
  ttlMs: number;
  now?: () => number;
}): AgentTokenCache {
  const byHash = new Map<string, { agent: AgentRecord; at: number }>();
  const hashOf = new Map<string, string>();
  return {
    get(hash) {
      const kept = byHash.get(hash);
      if (!kept) return undefined;
      if (now() - kept.at < ttlMs) return kept.agent;
      byHash.delete(hash);
      hashOf.delete(kept.agent._id);
      return undefined;
    },
    set(hash, agent) {
      if (ttlMs <= 0) return;
      if (byHash.size >= AGENT_TOKEN_CACHE_SIZE) {
        byHash.clear();
        hashOf.clear();
      }
      const previous = hashOf.get(agent._id);
      if (previous !== undefined && previous !== hash) byHash.delete(previous);
      byHash.set(hash, { agent, at: now() });
      hashOf.set(agent._id, hash);
    },
    forget(agentId) {
      const hash = hashOf.get(agentId);
      if (hash === undefined) return;
      byHash.delete(hash);
      hashOf.delete(agentId);
    },
  };
}

/**
 * Resolves the bearer token of a request to its caller. With `agents`, an agent token's record
 * may come from that cache (see {@link AgentTokenCache}).
 */
export async function resolveCaller(
  store: Store,
  authorization: string | undefined,
  agents?: AgentTokenCache,
): Promise<Caller> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return { kind: 'anonymous' };
  const hash = hashOfBearer(match[1]);
  if (match[1].startsWith('hfa_')) {
    let agent = agents?.get(hash) ?? null;
    if (!agent) {
      agent = await store.getAgentByTokenHash(hash);
      if (agent && agent.state !== 'gone') agents?.set(hash, agent);
    }
    return agent && agent.state !== 'gone' ? { kind: 'agent', agent } : { kind: 'anonymous' };
  }
  const token = await store.getToken(hash);
  return token ? { kind: 'user', name: token.name, role: token.role } : { kind: 'anonymous' };
}

const RANK: Record<Role, number> = { viewer: 0, maintainer: 1, admin: 2 };

/** True when `role` grants at least `required`. */
export const roleAllows = (role: Role, required: Role): boolean => RANK[role] >= RANK[required];
