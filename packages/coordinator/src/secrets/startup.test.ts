import { randomBytes } from 'node:crypto';
import { ConfigError } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/memory.js';
import { secretIdOf } from '../store/types.js';
import { createSecretsCipher } from './cipher.js';
import { secretsCipherOf } from './startup.js';

const key = () => new Uint8Array(randomBytes(32));

/** A memory store holding `names` (global, or `NAME@pipeline`), each encrypted with `secretsKey`. */
async function storeWith(secretsKey: Uint8Array, names: readonly string[]) {
  const store = createMemoryStore();
  const cipher = createSecretsCipher({ key: secretsKey });
  for (const id of names) {
    const [name = id, pipeline = null] = id.split('@');
    await store.putSecret({
      _id: secretIdOf(name, pipeline),
      name,
      pipeline,
      updatedAt: 1,
      ...cipher.encrypt({ name, pipeline }, `value of ${id}`),
    });
  }
  return store;
}

describe('secretsCipherOf: the keys a coordinator starts with must open what the store holds', () => {
  it('starts with the key the secrets were stored with, and without a key when none is stored', async () => {
    const k = key();
    const cipher = await secretsCipherOf(await storeWith(k, ['A', 'B@web']), { secretsKey: k });
    expect(cipher).not.toBeNull();
    expect(await secretsCipherOf(createMemoryStore(), {})).toBeNull();
  });

  it('refuses a wrong key with one line naming the secrets it cannot open', async () => {
    const store = await storeWith(key(), ['DEPLOY_TOKEN', 'NPM_TOKEN@web']);
    const refused = secretsCipherOf(store, { secretsKey: key() });
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(
      /cannot decrypt any of the 2 stored secret\(s\): DEPLOY_TOKEN, NPM_TOKEN \(pipeline web\)\. Is it the key/,
    );
    await expect(refused).rejects.not.toThrow(/\n/);
  });

  it('refuses a key that opens only some of them (another coordinator stored the rest with its own key)', async () => {
    const mine = key();
    const store = await storeWith(mine, ['A']);
    const other = await storeWith(key(), ['B']);
    for (const s of await other.listSecrets()) await store.putSecret(s);
    await expect(secretsCipherOf(store, { secretsKey: mine })).rejects.toThrow(
      /cannot decrypt 1 of the 2 stored secret\(s\): B\. Were they stored with another key\?/,
    );
  });

  it('rotation: the new key with the old one as previous starts; dropping the old one too soon is refused', async () => {
    const oldKey = key();
    const store = await storeWith(oldKey, ['A']);
    expect(await secretsCipherOf(store, { secretsKey: key(), secretsKeyPrevious: oldKey })).not.toBeNull();
    await expect(secretsCipherOf(store, { secretsKey: key() })).rejects.toThrow(/--secrets-key-previous/);
  });

  it('refuses to start without a key while secrets are stored', async () => {
    await expect(secretsCipherOf(await storeWith(key(), ['A']), {})).rejects.toThrow(
      /holds 1 secret\(s\) but this coordinator has no secrets key/,
    );
  });
});
