import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { MongoClient } from 'mongodb';

/** Options of {@link startFerretDB}. */
export interface FerretDBOptions {
  /** The port to listen on (127.0.0.1 only). @default a free port */
  port?: number;
  /** The `ferretdb` binary. @default found by {@link findFerretDBBinary} */
  bin?: string;
  /** How long to wait for the server to answer `ping`. @default 30_000 */
  startTimeoutMs?: number;
  /** Where its data directory (SQLite files, removed at stop) is made. @default `os.tmpdir()` */
  parentDir?: string;
}

/** A running FerretDB: a MongoDB-wire server over SQLite in a temporary directory. */
export interface FerretDB extends AsyncDisposable {
  /** A connection string for the official driver, e.g. `mongodb://127.0.0.1:41234/?replicaSet=rs0&directConnection=true`. */
  readonly uri: string;
  readonly port: number;
  /** The temporary directory holding the SQLite files; removed by `stop()`. */
  readonly dataDir: string;
  /** The server's process id (a new one after {@link FerretDB.restart}). */
  readonly pid: number;
  /** What the binary's `--version` reports. */
  readonly build: FerretDBBuild;
  /**
   * Kills the server with SIGKILL, as a crash would, and keeps its data directory: the files
   * are as the dead process left them. Resolves once the process has exited.
   */
  kill(): Promise<void>;
  /**
   * Starts the server again on the same data directory and port (after {@link FerretDB.kill})
   * and waits until it answers `ping`; clients that connected before reconnect to it.
   */
  restart(): Promise<void>;
  /** Stops the server and removes its data. Safe to call more than once. */
  stop(): Promise<void>;
}

/** The `version` and `package` lines of `ferretdb --version`. */
export interface FerretDBBuild {
  /** e.g. `v1.24.2` */
  readonly version: string;
  /**
   * `source+sqlite-id-index` when built by scripts/install-ferretdb.sh with its `_id` index
   * change (lookups by `_id` use the index), `source` for the unchanged source.
   */
  readonly package: string;
}

/** Reads the build of a `ferretdb` binary from its `--version` output. */
export function ferretDBBuild(bin: string): Promise<FerretDBBuild> {
  return new Promise((resolve, reject) => {
    execFile(bin, ['--version'], { timeout: 10_000 }, (error, stdout) => {
      if (error) return reject(new Error(`${bin} --version failed: ${error.message}`, { cause: error }));
      const line = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? 'unknown';
      resolve({ version: line('version'), package: line('package') });
    });
  });
}

/** The replica set name FerretDB reports in `hello`, so that drivers accept `replicaSet=rs0`. */
export const FERRETDB_REPLICA_SET = 'rs0';

const INSTALL_HINT =
  'install it with scripts/install-ferretdb.sh (needs Go and the Go module proxy), or point HIVEFORGE_FERRETDB_BIN at a FerretDB 1.24 binary';

const isExecutable = async (path: string) => {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const goEnv = (names: readonly string[]) =>
  new Promise<string[]>((resolve) => {
    execFile('go', ['env', ...names], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? [] : stdout.split('\n').map((line) => line.trim()));
    });
  });

/**
 * Finds the `ferretdb` binary: `$HIVEFORGE_FERRETDB_BIN`, then `$(go env GOBIN)` and
 * `$(go env GOPATH)/bin` (where scripts/install-ferretdb.sh puts it), then `PATH`.
 */
export async function findFerretDBBinary(): Promise<string> {
  const fromEnv = process.env.HIVEFORGE_FERRETDB_BIN;
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new Error(`HIVEFORGE_FERRETDB_BIN=${fromEnv} is not an executable file`);
  }
  const [gobin = '', gopath = ''] = await goEnv(['GOBIN', 'GOPATH']);
  const candidates = [
    ...(gobin ? [join(gobin, 'ferretdb')] : []),
    ...gopath
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'bin', 'ferretdb')),
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'ferretdb')),
  ];
  for (const candidate of candidates) if (await isExecutable(candidate)) return candidate;
  throw new Error(`no ferretdb binary found (looked at ${candidates.join(', ') || 'nothing'}); ${INSTALL_HINT}`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Keeps the last few kilobytes a process printed, for error messages. */
function tail(limit = 8_192) {
  let text = '';
  return {
    push(chunk: Buffer | string) {
      text = (text + chunk.toString()).slice(-limit);
    },
    get text() {
      return text.trim();
    },
  };
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  // FerretDB waits a few seconds for connected clients to leave; a second SIGTERM stops it at
  // once, which is what a test wants (the data is thrown away anyway).
  if (await waitForExit(child, 250)) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, 5_000)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 5_000);
}

