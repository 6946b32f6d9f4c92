import { randomBytes } from 'node:crypto';
import { ConfigError } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { SECRET_IV_BYTES, createSecretsCipher, parseSecretsKey } from './cipher.js';

const key = () => new Uint8Array(randomBytes(32));
const global = (name: string) => ({ name, pipeline: null });

describe('createSecretsCipher', () => {
  it('round-trips a value, including non-ASCII and empty ones', () => {
    const cipher = createSecretsCipher({ key: key() });
    for (const value of ['s3cr3t', '', 'ünïcødé ✓ \n line two', 'x'.repeat(64 * 1024)]) {
      const stored = cipher.encrypt(global('DEPLOY_TOKEN'), value);
      expect(JSON.stringify(stored)).not.toContain(value || '\u0000never');
      expect(cipher.decrypt(global('DEPLOY_TOKEN'), stored)).toBe(value);
    }
  });

  it('uses a fresh 12-byte IV for every value', () => {
    const cipher = createSecretsCipher({ key: key() });
    const a = cipher.encrypt(global('A'), 'same');
    const b = cipher.encrypt(global('A'), 'same');
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(SECRET_IV_BYTES);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('refuses to decrypt with a wrong key', () => {
    const stored = createSecretsCipher({ key: key() }).encrypt(global('A'), 'value');
    expect(() => createSecretsCipher({ key: key() }).decrypt(global('A'), stored)).toThrow(ConfigError);
  });

  it('refuses tampered ciphertext, tag or IV', () => {
    const cipher = createSecretsCipher({ key: key() });
    const stored = cipher.encrypt(global('A'), 'value');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      return bytes.toString('base64');
    };
    expect(() => cipher.decrypt(global('A'), { ...stored, ciphertext: flip(stored.ciphertext) })).toThrow(
      /cannot be decrypted/,
    );
    expect(() => cipher.decrypt(global('A'), { ...stored, tag: flip(stored.tag) })).toThrow(/cannot be decrypted/);
    expect(() => cipher.decrypt(global('A'), { ...stored, iv: flip(stored.iv) })).toThrow(/cannot be decrypted/);
  });

  it('binds a value to its name and scope (moving it breaks it)', () => {
    const cipher = createSecretsCipher({ key: key() });
    const stored = cipher.encrypt({ name: 'A', pipeline: 'web' }, 'value');
    expect(cipher.decrypt({ name: 'A', pipeline: 'web' }, stored)).toBe('value');
    expect(() => cipher.decrypt({ name: 'B', pipeline: 'web' }, stored)).toThrow(ConfigError);
    expect(() => cipher.decrypt({ name: 'A', pipeline: null }, stored)).toThrow(ConfigError);
    expect(() => cipher.decrypt({ name: 'A', pipeline: 'api' }, stored)).toThrow(ConfigError);
  });

  it('rotation: the new key encrypts, the previous one only decrypts', () => {
    const oldKey = key();
    const newKey = key();
    const before = createSecretsCipher({ key: oldKey }).encrypt(global('A'), 'old value');
    const rotated = createSecretsCipher({ key: newKey, previousKey: oldKey });
    expect(rotated.decrypt(global('A'), before)).toBe('old value');
    const after = rotated.encrypt(global('A'), 'new value');
    expect(createSecretsCipher({ key: newKey }).decrypt(global('A'), after)).toBe('new value');
    expect(() => createSecretsCipher({ key: oldKey }).decrypt(global('A'), after)).toThrow(ConfigError);
    // Without the previous key, values stored before the rotation no longer open.
    expect(() => createSecretsCipher({ key: newKey }).decrypt(global('A'), before)).toThrow(ConfigError);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => createSecretsCipher({ key: new Uint8Array(16) })).toThrow(ConfigError);
    expect(() => createSecretsCipher({ key: key(), previousKey: new Uint8Array(31) })).toThrow(ConfigError);
  });
});

describe('parseSecretsKey', () => {
  it('decodes a base64 32-byte key', () => {
    const bytes = randomBytes(32);
    expect(Buffer.from(parseSecretsKey(`${bytes.toString('base64')}\n`, '--secrets-key'))).toEqual(bytes);
  });

  it('refuses other lengths and non-base64 text with a typed error naming the source', () => {
    expect(() => parseSecretsKey(randomBytes(16).toString('base64'), '--secrets-key')).toThrow(
      /--secrets-key decodes to 16 bytes/,
    );
    expect(() => parseSecretsKey('not a key!', 'HIVEFORGE_SECRETS_KEY')).toThrow(ConfigError);
    expect(() => parseSecretsKey('', 'HIVEFORGE_SECRETS_KEY')).toThrow(/HIVEFORGE_SECRETS_KEY is not base64/);
  });
});
