import { type Duration, parseDuration } from '@hiveforge/sdk';
import { hashToken, newToken, newTokenId } from './auth.js';
import type { Role, Store, TokenRecord } from './store/types.js';

/** The id the coordinator's bootstrap admin token (`--admin-token`) is stored under. */
export const BOOTSTRAP_ADMIN_TOKEN_ID = 'bootstrap-admin';

/** Options of {@link issueUserToken}. */
export interface UserTokenOptions {
  name: string;
  role: Role;
  /** How long the token is accepted, from its creation (`'30d'`, `'12h'`). @default never expires */
  expires?: Duration | null;
  /** @default Date.now */
  now?: () => number;
}

/** A token just created: the clear token (shown once, never stored) and its record's public fields. */
export interface IssuedToken {
  token: string;
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  expiresAt: number | null;
}

/** Creates a user API token with a role and an optional lifetime. */
export async function issueUserToken(store: Store, options: UserTokenOptions): Promise<IssuedToken> {
  const token = newToken('hfu');
  const createdAt = (options.now ?? Date.now)();
  const lifetimeMs = options.expires == null ? null : parseDuration(options.expires);
  const record: TokenRecord = {
    _id: hashToken(token),
    id: newTokenId(),
    name: options.name,
    role: options.role,
    createdAt,
    expiresAt: lifetimeMs === null ? null : createdAt + lifetimeMs,
    revokedAt: null,
  };
  await store.putToken(record);
  const { _id: _hash, revokedAt: _revoked, ...shown } = record;
  return { token, ...shown };
}

/**
 * Creates a user API token with a role; returns the clear token, which is not stored.
 * @example const token = await createUserToken(store, { name: 'ci', role: 'maintainer', expires: '30d' });
 */
export async function createUserToken(store: Store, options: UserTokenOptions): Promise<string> {
  return (await issueUserToken(store, options)).token;
}

/**
 * Stores the coordinator's bootstrap admin token under {@link BOOTSTRAP_ADMIN_TOKEN_ID}, which
 * replaces the one stored before: a coordinator started with a new `--admin-token` makes the old
 * one unknown. The same token again keeps its record as it is, so a revoked one stays revoked
 * (start with a new one instead); returns that record.
 */
export async function putBootstrapAdminToken(
  store: Store,
  token: string,
  now: number = Date.now(),
): Promise<TokenRecord> {
  const hash = hashToken(token);
  const stored = await store.getToken(hash);
  if (stored?.id === BOOTSTRAP_ADMIN_TOKEN_ID) return stored;
  const record: TokenRecord = {
    _id: hash,
    id: BOOTSTRAP_ADMIN_TOKEN_ID,
    name: 'admin',
    role: 'admin',
    createdAt: now,
    expiresAt: null,
    revokedAt: null,
  };
  await store.putToken(record);
  return record;
}
