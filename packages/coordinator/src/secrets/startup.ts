import { ConfigError } from '@hiveforge/sdk';
import type { Store } from '../store/types.js';
import { type SecretsCipher, createSecretsCipher } from './cipher.js';

/** The keys a coordinator is started with (see `CoordinatorOptions`). */
export interface SecretsKeys {
  secretsKey?: Uint8Array;
  secretsKeyPrevious?: Uint8Array;
}

/**
 * The coordinator's cipher, or null without a key. A coordinator without a key refuses to start
 * while the store holds secrets: it could neither give them to jobs nor tell why jobs lack them.
 * A previous key without a current one is refused too.
 */
export async function secretsCipherOf(store: Store, keys: SecretsKeys): Promise<SecretsCipher | null> {
  if (keys.secretsKey) return createSecretsCipher({ key: keys.secretsKey, previousKey: keys.secretsKeyPrevious });
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
