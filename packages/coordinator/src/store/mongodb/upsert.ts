import type { Collection } from 'mongodb';
import { type StoredDoc, encode } from './codec.js';
import { isDuplicateKey } from './duplicates.js';

/** Replaces or inserts a whole document; concurrent upserts of one `_id` can race, so retry once. */
export async function upsert<T extends { _id: string }>(collection: Collection<StoredDoc>, record: T): Promise<void> {
  const doc = encode(record) as StoredDoc;
  try {
    await collection.replaceOne({ _id: record._id }, doc, { upsert: true });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    await collection.replaceOne({ _id: record._id }, doc, { upsert: true });
  }
}
