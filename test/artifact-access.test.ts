import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentClient } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createHiveForgeClient } from '@hiveforge/coordinator/client';
import { packagePipeline } from 'hiveforge';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const SECRET = 'a-registration-secret-for-artifacts';

/** A gzipped tar of one file holding `text`. */
async function archiveOf(text: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'hf-artifact-'));
  try {
    await writeFile(join(dir, 'a.txt'), text);
    const parts: Buffer[] = [];
    for await (const c of tar.create({ gzip: true, cwd: dir }, ['a.txt']) as unknown as AsyncIterable<Buffer>)
      parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('artifact access (real HTTP, memory store)', () => {
  it("an agent downloads artifacts only of a run it holds a current lease in; users with a viewer token read any run's", async () => {
    const store = createMemoryStore();
    await using _closeStore = { [Symbol.asyncDispose]: () => store.close() };
    await using coordinator = await createCoordinator({ store, agentSecret: SECRET, scheduler: { pullWait: '200ms' } });
    const user = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'mia', role: 'maintainer' }),
    });
    const viewerToken = await createUserToken(store, { name: 'vic', role: 'viewer' });
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    await user.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const agent = async (name: string) => {
      const anonymous = createAgentClient({ url: coordinator.url, token: () => undefined });
      const { token } = await anonymous.agent.register.mutate({ secret: SECRET, name, labels: [], capacity: 1 });
      const client = createAgentClient({ url: coordinator.url, token: () => token });
      return {
        token,
        client,
        async pull() {
          const { lease } = await client.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 });
          if (!lease) throw new Error('no job was leased');
          return lease;
        },
      };
    };
    const url = (runId: string, query: Record<string, string> = {}) =>
      `${coordinator.url}/api/artifacts/${encodeURIComponent(runId)}?${new URLSearchParams({ name: 'dist', ...query })}`;
    const download = async (runId: string, token: string | null) => {
      const res = await fetch(url(runId), { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, body, code: res.ok ? null : (JSON.parse(body.toString()) as { code: string }).code };
    };
    const upload = async (token: string, lease: { runId: string; jobId: string; attempt: number }, data: Buffer) =>
      (
        await fetch(url(lease.runId, { jobId: lease.jobId, attempt: String(lease.attempt) }), {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}` },
          body: data,
        })
      ).status;

    const a = await agent('a');
    const b = await agent('b');
    const first = await user.runs.trigger.mutate({ pipeline: 'api' });
    const second = await user.runs.trigger.mutate({ pipeline: 'api' });
    const aBuild = await a.pull();
    const bBuild = await b.pull();
    expect([aBuild.runId, bBuild.runId]).toEqual([first._id, second._id]);
    const firstDist = await archiveOf('only-for-run-1');
    const secondDist = await archiveOf('only-for-run-2');
    expect(await upload(a.token, aBuild, firstDist)).toBe(201);
    expect(await upload(b.token, bBuild, secondDist)).toBe(201);
    // An upload into a run whose job another agent holds is refused, as before.
    expect(await upload(b.token, aBuild, secondDist)).not.toBe(201);

    // Each agent reads its own run's artifact, not the other's.
    expect(await download(first._id, a.token)).toMatchObject({ status: 200, body: firstDist });
    expect(await download(second._id, b.token)).toMatchObject({ status: 200, body: secondDist });
    expect(await download(first._id, b.token)).toMatchObject({ status: 403, code: 'HF_FORBIDDEN' });
    expect(await download(second._id, a.token)).toMatchObject({ status: 403, code: 'HF_FORBIDDEN' });
    expect(await download('api/404', b.token)).toMatchObject({ status: 403, code: 'HF_FORBIDDEN' });
    // Users read any run's; nobody without a token reads any.
    expect(await download(first._id, viewerToken)).toMatchObject({ status: 200, body: firstDist });
    expect(await download(second._id, viewerToken)).toMatchObject({ status: 200, body: secondDist });
    expect(await download(first._id, null)).toMatchObject({ status: 401 });

    // Once a's lease in the first run is over, it reads that run's artifacts no more ...
    await a.client.agent.complete.mutate({
      jobId: aBuild.jobId,
      attempt: aBuild.attempt,
      result: { status: 'succeeded', exitCode: 0, error: null, outputs: {} },
    });
    expect(await download(first._id, a.token)).toMatchObject({ status: 403, code: 'HF_FORBIDDEN' });
    // ... until it leases the run's next job, which downloads what the build uploaded.
    const aTest = await a.pull();
    expect(aTest.runId).toBe(first._id);
    expect(await download(first._id, a.token)).toMatchObject({ status: 200, body: firstDist });
    expect(await download(second._id, a.token)).toMatchObject({ status: 403, code: 'HF_FORBIDDEN' });
  });
});
