import { expect, it } from 'vitest';
import type { Store } from '../types.js';
import { makeSecret } from './fixtures.js';

/** The contract of secrets, run inside `describeStoreContract` on the store it made for each test. */
export function describeSecretsContract(storeOf: () => Store): void {
  it('secrets: put, replaced by name and scope, listed by name with the global one first', async () => {
    const store = storeOf();
    expect(await store.listSecrets()).toEqual([]);
    await store.putSecret(makeSecret('TOKEN', 'web'));
    await store.putSecret(makeSecret('TOKEN', null));
    await store.putSecret(makeSecret('API_KEY', 'web'));
    await store.putSecret(makeSecret('TOKEN', 'api'));
    await store.putSecret(makeSecret('TOKEN', null, { ciphertext: 'ct-2', updatedAt: 9 }));
    const listed = await store.listSecrets();
    expect(listed.map((s) => s._id)).toEqual(['API_KEY@web', 'TOKEN', 'TOKEN@api', 'TOKEN@web']);
    expect(listed[1]).toEqual(makeSecret('TOKEN', null, { ciphertext: 'ct-2', updatedAt: 9 }));
  });

  it("secrets: a job's are its pipeline's and the global ones of the names it declares, no others", async () => {
    const store = storeOf();
    await store.putSecret(makeSecret('A', null));
    await store.putSecret(makeSecret('A', 'web'));
    await store.putSecret(makeSecret('B', 'api'));
    await store.putSecret(makeSecret('C', null));
    const ids = async (names: string[], pipeline: string) =>
      (await store.getSecretsFor(names, pipeline)).map((s) => s._id).sort();
    expect(await ids(['A', 'B'], 'web')).toEqual(['A', 'A@web']);
    expect(await ids(['A', 'B'], 'api')).toEqual(['A', 'B@api']);
    expect(await ids(['C'], 'other')).toEqual(['C']);
    expect(await ids([], 'web')).toEqual([]);
    expect(await store.getSecretsFor(['A'], 'web')).toContainEqual(makeSecret('A', 'web'));
  });

  it('secrets: removed by id once; an unknown id removes nothing', async () => {
    const store = storeOf();
    await store.putSecret(makeSecret('A', null));
    await store.putSecret(makeSecret('A', 'web'));
    expect(await store.removeSecret('A@web')).toBe(true);
    expect(await store.removeSecret('A@web')).toBe(false);
    expect(await store.removeSecret('NONE')).toBe(false);
    expect((await store.listSecrets()).map((s) => s._id)).toEqual(['A']);
  });
}
