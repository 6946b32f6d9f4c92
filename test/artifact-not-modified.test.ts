import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createAgentClient, createArtifactClient, spoolTo } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createHiveForgeClient } from '@hiveforge/coordinator/client';
import { packagePipeline } from 'hiveforge';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const SECRET = 'a-registration-secret-for-not-modified';

/** A plain tar of one file holding `text`. */
async function tarOf(dir: string, text: string): Promise<Buffer> {
  await writeFile(join(dir, 'a.txt'), text);
  const parts: Buffer[] = [];
  for await (const c of tar.create({ cwd: dir, portable: true }, ['a.txt']) as unknown as AsyncIterable<Buffer>)
    parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('artifact downloads answered "not modified" (real HTTP, memory store)', () => {
  it('an agent that names the SHA-256 it holds gets a 304 and no bytes, other bytes when the artifact differs, and nothing without a lease', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-not-modified-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    const store = createMemoryStore();
    await using _closeStore = { [Symbol.asyncDispose]: () => store.close() };
    await using coordinator = await createCoordinator({ store, agentSecret: SECRET, scheduler: { pullWait: '200ms' } });
    const user = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'mia', role: 'maintainer' }),
    });
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    await user.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const anonymous = createAgentClient({ url: coordinator.url, token: () => undefined });
    const { token } = await anonymous.agent.register.mutate({ secret: SECRET, name: 'a', labels: [], capacity: 1 });
    const client = createAgentClient({ url: coordinator.url, token: () => token });
    const artifacts = createArtifactClient({ url: coordinator.url, token: () => token });
    const run = await user.runs.trigger.mutate({ pipeline: 'api' });
    const { lease } = await client.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 });
    if (!lease) throw new Error('no job was leased');

    const spool = await spoolTo(Readable.from([await tarOf(dir, 'first')]), join(dir, 'first.tar'));
    await artifacts.upload({
      runId: run._id,
      name: 'dist',
      jobId: lease.jobId,
      attempt: lease.attempt,
      archive: spool,
    });
    const into = join(dir, 'download.tar');
    // Held: nothing is sent, nothing written.
    expect(
      await artifacts.download({ runId: run._id, name: 'dist', file: into, unlessSha256: spool.sha256 }),
    ).toBeNull();
    await expect(readFile(into)).rejects.toThrow(/ENOENT/);
    // Another hash: the artifact's bytes, as without one.
    const other = 'f'.repeat(64);
    const fetched = await artifacts.download({ runId: run._id, name: 'dist', file: into, unlessSha256: other });
    expect(fetched?.sha256).toBe(spool.sha256);
    expect((await readFile(into)).equals(await readFile(spool.file))).toBe(true);

    // The entity tag is the SHA-256, on a plain GET too.
    const url = `${coordinator.url}/api/artifacts/${encodeURIComponent(run._id)}?name=dist`;
    const plain = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await plain.arrayBuffer();
    expect(plain.headers.get('etag')).toBe(`"${spool.sha256}"`);

    // The lease check comes first: once the job is over, knowing the hash answers nothing.
    await client.agent.complete.mutate({
      jobId: lease.jobId,
      attempt: lease.attempt,
      result: { status: 'succeeded', exitCode: 0, error: null, outputs: {} },
    });
    const refused = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, 'if-none-match': `"${spool.sha256}"` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('HF_FORBIDDEN');
  });
});
