import { API_VERSION } from '@hiveforge/sdk';
import { createTRPCClient, httpLink } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { createHiveForgeClient, hiveforgeErrorCode } from './client.js';
import { type ManualClock, createManualClock } from './clock.js';
import type { AppRouter } from './routers/app.js';
import { createCoordinator } from './server.js';
import { makeJobSpec } from './store/contract.js';
import { createMemoryStore } from './store/memory.js';
import type { Store } from './store/types.js';
import { issueUserToken } from './tokens.js';

/** A time far from the wall clock's, so that anything read from the wall clock shows. */
const START = Date.UTC(2031, 0, 1);
const AGENT_SECRET = 'a-registration-secret';

/** A coordinator on a memory store over real HTTP, whose time is `clock`; sweeps every 50 ms. */
async function started(clock: ManualClock) {
  const store = createMemoryStore({ clock });
  const coordinator = await createCoordinator({
    store,
    agentSecret: AGENT_SECRET,
    schedules: false,
    clock,
    agentGoneAfter: '1s',
    scheduler: { sweepInterval: '50ms', heartbeatInterval: '200ms', leaseTtl: '2s' },
  });
  return { store, coordinator, [Symbol.asyncDispose]: () => coordinator.close() };
}

/** Polls `probe` on real time until it holds, for at most `ms`; whether it did. */
async function eventually(probe: () => Promise<boolean>, ms = 3_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function deploy(store: Store): Promise<void> {
  await store.putPipelineVersion({
    _id: 'v1',
    pipeline: 'p',
    spec: {
      apiVersion: API_VERSION,
      name: 'p',
      triggers: { push: null, pullRequest: null, schedule: [], manual: null },
      strictImages: false,
      env: {},
      images: [],
      jobs: [makeJobSpec('build')],
      source: null,
    },
    bundle: '',
    entry: 'hiveforge.ts',
    createdAt: 0,
  });
  await store.setPipelineHead('p', 'v1', 0);
}

describe("a coordinator's time is its clock", () => {
  it('a token created through the API expires by the clock, not the wall', async () => {
    const clock = createManualClock(START);
    await using c = await started(clock);
    const admin = createHiveForgeClient({
      url: c.coordinator.url,
      token: (await issueUserToken(c.store, { name: 'root', role: 'admin', now: () => clock.now() })).token,
    });
    const created = await admin.tokens.create.mutate({ name: 'ci', role: 'viewer', expires: '1h' });
    expect(created.createdAt).toBe(START);
    const viewer = createHiveForgeClient({ url: c.coordinator.url, token: created.token });
    expect(await viewer.runs.list.query({})).toEqual([]);
    await clock.advance(3_600_000);
    const refused = await viewer.runs.list.query({}).then(
      () => 'ok',
      (error: unknown) => hiveforgeErrorCode(error),
    );
    expect(refused).toBe('HF_UNAUTHENTICATED');
  });

  it("the coordinator's sweeps read the clock: a lease is lost, and a silent agent gone, once it passes their time", async () => {
    const clock = createManualClock(START);
    await using c = await started(clock);
    await deploy(c.store);
    const agentApi = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${c.coordinator.url}/trpc` })] });
    const { agentId } = await agentApi.agent.register.mutate({ secret: AGENT_SECRET, name: 'a1' });
    const agent = await c.store.getAgent(agentId);
    expect(agent?.registeredAt).toBe(START);
    const run = await c.coordinator.scheduler.triggerRun({
      pipeline: 'p',
      trigger: { event: 'manual', branch: 'main', commit: null, repository: null, inputs: {}, actor: 'test' },
    });
    const lease = await c.coordinator.scheduler.pull(agent!, 'request-1', { waitMs: 0 });
    expect(lease?.leasedAt).toBe(START);
    // Real sweeps run meanwhile; on the clock, nothing has expired.
    const attemptOf = async () => (await c.store.getJob(`${run._id}/build`))?.attempt;
    expect(await eventually(async () => (await attemptOf()) === 2, 300)).toBe(false);
    expect((await c.store.getAgent(agentId))?.state).toBe('active');
    // Past the lease TTL and the agents' silence, the next sweeps declare both.
    await clock.advance(2_001);
    expect(await eventually(async () => (await attemptOf()) === 2)).toBe(true);
    expect(await eventually(async () => (await c.store.getAgent(agentId))?.state === 'gone')).toBe(true);
    expect((await c.store.getAgent(agentId))?.goneAt).toBe(START + 2_001);
  });
});
