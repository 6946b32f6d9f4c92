import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createMongoStore } from '@hiveforge/coordinator/mongodb';
import { formatBytes } from '@hiveforge/sdk';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, repoRoot, runCli } from './helpers/cli.js';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const agentSecret = randomBytes(16).toString('hex');
const adminToken = `hfu_${randomBytes(16).toString('hex')}`;

/** The one line an error prints, and nothing else on stderr: no stack. */
const expectOneErrorLine = (r: CliResult, code: string) => {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error ${code}: `));
};

/** A gzipped tar holding `../out.txt` (a path leaving the directory) and a link `link -> ../../etc`. */
async function unsafeArchive(dir: string): Promise<Buffer> {
  const root = await mkdtemp(join(dir, 'unsafe-'));
  await mkdir(join(root, 'in'));
  await writeFile(join(root, 'out.txt'), 'escaped');
  await symlink('../../etc', join(root, 'in', 'link'));
  const parts: Buffer[] = [];
  const stream = tar.create({ gzip: true, cwd: join(root, 'in'), preservePaths: true }, ['../out.txt', 'link']);
  for await (const c of stream as unknown as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('hiveforge artifacts against a running cluster (coordinator and agent processes on FerretDB)', () => {
  let ferret: FerretDB;
  let coordinator: ServiceProcess & { url: string };
  let agent: ServiceProcess;
  let dir: string;
  let env: Record<string, string>;
  const database = `hf_cli_artifacts_${process.pid}`;
  const runId = 'artifacts/1';

  const cli = (args: string[]) =>
    runCli(args, { env: { HIVEFORGE_URL: '', HIVEFORGE_TOKEN: '', ...env }, timeoutMs: 60_000 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-cli-artifacts-'));
    ferret = await startFerretDB();
    coordinator = await startCoordinatorProcess({ mongodbUri: ferret.uri, database, agentSecret, adminToken });
    agent = await startAgentProcess({
      urls: [coordinator.url],
      agentSecret,
      name: 'artifacts-agent',
      workDir: join(dir, 'agent'),
      capacity: 1,
    });
    env = { XDG_CONFIG_HOME: join(dir, 'config') };
    const login = await cli(['login', coordinator.url, '--token', adminToken]);
    expect(login.code, login.stderr).toBe(0);
    const deploy = await cli(['deploy', join(repoRoot, 'test/fixtures/artifacts')]);
    expect(deploy.code, deploy.stderr).toBe(0);
    const run = await cli(['trigger', 'artifacts', '--follow']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await agent?.kill('SIGKILL');
    await coordinator?.kill('SIGKILL');
    await ferret?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists a run's artifacts with their size, the job and attempt that uploaded them, and when; --json too", async () => {
    const listed = await cli(['artifacts', runId, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const artifacts = JSON.parse(listed.stdout) as { name: string; size: number; job: string; attempt: number }[];
    expect(artifacts).toHaveLength(1);
    const dist = artifacts[0] as (typeof artifacts)[number] & { createdAt: number };
    expect(dist).toMatchObject({ name: 'dist', job: 'build', attempt: 1 });
    expect(dist.size).toBeGreaterThan(50);
    expect(dist.createdAt).toBeGreaterThan(Date.now() - 5 * 60_000);

    const table = await cli(['artifacts', runId]);
    expect(table.code, table.stderr).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+SIZE\s+JOB\s+ATTEMPT\s+UPLOADED$/);
    // The agent is on loopback: a plain tar, a few KiB.
    expect(row).toMatch(new RegExp(`^dist\\s+${formatBytes(dist.size)}\\s+build\\s+1\\s+\\S`));
  });

  it('downloads an artifact and extracts it into a directory it creates, keeping the executable bit', async () => {
    const to = join(dir, 'out/nested');
    const r = await cli(['artifacts', runId, '--download', 'dist', '--to', to]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`downloaded dist`);
    expect(await readFile(join(to, 'dist/readme.txt'), 'utf8')).toBe('hello artifact\n');
    const script = await stat(join(to, 'dist/bin/run.sh'));
    expect(script.mode & 0o111).toBe(0o111);
    expect(await readFile(join(to, 'dist/bin/run.sh'), 'utf8')).toBe('#!/bin/sh\necho ran\n');

    const json = await cli(['artifacts', runId, '--download', 'dist', '--to', join(dir, 'json'), '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'dist', job: 'build', dir: join(dir, 'json') });
  });

  it('downloads in one read of the response, extracted as it arrives: no temporary copy of the archive', async () => {
    // A temporary directory that cannot be written: a download spooled (or checked) through a
    // temporary file fails here.
    const noTemp = join(dir, 'no-temp-dir');
    const to = join(dir, 'one-read');
    const r = await runCli(['artifacts', runId, '--download', 'dist', '--to', to], {
      env: { HIVEFORGE_URL: '', HIVEFORGE_TOKEN: '', ...env, TMPDIR: noTemp },
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/downloaded dist \(.+, \d+ entries\) into /);
    expect(await readFile(join(to, 'dist/readme.txt'), 'utf8')).toBe('hello artifact\n');
    await expect(stat(noTemp)).rejects.toThrow(/ENOENT/);
    // Nothing of the staging directory is left beside the tree.
    expect((await readdir(to)).sort()).toEqual(['dist']);
  });

  it('an unknown run or artifact is one HF_NOT_FOUND line, exit 2, and nothing is written', async () => {
    const to = join(dir, 'none');
    const artifact = await cli(['artifacts', runId, '--download', 'nope', '--to', to]);
    expectOneErrorLine(artifact, 'HF_NOT_FOUND');
    expect(artifact.stderr).toContain("run 'artifacts/1' has no artifact 'nope' (its artifacts: dist)");
    await expect(stat(to)).rejects.toThrow(/ENOENT/);
    expectOneErrorLine(await cli(['artifacts', 'artifacts/99']), 'HF_NOT_FOUND');
  });

  it('an archive with a path or a link leaving the directory is refused as HF_ARTIFACT_INVALID, and nothing is extracted', async () => {
    // Put into the store directly: the coordinator refuses such an upload.
    const store = await createMongoStore({ uri: ferret.uri, dbName: database });
    try {
      const data = await unsafeArchive(dir);
      const blob = await store.putBlob(Readable.from([data]));
      await store.putArtifact({
        _id: `${runId}/evil`,
        runId,
        name: 'evil',
        jobId: null,
        attempt: null,
        size: blob.size,
        sha256: blob.sha256,
        createdAt: Date.now(),
      });
    } finally {
      await store.close();
    }
    const base = join(dir, 'evil');
    const to = join(base, 'a/b');
    const r = await cli(['artifacts', runId, '--download', 'evil', '--to', to]);
    expectOneErrorLine(r, 'HF_ARTIFACT_INVALID');
    expect(r.stderr).toContain('unsafe path "../out.txt"');
    expect(r.stderr).toContain('link "link" points outside the archive');
    await expect(stat(join(base, 'a/out.txt'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(base).catch(() => [])).toEqual([]);
  });
});
