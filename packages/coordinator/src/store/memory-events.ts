import { own, share } from './frozen-copy.js';
import type { EventRecord, EventStore } from './types.js';

/** The event log of the memory store, in `_id` order. */
export function createMemoryEvents(): EventStore {
  /** Events in `_id` order. */
  const eventLog: EventRecord[] = [];
  const eventIds = new Set<string>();
  return {
    async appendEvents(list) {
      for (const event of list) {
        if (eventIds.has(event._id)) continue;
        eventIds.add(event._id);
        // Ids are nearly always appended in order: search from the end.
        let i = eventLog.length;
        while (i > 0 && (eventLog[i - 1] as EventRecord)._id > event._id) i--;
        eventLog.splice(i, 0, own(event));
      }
    },
    async listEvents(query) {
      const n = Math.max(0, Math.floor(query.limit));
      const after = query.after;
      let lo = 0;
      if (after !== undefined) {
        let hi = eventLog.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((eventLog[mid] as EventRecord)._id <= after) lo = mid + 1;
          else hi = mid;
        }
      }
      return eventLog.slice(lo, lo + n).map(share);
    },
    async deleteEventsBefore(id) {
      let n = 0;
      while (n < eventLog.length && (eventLog[n] as EventRecord)._id < id) n++;
      for (const event of eventLog.splice(0, n)) eventIds.delete(event._id);
      return n;
    },
  };
}
