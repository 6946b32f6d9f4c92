import { expect, it } from 'vitest';
import type { Store, ScheduleRecord } from '../types.js';

/** The contract of schedules, run inside `describeStoreContract` on the store it made for each test. */
export function describeSchedulesContract(storeOf: () => Store): void {
  it('schedules: written whole, listed by id, found when due, moved on only from the expected time', async () => {
    const store = storeOf();
    const schedule = (id: string, overrides: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
      _id: id,
      pipeline: id.split('/')[0] as string,
      cron: '0 3 * * *',
      enabled: true,
      versionId: 'v1',
      nextFireAt: 100,
      lastFiredAt: null,
      lastRunId: null,
      updatedAt: 0,
      ...overrides,
    });
    await store.putSchedule(schedule('web/b', { nextFireAt: 300 }));
    await store.putSchedule(schedule('web/a', { nextFireAt: 200 }));
    await store.putSchedule(schedule('api/a', { nextFireAt: 100, enabled: false }));
    await store.putSchedule(schedule('api/b', { nextFireAt: null }));
    expect((await store.listSchedules()).map((s) => s._id)).toEqual(['api/a', 'api/b', 'web/a', 'web/b']);
    expect((await store.listSchedules('web')).map((s) => s._id)).toEqual(['web/a', 'web/b']);
    expect(await store.getSchedule('web/a')).toEqual(schedule('web/a', { nextFireAt: 200 }));
    expect(await store.getSchedule('none')).toBeNull();
    // Enabled, with a next fire time at or before now; earliest first.
    expect((await store.findDueSchedules(250, 10)).map((s) => s._id)).toEqual(['web/a']);
    expect((await store.findDueSchedules(300, 10)).map((s) => s._id)).toEqual(['web/a', 'web/b']);
    expect((await store.findDueSchedules(300, 1)).map((s) => s._id)).toEqual(['web/a']);
    // A guarded move applies only from the next fire time it expects.
    expect(await store.updateSchedule('web/a', { nextFireAt: 400, lastFiredAt: 200 }, 200)).toBe(true);
    expect(await store.updateSchedule('web/a', { nextFireAt: 250 }, 200)).toBe(false);
    expect(await store.getSchedule('web/a')).toMatchObject({ nextFireAt: 400, lastFiredAt: 200 });
    expect(await store.updateSchedule('web/a', { lastRunId: 'web/7' })).toBe(true);
    expect(await store.updateSchedule('none', { lastRunId: 'x' })).toBe(false);
    expect((await store.findDueSchedules(300, 10)).map((s) => s._id)).toEqual(['web/b']);
    await store.putSchedule(schedule('web/b', { enabled: false, nextFireAt: 300 }));
    expect((await store.findDueSchedules(1_000, 10)).map((s) => s._id)).toEqual(['web/a']);
  });
}
