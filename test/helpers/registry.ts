import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A real image registry (Debian's `docker-registry`) on loopback, storing in a temporary directory. */
export interface LoopbackRegistry extends AsyncDisposable {
  /** `127.0.0.1:<port>`: the registry part of image references. */
  readonly host: string;
  /** GETs a path of the registry's HTTP API (`/v2/_catalog`) and parses the JSON answer. */
  api<T>(path: string): Promise<T>;
}

function findBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'docker-registry');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error('the registry tests need `docker-registry` on PATH (Debian: apt-get install -y docker-registry)');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `docker-registry serve` on a free 127.0.0.1 port; stops it and removes its storage at dispose. */
export async function startRegistry(): Promise<LoopbackRegistry> {
  const bin = findBinary();
  const dir = await mkdtemp(join(tmpdir(), 'hf-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (response.ok) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on ${host}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    async api<T>(path: string) {
      const response = await fetch(`http://${host}${path}`);
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    [Symbol.asyncDispose]: stop,
  };
}
