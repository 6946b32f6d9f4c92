import { hashToken, newToken } from './auth.js';
import type { Role, Store } from './store/types.js';

/** Creates a user API token with a role; returns the clear token, which is not stored. */
export async function createUserToken(store: Store, options: { name: string; role: Role }): Promise<string> {
  const token = newToken('hfu');
  await store.putToken({ _id: hashToken(token), name: options.name, role: options.role, createdAt: Date.now() });
  return token;
}