/** Pings until the server answers, the process exits, or the deadline passes. */
async function waitUntilReady(uri: string, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited(child)) {
      throw new Error(`ferretdb exited (code ${child.exitCode}, signal ${child.signalCode}) before answering ping`);
    }
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.close().catch(() => undefined);
    }
    await sleep(100);
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`ferretdb did not answer ping at ${uri} within ${timeoutMs} ms: ${reason}`);
}

/**
 * Starts FerretDB 1.24 with its SQLite backend in a fresh temporary directory, listening on
 * 127.0.0.1 only, and waits until it answers `ping`. It reports itself as the primary of
 * replica set `rs0`, so the URI names the set and connects directly.
 *
 * @example
 * ```ts
 * await using db = await startFerretDB();
 * const store = await createMongoStore({ uri: db.uri, dbName: 'test' });
 * ```
 */
export async function startFerretDB(options: FerretDBOptions = {}): Promise<FerretDB> {
  const bin = options.bin ?? (await findFerretDBBinary());
  const build = await ferretDBBuild(bin);
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  // A port found free can be taken before ferretdb binds it; with a port of our choosing, try again.
  const attempts = options.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort());
    const dataDir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'hiveforge-ferretdb-'));
    const uri = `mongodb://127.0.0.1:${port}/?replicaSet=${FERRETDB_REPLICA_SET}&directConnection=true`;
    const args = [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      `--repl-set-name=${FERRETDB_REPLICA_SET}`,
      // No debug/metrics HTTP listener: it would need a port of its own.
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ];
    let output = tail();
    let child: ChildProcess | undefined;
    /** Starts the process on this port and data directory and waits until it answers. */
    const launch = async () => {
      output = tail();
      const started = spawn(bin, args, { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      const out = output;
      started.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
      started.stderr?.on('data', (chunk: Buffer) => out.push(chunk));
      await new Promise<void>((resolve, reject) => {
        started.once('spawn', resolve);
        started.once('error', reject);
      });
      await waitUntilReady(uri, started, timeoutMs);
      if (!started.pid) throw new Error('ferretdb has no pid');
    };
    // If the test process exits without stopping the server, do not leave it running.
    const killOnExit = () => child?.kill('SIGKILL');
    process.once('exit', killOnExit);

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        if (child) await stopProcess(child);
        await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
      })();
      return stopping;
    };
    const kill = async () => {
      if (!child || exited(child)) return;
      child.kill('SIGKILL');
      await waitForExit(child, 10_000);
    };
    const restart = async () => {
      if (stopping) throw new Error('ferretdb was stopped; its data is gone');
      if (child && !exited(child)) throw new Error('ferretdb is running; kill() it before restart()');
      try {
        await launch();
      } catch (error) {
        throw new Error(
          `could not restart ${bin} ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}\n${output.text}`,
          { cause: error },
        );
      }
    };

    try {
      await launch();
      return {
        uri,
        port,
        dataDir,
        get pid() {
          return child?.pid as number;
        },
        build,
        kill,
        restart,
        stop,
        [Symbol.asyncDispose]: stop,
      };
    } catch (error) {
      await stop();
      lastError = new Error(
        `could not start ${bin} ${args.join(' ')}: ${error instanceof Error ? error.message : String(error)}\n${output.text}`,
        { cause: error },
      );
      if (!/address already in use/i.test(output.text)) break;
    }
  }
  throw lastError;
}
