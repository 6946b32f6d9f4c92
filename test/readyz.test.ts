import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';
import { startCoordinatorProcess } from './helpers/services.js';

// How a coordinator's store finds jobs is chosen when the store opens (a capability probe on
// MongoDB-wire servers): the start banner and /readyz say which, for an operator to check.
describe('a coordinator reports its store (coordinator processes, memory and FerretDB)', () => {
  let ferret: FerretDB | undefined;
  beforeAll(async () => {
    ferret = await startFerretDB();
  }, 60_000);
  afterAll(async () => {
    await ferret?.stop();
  });

  it('on FerretDB, whose planner serves only _id from an index: the hinted job index, polled wake-ups', async () => {
    if (!ferret) throw new Error('FerretDB did not start');
    await using coordinator = await startCoordinatorProcess({
      mongodbUri: ferret.uri,
      database: `readyz_${process.pid}`,
      agentSecret: 'agent-secret-of-16+',
      adminToken: 'admin-token-of-16+',
    });
    expect(coordinator.output()).toMatch(/^store mongodb: job index hinted, wake-ups polling$/m);
    const res = await fetch(`${coordinator.url}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ready: true, store: { jobIndex: 'hinted', wakeups: 'polling' } });
  });

  it('in memory: the memory job index, local wake-ups', async () => {
    await using coordinator = await startCoordinatorProcess({
      agentSecret: 'agent-secret-of-16+',
      adminToken: 'admin-token-of-16+',
    });
    expect(coordinator.output()).toMatch(/^store memory: job index memory, wake-ups local$/m);
    expect(await (await fetch(`${coordinator.url}/readyz`)).json()).toEqual({
      ready: true,
      store: { jobIndex: 'memory', wakeups: 'local' },
    });
  });
});
