import type { Db } from 'mongodb';
import { type SecretRecord, bySecretOrder, secretIdOf, type SecretStore } from '../types.js';
import type { StoreCall } from './call.js';

/** The collection of secrets: each value encrypted, never in clear. */
export const SecretCollections = { secrets: 'secrets' } as const;

type SecretDoc = SecretRecord;

const decodeSecret = ({ _id, name, pipeline, iv, ciphertext, tag, updatedAt }: SecretDoc): SecretRecord => ({
  _id,
  name,
  pipeline: pipeline ?? null,
  iv,
  ciphertext,
  tag,
  updatedAt,
});

/**
 * The secret methods of the MongoDB store. Every read and write names secrets by `_id` (the one
 * filter FerretDB serves from an index); lists read the whole collection, which holds a few
 * hundred small documents at most.
 */
export function createMongoSecrets(db: Db, call: StoreCall): SecretStore {
  const secrets = db.collection<SecretDoc>(SecretCollections.secrets);
  return {
    putSecret(secret) {
      return call(`putSecret ${secret._id}`, async () => {
        const { _id, ...fields } = secret;
        await secrets.replaceOne({ _id }, fields, { upsert: true });
      });
    },
    listSecrets() {
      return call('listSecrets', async () => (await secrets.find({}).toArray()).map(decodeSecret).sort(bySecretOrder));
    },
    getSecretsFor(names, pipeline) {
      return call('getSecretsFor', async () => {
        if (names.length === 0) return [];
        const ids = names.flatMap((name) => [secretIdOf(name, pipeline), secretIdOf(name, null)]);
        return (await secrets.find({ _id: { $in: ids } }).toArray()).map(decodeSecret);
      });
    },
    removeSecret(id) {
      return call(`removeSecret ${id}`, async () => (await secrets.deleteOne({ _id: id })).deletedCount === 1);
    },
  };
}
