/**
 * A secret as stored: its value only encrypted (AES-256-GCM, see `secrets/cipher.ts`), never in
 * clear. One per name and scope; `_id` is the name (global) or `NAME@pipeline` (scoped): names
 * have no `@`, so the two never meet.
 */
export interface SecretRecord {
  _id: string;
  name: string;
  /** The pipeline it is given to; null: every pipeline (a pipeline's own of the same name wins). */
  pipeline: string | null;
  /** The random IV, ciphertext and GCM tag of the value, each base64. */
  iv: string;
  ciphertext: string;
  tag: string;
  /** When it was last set (epoch ms). */
  updatedAt: number;
}

/** The `_id` of a secret: its name, or `NAME@pipeline` when it is scoped to a pipeline. */
export const secretIdOf = (name: string, pipeline: string | null): string =>
  pipeline === null ? name : `${name}@${pipeline}`;

/** The order of `listSecrets`: by name, the global one before the scoped ones, then by pipeline. */
export const bySecretOrder = (a: SecretRecord, b: SecretRecord): number => {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.pipeline === b.pipeline) return 0;
  if (a.pipeline === null) return -1;
  if (b.pipeline === null) return 1;
  return a.pipeline < b.pipeline ? -1 : 1;
};

/** Secrets of the Store, encrypted. */
export interface SecretStore {
  /** Stores a secret (insert or replace by `_id`). */
  putSecret(secret: SecretRecord): Promise<void>;
  /** Every secret, by name then scope (global first): what `secrets.list` shows, less the values. */
  listSecrets(): Promise<SecretRecord[]>;
  /**
   * The secrets with these names that a job of `pipeline` may have: the pipeline's own and the
   * global ones (both, when both exist; the caller prefers the pipeline's), by `_id` only.
   */
  getSecretsFor(names: readonly string[], pipeline: string): Promise<SecretRecord[]>;
  /** Deletes the secret with this `_id`; returns whether there was one. */
  removeSecret(id: string): Promise<boolean>;
}
