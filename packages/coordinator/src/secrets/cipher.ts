import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '@hiveforge/sdk';

/** The length of a secrets key, in bytes (AES-256). */
export const SECRETS_KEY_BYTES = 32;
/** The length of the random IV of each encrypted value, in bytes (GCM's recommended 96 bits). */
export const SECRET_IV_BYTES = 12;
/** The length of the GCM authentication tag, in bytes. */
export const SECRET_TAG_BYTES = 16;

/** A secret's value as stored: never the value itself. All fields are base64. */
export interface EncryptedSecret {
  /** The random 12-byte IV of this value. */
  iv: string;
  /** The AES-256-GCM ciphertext. */
  ciphertext: string;
  /** The 16-byte GCM authentication tag. */
  tag: string;
}

/** What a value is bound to: the name and the scope (null: global) are its additional authenticated data. */
export interface SecretAddress {
  name: string;
  pipeline: string | null;
}

/** Options of {@link createSecretsCipher}. */
export interface SecretsCipherOptions {
  /** The key that encrypts and decrypts (32 bytes). */
  key: Uint8Array;
  /** A previous key, used only to decrypt values stored before a rotation. @default undefined */
  previousKey?: Uint8Array;
}

/** Encrypts secret values at rest. The keys stay in the coordinator's memory, never in the store. */
export interface SecretsCipher {
  encrypt(address: SecretAddress, value: string): EncryptedSecret;
  /** The value, or a ConfigError when neither key opens it (wrong key, or tampered data). */
  decrypt(address: SecretAddress, stored: EncryptedSecret): string;
}

/** The additional authenticated data of a value: moving it to another name or scope breaks it. */
const aadOf = ({ name, pipeline }: SecretAddress): Buffer =>
  Buffer.from(JSON.stringify([name, pipeline ?? null]), 'utf8');

/**
 * Decodes a base64 secrets key, refusing anything but 32 bytes with a typed one-line error.
 * `source` names where it came from (a flag, a variable, a file) for the message.
 */
export function parseSecretsKey(text: string, source: string): Uint8Array {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new ConfigError(`${source} is not base64 (a secrets key is ${SECRETS_KEY_BYTES} bytes in base64)`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== SECRETS_KEY_BYTES) {
    throw new ConfigError(`${source} decodes to ${key.length} bytes; a secrets key is ${SECRETS_KEY_BYTES} bytes`);
  }
  return new Uint8Array(key);
}

/** AES-256-GCM with a random 12-byte IV per value and the value's name and scope as AAD. */
export function createSecretsCipher(options: SecretsCipherOptions): SecretsCipher {
  const keys = [options.key, ...(options.previousKey ? [options.previousKey] : [])];
  for (const key of keys) {
    if (key.length !== SECRETS_KEY_BYTES)
      throw new ConfigError(`a secrets key is ${SECRETS_KEY_BYTES} bytes, not ${key.length}`);
  }
  const open = (key: Uint8Array, aad: Buffer, stored: EncryptedSecret): string | null => {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(stored.iv, 'base64'), {
        authTagLength: SECRET_TAG_BYTES,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(stored.ciphertext, 'base64')), decipher.final()]);
      return plain.toString('utf8');
    } catch {
      return null;
    }
  };
  return {
    encrypt(address, value) {
      const iv = randomBytes(SECRET_IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', options.key, iv, { authTagLength: SECRET_TAG_BYTES });
      cipher.setAAD(aadOf(address));
      const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      return {
        iv: iv.toString('base64'),
        ciphertext: ciphertext.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      };
    },
    decrypt(address, stored) {
      const aad = aadOf(address);
      for (const key of keys) {
        const value = open(key, aad, stored);
        if (value !== null) return value;
      }
      const scope = address.pipeline === null ? 'global' : `pipeline ${address.pipeline}`;
      throw new ConfigError(
        `the secret ${address.name} (${scope}) cannot be decrypted with the secrets key${keys.length > 1 ? 's' : ''} given: wrong key, or the stored value was altered`,
      );
    },
  };
}
