import { StoreUnavailableError } from '@hiveforge/sdk';
import type { Decided, Decision, DecisionStore } from '../types.js';
import { sleep } from './call.js';
import { type StoredDoc, decode, encodeValue } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { insertGroup } from './insert-group.js';
import { Collections } from './schema.js';

/** Delays before re-reading a decision that lost a race but is not yet majority-readable. */
const WINNER_READ_DELAYS_MS = [5, 10, 20, 50, 100, 200, 400, 800, 1_600];

/**
 * The decision methods of the MongoDB store. Every racing decision is an insert of a document
 * with a unique `_id` into `decisions`: the insert that wins decides, a loser gets a
 * duplicate-key error and reads the winner. Decisions written meanwhile go as one `insertMany`.
 */
export function createMongoDecisions({ db, call, now }: MongoStoreContext): DecisionStore {
  const decisions = db.collection<StoredDoc>(Collections.decisions);
  const insertDecisions = insertGroup(decisions);

  /**
   * Reads the decision that beat ours. Its insert may not be majority-committed yet when our
   * duplicate-key error arrives, so a majority read can briefly miss it: wait for it rather than
   * act on a decision that could still be rolled back.
   */
  const readWinner = async <T>(id: string): Promise<Decision<T>> => {
    for (const delay of [0, ...WINNER_READ_DELAYS_MS]) {
      if (delay > 0) await sleep(delay);
      const doc = await decisions.findOne({ _id: id });
      if (doc) return decode<Decision<T>>(doc);
    }
    throw new StoreUnavailableError(
      `decision '${id}' exists but is not readable with majority read concern; is a majority of the replica set up?`,
    );
  };

  return {
    decide<T extends object>(id: string, data: T): Promise<Decided<T>> {
      return call(`decide ${id}`, async () => {
        const doc = { _id: id, at: now(), data: encodeValue(data) };
        const [outcome] = await insertDecisions([doc]);
        if (outcome === 'duplicate') return { won: false, decision: await readWinner<T>(id) };
        return { won: true, decision: decode<Decision<T>>(doc) };
      });
    },
    getDecision<T>(id: string) {
      return call(`getDecision ${id}`, async () => {
        const doc = await decisions.findOne({ _id: id });
        return doc ? decode<Decision<T>>(doc) : null;
      });
    },
  };
}
