import { MongoError, type Db } from 'mongodb';
import { newTokenId } from '../../auth.js';
import type { TokenRecord, TokenSummary, TokenStore } from '../types.js';
import type { StoreCall } from './call.js';

/** The MongoDB error code of a duplicate key. */
const DUPLICATE_KEY = 11000;

/** The collection of token records (by hash) and the one of their last uses (by hash). */
export const TokenCollections = { tokens: 'tokens', tokenUses: 'token_uses' } as const;

interface TokenDoc {
  _id: string;
  id?: string;
  name: string;
  role: TokenRecord['role'];
  createdAt: number;
  expiresAt?: number | null;
  revokedAt?: number | null;
}

interface TokenUseDoc {
  _id: string;
  lastUsedAt: number;
}

/** A stored token as its record; documents written before expiry and revocation have neither. */
const decodeToken = ({ _id, id, name, role, createdAt, expiresAt, revokedAt }: TokenDoc): TokenRecord => ({
  _id,
  // `backfillTokenIds` gives every record an id when a store opens; never show the hash instead.
  id: id ?? '',
  name,
  role,
  createdAt,
  expiresAt: expiresAt ?? null,
  revokedAt: revokedAt ?? null,
});

const summaryOf = ({ _id, ...token }: TokenRecord, lastUsedAt: number | undefined): TokenSummary => ({
  ...token,
  lastUsedAt: lastUsedAt ?? null,
});

/**
 * Gives an id to every token stored before tokens had one (their records held only the hash),
 * and indexes ids. Coordinators starting at once may each give one an id; the last write stays,
 * and nothing else of the record changes.
 */
export async function backfillTokenIds(db: Db): Promise<void> {
  const tokens = db.collection<TokenDoc>(TokenCollections.tokens);
  for (const doc of await tokens.find({ id: { $exists: false } }, { projection: { _id: 1 } }).toArray()) {
    await tokens.updateOne({ _id: doc._id, id: { $exists: false } }, { $set: { id: newTokenId() } });
  }
  await tokens.createIndex({ id: 1 });
}

/**
 * The token methods of the MongoDB store. Requests find a token by its hash, its `_id`: the one
 * filter FerretDB serves from an index. Last uses are kept in `token_uses`, apart from the
 * records: FerretDB applies an update as read-then-replace, so a use written into the record
 * while it is revoked could write the revocation away.
 */
export function createMongoTokens(db: Db, call: StoreCall): TokenStore {
  const tokens = db.collection<TokenDoc>(TokenCollections.tokens);
  const uses = db.collection<TokenUseDoc>(TokenCollections.tokenUses);
  const lastUseOf = async (hash: string) => (await uses.findOne({ _id: hash }))?.lastUsedAt;
  return {
    putToken(token) {
      return call('putToken', async () => {
        const { _id, ...fields } = token;
        // The new record first, then the others of its id: the id is never without a token.
        await tokens.replaceOne({ _id }, fields, { upsert: true }).catch(async (error: unknown) => {
          if (!(error instanceof MongoError && error.code === DUPLICATE_KEY)) throw error;
          await tokens.replaceOne({ _id }, fields, { upsert: true });
        });
        await tokens.deleteMany({ id: token.id, _id: { $ne: _id } });
      });
    },
    getToken(hash) {
      return call('getToken', async () => {
        const doc = await tokens.findOne({ _id: hash });
        return doc ? decodeToken(doc) : null;
      });
    },
    listTokens() {
      return call('listTokens', async () => {
        const [docs, used] = await Promise.all([tokens.find({}).toArray(), uses.find({}).toArray()]);
        const lastUse = new Map(used.map((u) => [u._id, u.lastUsedAt]));
        return docs
          .map(decodeToken)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map((token) => summaryOf(token, lastUse.get(token._id)));
      });
    },
    revokeToken(id, at) {
      return call(`revokeToken ${id}`, async () => {
        // `revokedAt: null` also matches records stored before revocation existed.
        await tokens.updateOne({ id, revokedAt: null }, { $set: { revokedAt: at } });
        const doc = await tokens.findOne({ id });
        if (!doc) return null;
        return summaryOf(decodeToken(doc), await lastUseOf(doc._id));
      });
    },
    touchToken(hash, at) {
      return call('touchToken', async () => {
        const touch = () => uses.updateOne({ _id: hash }, { $max: { lastUsedAt: at } }, { upsert: true });
        await touch().catch(async (error: unknown) => {
          // Two first uses at once: both upserts inserted; the loser's `$max` now applies.
          if (!(error instanceof MongoError && error.code === DUPLICATE_KEY)) throw error;
          await touch();
        });
      });
    },
  };
}
