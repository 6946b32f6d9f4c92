/** Roles of user API tokens, from most to least powerful. */
export const Role = { admin: 'admin', maintainer: 'maintainer', viewer: 'viewer' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * A user API token. Requests find it by its hash (`_id`, the one filter every MongoDB-wire server
 * serves from an index); people name it by its `id`.
 */
export interface TokenRecord {
  /** The SHA-256 of the token: tokens are never stored in clear. */
  _id: string;
  /**
   * The token's public id (`tok_…`, or `bootstrap-admin` for the coordinator's `--admin-token`):
   * what lists show and `tokens.revoke` takes. One token per id.
   */
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  /** When it stops being accepted (epoch ms); null: never. */
  expiresAt: number | null;
  /** When it was revoked (epoch ms); null while it is not. */
  revokedAt: number | null;
}

/** A token as lists show it: never its hash, and when it was last used (null: never yet). */
export type TokenSummary = Omit<TokenRecord, '_id'> & { lastUsedAt: number | null };

/** User API tokens of the Store. */
export interface TokenStore {
  /**
   * Stores a token by its hash (insert or replace). Any other token with the same `id` is
   * deleted: a token stored under a fixed id (the bootstrap admin token) replaces the one before.
   */
  putToken(token: TokenRecord): Promise<void>;
  getToken(hash: string): Promise<TokenRecord | null>;
  /** Every token, oldest first (by `createdAt`, then `id`), with when each was last used. */
  listTokens(): Promise<TokenSummary[]>;
  /**
   * Marks the token with this `id` revoked at `at`, unless it is already (the first revocation's
   * time stays); returns the token as it is now, or null when no token has this id.
   */
  revokeToken(id: string, at: number): Promise<TokenSummary | null>;
  /**
   * Records that a token was used at `at`: a later time is kept over an earlier one written
   * before it (of two written at the same moment, a server that updates by read-then-replace,
   * FerretDB, may keep either: last uses are minutes apart, not milliseconds). Kept apart
   * from the token's record, so that a use written while the token is revoked never undoes the
   * revocation, and `getToken` need not return it.
   */
  touchToken(hash: string, at: number): Promise<void>;
}
