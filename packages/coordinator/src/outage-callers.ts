import { tokenRefusal, type Caller } from './auth.js';
import type { ReadCache } from './read-cache.js';
import type { Role, TokenRecord } from './store/types.js';

/** What is remembered of a user token the store accepted. */
interface RememberedToken {
  name: string;
  role: Role;
  expiresAt: number | null;
}

const keyOf = (hash: string) => `token:${hash}`;
/** The key under which the hash of the token with a public id is kept (to forget it on a revoke). */
const idKeyOf = (id: string) => `token-id:${id}`;

/**
 * How long before a store outage a user token must have been checked against the store for this
 * coordinator to accept it during the outage. @default 5 minutes
 */
export const OUTAGE_CALLER_GRACE_MS = 5 * 60_000;

/**
 * Remembers what the store answered for a user token (see `resolveCaller`'s `sawUserToken`): a
 * token it accepted is kept in the read cache (by its hash, never in clear), one it refused or
 * does not know is forgotten.
 */
export function rememberUserToken(cache: ReadCache, hash: string, token: TokenRecord | null): void {
  if (!token || token.revokedAt !== null) {
    cache.delete(keyOf(hash));
    return;
  }
  const remembered: RememberedToken = { name: token.name, role: token.role, expiresAt: token.expiresAt };
  cache.put(keyOf(hash), remembered);
  cache.put(idKeyOf(token.id), hash);
}

/** Forgets a token this coordinator revoked (by its public id): it is not accepted in an outage. */
export function forgetRevokedToken(cache: ReadCache, id: string): void {
  const hash = cache.get<string>(idKeyOf(id))?.value;
  if (hash !== undefined) cache.delete(keyOf(hash));
  cache.delete(idKeyOf(id));
}

/**
 * The caller of a user token while the store is out: the user this coordinator last saw the
 * store accept for it, if the store did so at most `graceMs` before the outage began (`outSince`)
 * and the token has not expired since. Such a caller is `remembered`: it may read only what the
 * coordinator last saw (`cachedReadProcedure`). Null otherwise (the request gets the 503).
 * A token revoked through another coordinator after this one last checked it is accepted here,
 * for reads of what it could read then, until the store is back: the price of answering at all.
 */
export function rememberedCaller(
  cache: ReadCache,
  hash: string,
  at: { now: number; outSince: number | null; graceMs?: number },
): Caller | null {
  const kept = cache.get<RememberedToken>(keyOf(hash));
  if (!kept || at.outSince === null) return null;
  if (kept.seenAt < at.outSince - (at.graceMs ?? OUTAGE_CALLER_GRACE_MS)) return null;
  const token = kept.value;
  if (tokenRefusal({ ...token, revokedAt: null }, at.now)) return null;
  return { kind: 'user', name: token.name, role: token.role, remembered: true };
}
