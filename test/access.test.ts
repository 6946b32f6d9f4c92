import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HiveForgeClient, createHiveForgeClient, hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { packagePipeline } from 'hiveforge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { ferretDBForSuite } from './helpers/ferretdb-suite.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newAdminToken = () => `hfu_${randomBytes(16).toString('hex')}`;

/** How a call failed: its HF_* code and message, or `ok` when it did not. */
const outcome = async (call: Promise<unknown>) =>
  call.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, code: hiveforgeErrorCode(error), message: (error as Error).message }),
  );

describe('tokens and agents coming and going, coordinator and agent processes on FerretDB', () => {
  const ferret = ferretDBForSuite();
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'hf-access-'));
  });
  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** Coordinator processes on one database; disposing kills them all (the database is dropped by the suite). */
  const processes = () => {
    const started: ServiceProcess[] = [];
    return {
      track<T extends ServiceProcess>(p: T): T {
        started.push(p);
        return p;
      },
      [Symbol.asyncDispose]: () => Promise.all(started.map((p) => p.kill('SIGKILL'))).then(() => undefined),
    };
  };

  const coordinator = (db: { uri: string; dbName: string }, adminToken: string, agentGoneAfter?: string) =>
    startCoordinatorProcess({
      mongodbUri: db.uri,
      database: db.dbName,
      agentSecret,
      adminToken,
      args: agentGoneAfter ? ['--agent-gone-after', agentGoneAfter] : [],
    });

  const client = (url: string, token: string): HiveForgeClient => createHiveForgeClient({ url, token });

  it(
    'a token revoked through coordinator A is refused by coordinator B within 1 s',
    () =>
      ferret.withDatabase('hf_revoke', async (db) => {
        await using procs = processes();
        const adminToken = newAdminToken();
        const a = procs.track(await coordinator(db, adminToken));
        const b = procs.track(await coordinator(db, adminToken));
        const created = await client(a.url, adminToken).tokens.create.mutate({ name: 'ci', role: 'viewer' });
        expect(created.id).toMatch(/^tok_[0-9a-f]{16}$/);
        const onB = client(b.url, created.token);
        expect(await outcome(onB.agents.list.query())).toEqual({ ok: true });

        const revoked = await client(a.url, adminToken).tokens.revoke.mutate({ id: created.id });
        const revokedAt = Date.now();
        expect(revoked).toMatchObject({ id: created.id, name: 'ci', revokedAt: expect.any(Number) });
        let refused = await outcome(onB.agents.list.query());
        while (refused.ok && Date.now() - revokedAt < 1_000) refused = await outcome(onB.agents.list.query());
        const after = Date.now() - revokedAt;
        console.info(`revocation through A refused by B ${after} ms after the revoke returned`);
        expect(refused).toMatchObject({ ok: false, code: 'HF_UNAUTHENTICATED', message: /^token revoked on / });
        expect(after).toBeLessThan(1_000);
        // Lists show it revoked, never the token or its hash.
        const listed = await client(b.url, adminToken).tokens.list.query();
        expect(listed.find((t) => t.id === created.id)).toMatchObject({ name: 'ci', revokedAt: revoked.revokedAt });
        expect(JSON.stringify(listed)).not.toContain(created.token);
        expect(listed.every((t) => !('_id' in t))).toBe(true);
        // Only admins revoke; an unknown id is a clear error.
        expect(
          await outcome(client(a.url, adminToken).tokens.revoke.mutate({ id: 'tok_0000000000000000' })),
        ).toMatchObject({ ok: false, code: 'HF_NOT_FOUND' });
      }),
    60_000,
  );

  it(
    'an expired token is refused, saying when it expired',
    () =>
      ferret.withDatabase('hf_expiry', async (db) => {
        await using procs = processes();
        const adminToken = newAdminToken();
        const c = procs.track(await coordinator(db, adminToken));
        const created = await client(c.url, adminToken).tokens.create.mutate({
          name: 'short',
          role: 'viewer',
          expires: '2s',
        });
        expect(created.expiresAt).toBe(created.createdAt + 2_000);
        const user = client(c.url, created.token);
        expect(await outcome(user.runs.list.query({}))).toEqual({ ok: true });
        await sleep(Math.max(0, (created.expiresAt as number) - Date.now()) + 50);
        expect(await outcome(user.runs.list.query({}))).toMatchObject({
          ok: false,
          code: 'HF_UNAUTHENTICATED',
          message: `token expired on ${new Date(created.expiresAt as number).toISOString()}`,
        });
        // A lifetime that is not a duration changes nothing stored.
        expect(
          await outcome(client(c.url, adminToken).tokens.create.mutate({ name: 'x', role: 'viewer', expires: 'soon' })),
        ).toMatchObject({ ok: false, code: 'HF_BAD_INPUT' });
        expect((await client(c.url, adminToken).tokens.list.query()).map((t) => t.name)).toEqual(['admin', 'short']);
      }),
    60_000,
  );

  it(
    'a coordinator restarted with a new --admin-token refuses the old one',
    () =>
      ferret.withDatabase('hf_bootstrap', async (db) => {
        await using procs = processes();
        const oldToken = newAdminToken();
        const first = procs.track(await coordinator(db, oldToken));
        expect(await outcome(client(first.url, oldToken).tokens.list.query())).toEqual({ ok: true });
        await first.kill('SIGTERM');

        const newToken = newAdminToken();
        const second = procs.track(await coordinator(db, newToken));
        expect(await outcome(client(second.url, oldToken).tokens.list.query())).toMatchObject({
          ok: false,
          code: 'HF_UNAUTHENTICATED',
        });
        const listed = await client(second.url, newToken).tokens.list.query();
        expect(listed.map((t) => [t.id, t.role])).toEqual([['bootstrap-admin', 'admin']]);
      }),
    60_000,
  );

  it(
    'the last use of a token shows up in tokens.list',
    () =>
      ferret.withDatabase('hf_lastused', async (db) => {
        await using procs = processes();
        const adminToken = newAdminToken();
        const a = procs.track(await coordinator(db, adminToken));
        const b = procs.track(await coordinator(db, adminToken));
        const admin = client(a.url, adminToken);
        const created = await admin.tokens.create.mutate({ name: 'dash', role: 'viewer' });
        const lastUsed = async () => (await admin.tokens.list.query()).find((t) => t.id === created.id)?.lastUsedAt;
        expect(await lastUsed()).toBeNull();
        const before = Date.now();
        await client(b.url, created.token).runs.list.query({});
        let seen = await lastUsed();
        for (const deadline = Date.now() + 5_000; seen === null && Date.now() < deadline; seen = await lastUsed())
          await sleep(50);
        expect(seen).toBeGreaterThanOrEqual(before - 5);
        expect(seen).toBeLessThanOrEqual(Date.now());
      }),
    60_000,
  );

  /** Deploys the `api` fixture (two jobs, build then test) through `url`. */
  const deployApi = async (url: string, adminToken: string) => {
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    return client(url, adminToken).pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
  };

  const agentIdOf = async (agent: ServiceProcess) =>
    (await agent.waitFor(/registered as (agent-[0-9a-f-]+)/))[1] as string;

  it(
    'an agent killed with SIGKILL is marked gone after --agent-gone-after, once, with an event',
    () =>
      ferret.withDatabase('hf_gone', async (db) => {
        await using procs = processes();
        const adminToken = newAdminToken();
        const a = procs.track(await coordinator(db, adminToken, '3s'));
        procs.track(await coordinator(db, adminToken, '3s'));
        const admin = client(a.url, adminToken);
        const agent = procs.track(
          await startAgentProcess({ urls: [a.url], agentSecret, name: 'doomed', workDir: join(workDir, db.dbName) }),
        );
        const agentId = await agentIdOf(agent);
        await agent.kill('SIGKILL');
        const killedAt = Date.now();
        const stateOf = async () =>
          (await admin.agents.list.query({ includeGone: true })).find((x) => x._id === agentId)?.state;
        expect(await stateOf()).toBe('active');
        while ((await stateOf()) !== 'gone' && Date.now() - killedAt < 15_000) await sleep(100);
        const after = Date.now() - killedAt;
        console.info(`SIGKILLed agent marked gone ${after} ms after the kill (--agent-gone-after 3s)`);
        expect(await stateOf()).toBe('gone');
        // Not before its silence reached 3 s (its last heartbeat was at most 1 s before the kill).
        expect(after).toBeGreaterThanOrEqual(2_000);
        expect((await admin.agents.list.query()).map((x) => x._id)).not.toContain(agentId);
        await sleep(1_500);
        const events = (await admin.events.list.query({ limit: 100 })).events.filter(
          (e) => e.type === 'agent' && e.agentId === agentId && e.state === 'gone',
        );
        expect(events).toHaveLength(1);
      }),
    60_000,
  );

  it(
    "a gone agent's token is refused; the agent registers again with the registration secret",
    () =>
      ferret.withDatabase('hf_stopped', async (db) => {
        await using procs = processes();
        const adminToken = newAdminToken();
        const a = procs.track(await coordinator(db, adminToken, '3s'));
        const admin = client(a.url, adminToken);
        const agent = procs.track(
          // Three slots, each pulling with the token: refused together, they register once.
          await startAgentProcess({
            urls: [a.url],
            agentSecret,
            name: 'sleepy',
            workDir: join(workDir, db.dbName),
            capacity: 3,
          }),
        );
        const firstId = await agentIdOf(agent);
        // Frozen (not killed): it stops heartbeating, is marked gone, and then wakes up.
        agent.child.kill('SIGSTOP');
        const stateOf = async () =>
          (await admin.agents.list.query({ includeGone: true })).find((x) => x._id === firstId)?.state;
        for (const deadline = Date.now() + 15_000; (await stateOf()) !== 'gone' && Date.now() < deadline; )
          await sleep(100);
        expect(await stateOf()).toBe('gone');
        agent.child.kill('SIGCONT');
        const [, , secondId] = await agent.waitFor(
          /registered as (agent-[0-9a-f-]+)[\s\S]*registered as (agent-[0-9a-f-]+)/,
        );
        expect(secondId).not.toBe(firstId);
        expect(agent.output()).toMatch(/agent 'agent-[0-9a-f-]+' is gone and its token no longer accepted/);
        // Its pulls and heartbeats go on with the new token, and it registered once more only.
        await sleep(2_500);
        expect(agent.output().match(/registered as agent-/g)).toHaveLength(2);
        const live = await admin.agents.list.query();
        expect(live.map((x) => x.name)).toEqual(['sleepy']);
        expect(live[0]?._id).toBe(secondId);
      }),
    60_000,
  );

  it(
    'an agent run with --once is gone right after its job, and agents.remove deletes it',
    () =>
      ferret.withDatabase('hf_once', async (db) => {
        await using procs = processes();
        const adminToken = newAdminToken();
        const a = procs.track(await coordinator(db, adminToken));
        const admin = client(a.url, adminToken);
        const { pipeline } = await deployApi(a.url, adminToken);
        await admin.runs.trigger.mutate({ pipeline });
        const once = procs.track(
          await startAgentProcess({
            urls: [a.url],
            agentSecret,
            name: 'ephemeral',
            workDir: join(workDir, db.dbName, 'e'),
            args: ['--once'],
          }),
        );
        const onceId = await agentIdOf(once);
        await once.waitFor(/finished api\/1\/build attempt 1: succeeded/);
        await new Promise<void>((resolve) => {
          if (once.child.exitCode !== null) resolve();
          else once.child.once('exit', () => resolve());
        });
        expect(once.child.exitCode).toBe(0);
        expect(once.output()).toContain(`deregistered ${onceId}`);
        const gone = (await admin.agents.list.query({ includeGone: true })).find((x) => x._id === onceId);
        expect(gone).toMatchObject({ state: 'gone', goneAt: expect.any(Number) });

        // Only gone agents are removed.
        const live = procs.track(
          await startAgentProcess({
            urls: [a.url],
            agentSecret,
            name: 'steady',
            workDir: join(workDir, db.dbName, 's'),
          }),
        );
        const liveId = await agentIdOf(live);
        expect(await outcome(admin.agents.remove.mutate({ agentId: liveId }))).toMatchObject({
          ok: false,
          code: 'HF_CONFLICT',
        });
        expect(await admin.agents.remove.mutate({ agentId: onceId })).toEqual({ agentId: onceId, removed: true });
        const ids = (await admin.agents.list.query({ includeGone: true })).map((x) => x._id);
        expect(ids).toEqual([liveId]);
        expect(await outcome(admin.agents.remove.mutate({ agentId: onceId }))).toMatchObject({
          ok: false,
          code: 'HF_NOT_FOUND',
        });
      }),
    90_000,
  );
});
