import type { Collection, Document, Filter } from 'mongodb';

/** How many documents a reader reads by `_id` at once (the jobs of hints, a run's jobs). */
export const ID_READ_BATCH = 32;

/**
 * The documents of `ids` in `collection` (with `projection`, the fields kept), read by `_id`,
 * `ID_READ_BATCH` at a time, in that order; missing ones skipped. On FerretDB a read by `_id`
 * is the one lookup served from an index.
 */
export async function findByIds<D extends { _id: string }>(
  collection: Collection<D>,
  ids: readonly string[],
  projection?: Document,
): Promise<D[]> {
  const docs: D[] = [];
  for (let i = 0; i < ids.length; i += ID_READ_BATCH) {
    const batch = ids.slice(i, i + ID_READ_BATCH);
    const found = await Promise.all(
      batch.map((_id) => collection.findOne({ _id } as Filter<D>, { projection }) as Promise<D | null>),
    );
    for (const doc of found) if (doc) docs.push(doc);
  }
  return docs;
}
