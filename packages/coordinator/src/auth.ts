import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AgentRecord, Role, Store, TokenRecord } from './store/types.js';

/**
 * Who is calling: an agent, a user with a role, or nobody. A token that was presented but is not
 * accepted (expired, revoked, a gone agent's) makes the caller anonymous with the reason in
 * `refused`, which procedures that need a caller answer with.
 */
export type Caller =
  | { kind: 'agent'; agent: AgentRecord }
  | {
      kind: 'user';
      name: string;
      role: Role;
      /**
       * Set when the store is out and the token was accepted from what this coordinator
       * remembers of it (see `outage-callers.ts`): such a caller may only read what the
       * coordinator last saw. @default undefined
       */
      remembered?: true;
    }
  | { kind: 'anonymous'; refused?: string };

/** Tokens are stored as their SHA-256; the clear token exists only in the caller's hands. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A new random token with a readable prefix (`hfa_` for agents, `hfu_` for users). */
export const newToken = (prefix: 'hfa' | 'hfu'): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** A new public id of a user token (`tok_` and 16 hex digits): not derived from the token. */
export const newTokenId = (): string => `tok_${randomBytes(8).toString('hex')}`;

/** Compares two secrets in constant time. */
export function secretsEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** How many tokens a {@link TokenMemo} remembers at most (it starts over when full). */
const TOKEN_MEMO_SIZE = 4_096;
/** A coordinator writes a user token's last use at most this often. */
export const TOKEN_USE_WRITE_EVERY_MS = 60_000;

/**
 * What a coordinator remembers of the bearer tokens it saw, so that a request does not repeat
 * work: their hashes (an agent sends the same token with every call), and when it last wrote
 * each user token's last use. It never decides whether a token is accepted: the store does, per
 * request. One per coordinator, passed in.
 */
export interface TokenMemo {
  /** {@link hashToken}, remembered. */
  hashOf(token: string): string;
  /** True when this coordinator should record a use of the token now (and then notes it did). */
  takeUseWrite(hash: string, now: number): boolean;
}

/** Creates a {@link TokenMemo}. */
export function createTokenMemo(): TokenMemo {
  const hashes = new Map<string, string>();
  const useWrites = new Map<string, number>();
  return {
    hashOf(token) {
      let hash = hashes.get(token);
      if (hash === undefined) {
        hash = hashToken(token);
        if (hashes.size >= TOKEN_MEMO_SIZE) hashes.clear();
        hashes.set(token, hash);
      }
      return hash;
    },
    takeUseWrite(hash, now) {
      const last = useWrites.get(hash);
      if (last !== undefined && now - last < TOKEN_USE_WRITE_EVERY_MS) return false;
      if (useWrites.size >= TOKEN_MEMO_SIZE) useWrites.clear();
      useWrites.set(hash, now);
      return true;
    },
  };
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

/** What {@link resolveCaller} may use besides the store. */
export interface CallerResolution {
  /** The agent records kept for agent tokens (see {@link AgentTokenCache}). */
  agents?: AgentTokenCache;
  /** @default a memo for this call only */
  tokens?: TokenMemo;
  /** @default Date.now */
  now?: () => number;
  /**
   * Told what the store answered for a user token (null: no such token), so that it can be
   * remembered for a store outage (see `outage-callers.ts`). @default undefined
   */
  sawUserToken?: (hash: string, token: TokenRecord | null) => void;
}

/** Why a stored user token is not accepted at `now`, or null when it is. */
export function tokenRefusal(token: Pick<TokenRecord, 'revokedAt' | 'expiresAt'>, now: number): string | null {
  if (token.revokedAt !== null) return `token revoked on ${new Date(token.revokedAt).toISOString()}`;
  if (token.expiresAt !== null && token.expiresAt <= now)
    return `token expired on ${new Date(token.expiresAt).toISOString()}`;
  return null;
}

/**
 * Resolves the bearer token of a request to its caller. User tokens are read from the store for
 * every request, so a revocation through any coordinator applies to the next request everywhere.
 * An agent token's record may come from `agents` (kept at most its TTL). A user token's use is
 * written at most once a minute per coordinator (`TOKEN_USE_WRITE_EVERY_MS`), without waiting.
 */
export async function resolveCaller(
  store: Store,
  authorization: string | undefined,
  { agents, tokens = createTokenMemo(), now = Date.now, sawUserToken }: CallerResolution = {},
): Promise<Caller> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return { kind: 'anonymous' };
  const hash = tokens.hashOf(match[1]);
  if (match[1].startsWith('hfa_')) {
    let agent = agents?.get(hash) ?? null;
    if (!agent) {
      agent = await store.getAgentByTokenHash(hash);
      if (agent && agent.state !== 'gone') agents?.set(hash, agent);
    }
    if (!agent) return { kind: 'anonymous' };
    if (agent.state === 'gone') {
      return {
        kind: 'anonymous',
        refused: `agent '${agent._id}' is gone and its token no longer accepted: register again with the registration secret`,
      };
    }
    return { kind: 'agent', agent };
  }
  const token = await store.getToken(hash);
  sawUserToken?.(hash, token);
  if (!token) return { kind: 'anonymous' };
  const at = now();
  const refused = tokenRefusal(token, at);
  if (refused) return { kind: 'anonymous', refused };
  // A lost write only leaves the last use older; the next one is a minute later.
  if (tokens.takeUseWrite(hash, at)) store.touchToken(hash, at).catch(() => undefined);
  return { kind: 'user', name: token.name, role: token.role };
}

const RANK: Record<Role, number> = { viewer: 0, maintainer: 1, admin: 2 };

/** True when `role` grants at least `required`. */
export const roleAllows = (role: Role, required: Role): boolean => RANK[role] >= RANK[required];
