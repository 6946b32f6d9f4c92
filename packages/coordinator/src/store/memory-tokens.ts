import { patched, share, own } from './frozen-copy.js';
import type { TokenRecord, TokenStore } from './types.js';

/** The token methods of the memory store: records by hash, last uses apart from them. */
export function createMemoryTokens(): TokenStore {
  const tokens = new Map<string, TokenRecord>();
  /** When each token (by hash) was last used (see `touchToken`). */
  const tokenUses = new Map<string, number>();
  return {
    async putToken(token) {
      for (const [hash, other] of tokens) if (other.id === token.id && hash !== token._id) tokens.delete(hash);
      tokens.set(token._id, own(token));
    },
    async getToken(hash) {
      const t = tokens.get(hash);
      return t ? share(t) : null;
    },
    async listTokens() {
      return [...tokens.values()]
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(({ _id, ...token }) => ({ ...token, lastUsedAt: tokenUses.get(_id) ?? null }));
    },
    async revokeToken(id, at) {
      const found = [...tokens.values()].find((t) => t.id === id);
      if (!found) return null;
      const token = found.revokedAt === null ? patched(found, { revokedAt: at }) : found;
      tokens.set(token._id, token);
      const { _id, ...summary } = token;
      return { ...summary, lastUsedAt: tokenUses.get(_id) ?? null };
    },
    async touchToken(hash, at) {
      if (at > (tokenUses.get(hash) ?? Number.NEGATIVE_INFINITY)) tokenUses.set(hash, at);
    },
  };
}
