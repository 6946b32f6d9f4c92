import type { Store } from './store/types.js';

/** Upper bounds, in seconds, of the dispatch latency histogram's buckets. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * This coordinator's Prometheus metrics. Counters and the histogram count what this process
 * did (Prometheus sums them across coordinators); gauges are read from the store, so every
 * coordinator reports the same cluster-wide values.
 */
export interface Metrics {
  /** Records one dispatch: from ready to leased. */
  observeDispatch(latencyMs: number): void;
  /** Records leases this coordinator declared lost. */
  countLeaseExpiries(n: number): void;
  /** The text exposition format. */
  render(store: Store): Promise<string>;
}

const escapeLabel = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');

/** Creates the metrics of one coordinator. */
export function createMetrics(): Metrics {
  const buckets = BUCKETS.map(() => 0);
  let count = 0;
  let sum = 0;
  let expiries = 0;
  return {
    observeDispatch(latencyMs) {
      const s = Math.max(0, latencyMs) / 1000;
      count++;
      sum += s;
      BUCKETS.forEach((b, i) => {
        if (s <= b) buckets[i] = (buckets[i] as number) + 1;
      });
    },
    countLeaseExpiries(n) {
      expiries += n;
    },
    async render(store) {
      // Counted by the store without reading the queued jobs (MongoDB counts its ready hints).
      const depth = new Map<string, number>();
      for (const { labels, count } of await store.countQueuedJobs()) {
        const key = [...labels].sort().join(',');
        depth.set(key, (depth.get(key) ?? 0) + count);
      }
      const running = (await Promise.all((await store.listAgents()).map((a) => store.findJobsOfAgent(a._id)))).flat();
      const lines = [
        '# HELP hiveforge_queue_depth Jobs ready to run, by the labels they require.',
        '# TYPE hiveforge_queue_depth gauge',
        ...(depth.size
          ? [...depth].map(([labels, n]) => `hiveforge_queue_depth{labels="${escapeLabel(labels)}"} ${n}`)
          : ['hiveforge_queue_depth{labels=""} 0']),
        '# HELP hiveforge_running_jobs Jobs leased to or running on agents.',
        '# TYPE hiveforge_running_jobs gauge',
        `hiveforge_running_jobs ${running.length}`,
        '# HELP hiveforge_dispatch_latency_seconds Time from a job becoming ready to its lease, as dispatched by this coordinator.',
        '# TYPE hiveforge_dispatch_latency_seconds histogram',
        ...BUCKETS.map((b, i) => `hiveforge_dispatch_latency_seconds_bucket{le="${b}"} ${buckets[i]}`),
        `hiveforge_dispatch_latency_seconds_bucket{le="+Inf"} ${count}`,
        `hiveforge_dispatch_latency_seconds_sum ${sum}`,
        `hiveforge_dispatch_latency_seconds_count ${count}`,
        '# HELP hiveforge_lease_expiries_total Leases this coordinator declared lost.',
        '# TYPE hiveforge_lease_expiries_total counter',
        `hiveforge_lease_expiries_total ${expiries}`,
        "# HELP hiveforge_store_wakeups How this coordinator hears of other coordinators' changes: local (one process), polling or change-stream.",
        '# TYPE hiveforge_store_wakeups gauge',
        `hiveforge_store_wakeups{mode="${store.wakeupMode()}"} 1`,
      ];
      return `${lines.join('\n')}\n`;
    },
  };
}
