import { ConfigError } from '@hiveforge/sdk';
import type { SecretRecord, Store } from '../store/types.js';
import { type SecretsCipher, createSecretsCipher } from './cipher.js';

/** The keys a coordinator is started with (see `CoordinatorOptions`). */
export interface SecretsKeys {
  secretsKey?: Uint8Array;
  secretsKeyPrevious?: Uint8Array;
}

/**
 * The coordinator's cipher, or null without a key. A coordinator without a key refuses to start
 * while the store holds secrets: it could neither give them to jobs nor tell why jobs lack them.
 * One whose keys do not open every stored secret (a wrong key, a previous key dropped too soon,
 * another coordinator on another key) refuses too, naming them. A previous key without a
 * current one is refused.
 */
export async function secretsCipherOf(store: Store, keys: SecretsKeys): Promise<SecretsCipher | null> {
  if (keys.secretsKey) {
    const cipher = createSecretsCipher({ key: keys.secretsKey, previousKey: keys.secretsKeyPrevious });
    checkStoredSecrets(cipher, await store.listSecrets(), keys.secretsKeyPrevious !== undefined);
    return cipher;
  }
  if (keys.secretsKeyPrevious) {
    throw new ConfigError('a previous secrets key was given without a secrets key (--secrets-key) to encrypt with');
  }
  const stored = await store.listSecrets();
  if (stored.length > 0) {
    throw new ConfigError(
      `the store holds ${stored.length} secret(s) but this coordinator has no secrets key: give it with --secrets-key, HIVEFORGE_SECRETS_KEY or --secrets-key-file`,
    );
  }
  return null;
}

/**
 * Decrypts every stored secret (a few hundred small values at most: microseconds each) and
 * refuses, with one line naming them, the secrets that no given key opens. Values stay in this
 * function: nothing decrypted is kept.
 */
export function checkStoredSecrets(cipher: SecretsCipher, stored: readonly SecretRecord[], rotating: boolean): void {
  const unopened = stored.filter((secret) => {
    try {
      cipher.decrypt(secret, secret);
      return false;
    } catch {
      return true;
    }
  });
  if (unopened.length === 0) return;
  const names = unopened.map((s) => (s.pipeline === null ? s.name : `${s.name} (pipeline ${s.pipeline})`));
  const shown = names.length > 5 ? [...names.slice(0, 5), `and ${names.length - 5} more`] : names;
  const all = unopened.length === stored.length;
  throw new ConfigError(
    `the secrets key${rotating ? 's' : ''} given cannot decrypt ${all ? 'any' : `${unopened.length}`} of the ${stored.length} stored secret(s): ${shown.join(', ')}. ${
      all
        ? 'Is it the key they were stored with? (while rotating keys, give the old one as --secrets-key-previous)'
        : 'Were they stored with another key? (every coordinator needs the same --secrets-key; while rotating, give the old one as --secrets-key-previous)'
    }`,
  );
}
