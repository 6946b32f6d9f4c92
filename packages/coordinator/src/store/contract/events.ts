import { expect, it } from 'vitest';
import type { Store, EventRecord } from '../types.js';

/** The contract of events, run inside `describeStoreContract` on the store it made for each test. */
export function describeEventsContract(storeOf: () => Store): void {
  it('events: appended once, read in id order after a cursor, pruned by id', async () => {
    const store = storeOf();
    const event = (id: string): EventRecord => ({
      _id: id,
      at: Number(id.slice(0, 15)),
      type: 'pipeline',
      pipeline: 'web',
      versionId: `v-${id}`,
    });
    const ids = ['000000000000020-0001-aaaaaaaa', '000000000000010-0001-bbbbbbbb', '000000000000030-0001-cccccccc'];
    await store.appendEvents(ids.map(event));
    await store.appendEvents([event(ids[0] as string), event('000000000000020-0002-dddddddd')]);
    const all = await store.listEvents({ limit: 10 });
    expect(all.map((e) => e._id)).toEqual([
      '000000000000010-0001-bbbbbbbb',
      '000000000000020-0001-aaaaaaaa',
      '000000000000020-0002-dddddddd',
      '000000000000030-0001-cccccccc',
    ]);
    expect(all[0]).toEqual(event('000000000000010-0001-bbbbbbbb'));
    expect((await store.listEvents({ after: '000000000000010-0001-bbbbbbbb', limit: 2 })).map((e) => e._id)).toEqual([
      '000000000000020-0001-aaaaaaaa',
      '000000000000020-0002-dddddddd',
    ]);
    // A time prefix is a cursor too: everything written from that millisecond on.
    expect((await store.listEvents({ after: '000000000000020', limit: 10 })).length).toBe(3);
    expect(await store.listEvents({ after: '000000000000030-0001-cccccccc', limit: 10 })).toEqual([]);
    expect(await store.deleteEventsBefore('000000000000020')).toBe(1);
    expect((await store.listEvents({ limit: 10 })).map((e) => e._id)[0]).toBe('000000000000020-0001-aaaaaaaa');
    expect(await store.deleteEventsBefore('000000000000020')).toBe(0);
  });
}
