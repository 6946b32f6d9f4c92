import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobLines, repoRoot, runCli } from './helpers/cli.js';

/** A package tarball as npm publishes it (`package/…`), with its integrity. */
async function packTarball(dir: string, name: string, version: string) {
  const root = join(dir, `${name}-${version}`);
  await mkdir(join(root, 'package'), { recursive: true });
  await writeFile(join(root, 'package', 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
  await writeFile(join(root, 'package', 'index.js'), `module.exports = ${JSON.stringify(`${name}@${version}`)};\n`);
  const parts: Buffer[] = [];
  for await (const c of tar.create({ gzip: true, cwd: root, portable: true }, [
    'package',
  ]) as unknown as AsyncIterable<Buffer>)
    parts.push(c);
  const data = Buffer.concat(parts);
  return { name, version, data, integrity: `sha512-${createHash('sha512').update(data).digest('base64')}` };
}
type Tarball = Awaited<ReturnType<typeof packTarball>>;

describe('caches across hiveforge run invocations (npm ci against a loopback registry)', () => {
  let dir: string;
  let server: Server;
  let registry: string;
  const tarballs = new Map<string, Tarball>();
  /** Tarball downloads the registry served, by file name. */
  const downloads: string[] = [];

  /** Writes the npm project depending on `deps`, with its lockfile. */
  async function writeProject(deps: Tarball[]) {
    const project = join(dir, 'project');
    await mkdir(project, { recursive: true });
    const dependencies = Object.fromEntries(deps.map((d) => [d.name, d.version]));
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies }));
    const lock = {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies },
        ...Object.fromEntries(
          deps.map((d) => [
            `node_modules/${d.name}`,
            {
              version: d.version,
              resolved: `${registry}/${d.name}/-/${d.name}-${d.version}.tgz`,
              integrity: d.integrity,
            },
          ]),
        ),
      },
    };
    await writeFile(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
    return project;
  }

  /** `hiveforge run` of the fixture with a fresh HOME (so a fresh ~/.npm) and the shared work dir. */
  async function run(home: string) {
    await mkdir(join(dir, home), { recursive: true });
    const r = await runCli(
      [
        'run',
        join(repoRoot, 'test/fixtures/caches'),
        '--work-dir',
        join(dir, 'work'),
        '--branch',
        'main',
        '--plain',
        '--pass-env',
        'HF_TEST_PROJECT',
        '--pass-env',
        'HF_TEST_REGISTRY',
      ],
      {
        env: { HOME: join(dir, home), HF_TEST_PROJECT: join(dir, 'project'), HF_TEST_REGISTRY: registry },
        timeoutMs: 120_000,
      },
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    return jobLines(r.stdout, 'install');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-caches-run-'));
    for (const [name, version] of [
      ['hf-dep', '1.0.0'],
      ['hf-extra', '2.0.0'],
    ] as const) {
      const t = await packTarball(dir, name, version);
      tarballs.set(`${name}-${version}.tgz`, t);
    }
    server = createServer((req, res) => {
      const file = req.url?.split('/').at(-1) ?? '';
      const tarball = tarballs.get(file);
      if (req.url?.includes('/-/') && tarball) {
        downloads.push(file);
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball.data);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('run 1 saves ~/.npm; run 2 with an empty home restores it exactly and npm ci downloads nothing', async () => {
    await writeProject([tarballs.get('hf-dep-1.0.0.tgz') as Tarball]);
    const first = await run('home1');
    expect(first).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\s*cache npm-[0-9a-f]{64}: no entry to restore$/)]),
    );
    expect(first).toEqual(expect.arrayContaining([expect.stringMatching(/^\s*cache npm-[0-9a-f]{64}: saved \(/)]));
    expect(first).toContain('dep says hf-dep@1.0.0');
    expect(downloads).toEqual(['hf-dep-1.0.0.tgz']);
    // The entry is kept in the work dir, for the next local run.
    expect((await readdir(join(dir, 'work', 'cache'))).filter((f) => f.endsWith('.json'))).toHaveLength(1);

    const second = await run('home2');
    expect(second).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\s*cache npm-[0-9a-f]{64}: restored exact \(.*\) from the coordinator/),
      ]),
    );
    expect(second).toContain('dep says hf-dep@1.0.0');
    // npm found the tarball in the restored cache: it reports no fetch, and the registry served nothing more.
    expect(second.filter((l) => /npm http/.test(l))).toEqual([
      expect.stringMatching(/hf-dep-1\.0\.0\.tgz .*\(cache hit\)$/),
    ]);
    expect(downloads).toEqual(['hf-dep-1.0.0.tgz']);
    // An exact hit is not saved again.
    expect(second.some((l) => / saved \(/.test(l))).toBe(false);
  }, 240_000);

  it('a changed lockfile restores the previous entry by prefix: only the new dependency is downloaded', async () => {
    await writeProject([tarballs.get('hf-dep-1.0.0.tgz') as Tarball, tarballs.get('hf-extra-2.0.0.tgz') as Tarball]);
    const before = downloads.length;
    const third = await run('home3');
    expect(third).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\s*cache npm-[0-9a-f]{64}: restored prefix match npm-[0-9a-f]{64} /),
      ]),
    );
    expect(downloads.slice(before)).toEqual(['hf-extra-2.0.0.tgz']);
    expect(third).toEqual(expect.arrayContaining([expect.stringMatching(/: saved \(/)]));
    expect((await readdir(join(dir, 'work', 'cache'))).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  }, 240_000);
});
