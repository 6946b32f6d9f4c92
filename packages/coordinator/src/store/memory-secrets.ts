import { own, share } from './frozen-copy.js';
import { type SecretRecord, type SecretStore, bySecretOrder, secretIdOf } from './types.js';

/** The secret methods of the memory store. */
export function createMemorySecrets(): SecretStore {
  const secrets = new Map<string, SecretRecord>();
  return {
    async putSecret(secret) {
      secrets.set(secret._id, own(secret));
    },
    async listSecrets() {
      return [...secrets.values()].sort(bySecretOrder).map(share);
    },
    async getSecretsFor(names, pipeline) {
      const ids = names.flatMap((name) => [secretIdOf(name, pipeline), secretIdOf(name, null)]);
      return ids.flatMap((id) => {
        const s = secrets.get(id);
        return s ? [share(s)] : [];
      });
    },
    async removeSecret(id) {
      return secrets.delete(id);
    },
  };
}
