import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  ConfigError,
  ExecutorUnavailableError,
  type ImageSpec,
  OutOfMemoryError,
  isHiveForgeError,
} from '@hiveforge/sdk';
import type Docker from 'dockerode';
import { createDockerClient } from '../docker-client.js';
import { insideWorkspace, packPath, unpackInto } from '../archive.js';
import type { ImageBuilder, PreparedImage } from '../images/types.js';
import type { ExecOptions, Executor, JobEnvironment, PrepareOptions, StartOptions } from './types.js';

/** Labels every job container carries, so one agent recognises its own. */
export const ContainerLabels = {
  agent: 'dev.hiveforge.agent',
  run: 'dev.hiveforge.run',
  job: 'dev.hiveforge.job',
  attempt: 'dev.hiveforge.attempt',
  /** A hash of the agent's work directory: one agent's containers across its restarts. */
  workdir: 'dev.hiveforge.workdir',
} as const;

/** Options of the Docker executor. */
export interface DockerExecutorOptions {
  /** Builds (or finds) the image of a job's `image()` description. */
  images: ImageBuilder;
  /** The agent's work directory: its containers are labelled with a hash of it. */
  workDir: string;
  /** The engine. @default `createDockerClient()` (DOCKER_HOST, or /var/run/docker.sock) */
  docker?: Docker;
  /** The image of jobs that declare none. @default null (such jobs fail with a clear error) */
  defaultImage?: string | null;
  /** The user commands run as, unless the job asks for another. @default the agent's uid:gid */
  user?: string;
  /** Where the workspace is mounted in the container. @default '/workspace' */
  containerWorkspace?: string;
  /**
   * The job's home in the container (`HOME` of its commands unless its `env` sets one): a fresh
   * host directory per job attempt under `<workDir>/homes`, bind-mounted there as the workspace
   * is, so `~` cache paths (npm's `~/.npm`) are saved and restored. @default '/hiveforge/home'
   */
  containerHome?: string;
  /** After a cancel, how long commands may take to exit before they are killed. @default 5000 */
  killGraceMs?: number;
  /**
   * Absolute host directories mounted read-only at the same path in every job container: the
   * agent's configuration names them, never a lease. `hiveforge run` mounts its project, so
   * that `checkout` copies the run's local sources in a container as it does on the host.
   * @default []
   */
  readOnlyMounts?: readonly string[];
}

const SHELL = '/bin/sh';

/** A short stable hash of an agent's work directory, for the `dev.hiveforge.workdir` label. */
export function workDirLabel(workDir: string): string {
  return createHash('sha256').update(workDir).digest('hex').slice(0, 16);
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;
const isGone = (error: unknown) => statusOf(error) === 404 || statusOf(error) === 409;

/** Wraps an engine failure: the engine is unreachable or refused (not the job's fault). */
function engineError(what: string, error: unknown): Error {
  if (isHiveForgeError(error)) return error;
  const message = (error as Error).message ?? String(error);
  return new ExecutorUnavailableError(`docker: ${what}: ${message.trim().split('\n')[0]}`, { cause: error });
}

/** `memory.events` (cgroup v2) or `memory.oom_control` (v1): how many OOM kills the container had. */
const OOM_COUNT = [
  'n=0',
  'for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do',
  '  [ -r "$f" ] || continue',
  '  while read -r k v; do [ "$k" = oom_kill ] && n=$v; done < "$f"',
  'done',
  'echo "$n"',
].join('\n');

/**
 * Runs each job attempt in its own container: the workspace bind-mounted, every command through
 * the exec API as the agent's uid:gid (so workspace files stay the agent's), the job's
 * environment and secrets given to each exec, never to the image or the container's create
 * options. Containers are labelled (`dev.hiveforge.*`) so the agent's next start removes what a
 * killed life left behind.
 */
export function createDockerExecutor(options: DockerExecutorOptions): Executor {
  const docker = options.docker ?? createDockerClient();
  const mount = options.containerWorkspace ?? '/workspace';
  const homeMount = options.containerHome ?? '/hiveforge/home';
  const grace = options.killGraceMs ?? 5_000;
  const defaultUser =
    options.user ?? (process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : undefined);
  const workdirHash = workDirLabel(options.workDir);
  const readOnly = (options.readOnlyMounts ?? []).map((path) => {
    if (!posix.isAbsolute(path))
      throw new ConfigError(`docker: a read-only mount must be an absolute path, not ${path}`);
    return { Type: 'bind' as const, Source: path, Target: path, ReadOnly: true };
  });
  // No cache of its own: the builder shares one build per tag among its callers, each with its
  // own log and cancellation, and finds a built image with one inspect.
  const imageOf = (image: ImageSpec | null, prepare?: PrepareOptions): Promise<PreparedImage> =>
    image
      ? options.images.ensure(image, { signal: prepare?.signal, onLog: prepare?.onLog, strict: prepare?.strict })
      : defaultImage();

  const defaultImage = async (): Promise<PreparedImage> => {
    const name = options.defaultImage;
    if (!name)
      throw new ConfigError(
        'the job declares no image and this agent has no default image: set --default-image, or give the job an image()',
      );
    try {
      return { tag: name, id: (await docker.getImage(name).inspect()).Id };
    } catch (error) {
      if (statusOf(error) === 404)
        throw new ConfigError(`the default image ${name} is not on this Docker engine: pull or import it first`);
      throw engineError(`inspecting the default image ${name}`, error);
    }
  };

  return {
    name: 'docker',
    prepare: (image, prepare) => imageOf(image, prepare),
    async start(start: StartOptions): Promise<JobEnvironment> {
      const resources = start.resources ?? null;
      const memory = resources?.memoryBytes ?? null;
      const labels: Record<string, string> = {
        [ContainerLabels.workdir]: workdirHash,
        [ContainerLabels.job]: start.job ?? start.jobId,
      };
      if (start.agentId) labels[ContainerLabels.agent] = start.agentId;
      if (start.runId) labels[ContainerLabels.run] = start.runId;
      if (start.attempt !== undefined) labels[ContainerLabels.attempt] = String(start.attempt);
      // The job's home: a fresh host directory, owned by the agent's user as the workspace is.
      await mkdir(join(options.workDir, 'homes'), { recursive: true, mode: 0o700 });
      const hostHome = await mkdtemp(join(options.workDir, 'homes', 'home-'));
      // No Env here: the job's environment and secrets go to each exec, so `docker inspect` of a
      // job container shows none of them.
      const create = async (imageId: string) =>
        docker.createContainer({
          Image: imageId,
          // The container's first process: a shell reading a stdin that is never written nor
          // closed, so it waits until the container is removed. Commands come through exec.
          Entrypoint: [SHELL],
          OpenStdin: true,
          StdinOnce: false,
          Tty: false,
          WorkingDir: mount,
          Labels: labels,
          HostConfig: {
            Mounts: [
              { Type: 'bind', Source: start.hostWorkspace, Target: mount },
              { Type: 'bind', Source: hostHome, Target: homeMount },
              ...readOnly,
            ],
            NetworkMode: 'bridge',
            ...(memory !== null ? { Memory: memory, MemorySwap: memory } : {}),
            ...(resources?.cpus ? { NanoCpus: Math.round(resources.cpus * 1e9) } : {}),
          },
        });
      let container: Docker.Container;
      try {
        container = await create((await imageOf(start.image)).id).catch(async (error) => {
          // The image was removed from the engine since it was prepared: make it again, once.
          if (statusOf(error) !== 404 || !start.image) throw error;
          return create((await imageOf(start.image)).id);
        });
      } catch (error) {
        await rm(hostHome, { recursive: true, force: true });
        throw engineError(`creating the job's container from ${start.image?.tag ?? options.defaultImage}`, error);
      }
      try {
        await container.start();
      } catch (error) {
        await container.remove({ force: true }).catch(() => {});
        await rm(hostHome, { recursive: true, force: true });
        throw engineError("starting the job's container", error);
      }
      const user = start.user === 'root' ? '0:0' : (start.user ?? defaultUser);
      const baseEnv = { HOME: homeMount, ...start.env };
      let oomKills = 0;
      let removed: Promise<void> | null = null;

      /** Runs a command to its end; `onAbort` interrupts it. */
      const run = async (
        cmd: string[],
        exec: { env?: Record<string, string>; user?: string; cwd: string } & Pick<
          ExecOptions,
          'onStdout' | 'onStderr' | 'signal'
        >,
      ): Promise<number> => {
        const created = await container.exec({
          Cmd: cmd,
          Env: exec.env ? Object.entries(exec.env).map(([k, v]) => `${k}=${v}`) : undefined,
          User: exec.user,
          WorkingDir: exec.cwd,
          AttachStdout: true,
          AttachStderr: true,
        });
        const stream = await created.start({ hijack: true, stdin: false });
        // The socket flows into `gate`, which demuxStream reads: pausing the socket while a
        // receiver asks to wait (backpressure) stops the command's output at the engine, with at
        // most the gate's buffer still on its way.
        const gate = new PassThrough();
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        let waiting = 0;
        const receive = (to: ExecOptions['onStdout']) => (chunk: Buffer) => {
          const wait = to?.(chunk);
          if (!wait) return;
          waiting++;
          stream.pause();
          const settled = () => {
            if (--waiting === 0) stream.resume();
          };
          wait.then(settled, settled);
        };
        stdout.on('data', receive(exec.onStdout));
        stderr.on('data', receive(exec.onStderr));
        stream.pipe(gate);
        stream.on('close', () => gate.end());
        docker.modem.demuxStream(gate, stdout, stderr);
        let killTimer: NodeJS.Timeout | undefined;
        const onAbort = () => {
          // Docker has no "kill an exec": signal every process of the container but its idle
          // first one, then kill what is left after the grace period.
          void signalAll('TERM');
          killTimer = setTimeout(() => void signalAll('KILL'), grace);
        };
        if (exec.signal?.aborted) onAbort();
        exec.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          // The gate ends once demuxStream has read all the command's output.
          await new Promise<void>((resolve, reject) => {
            gate.on('end', resolve);
            stream.on('error', reject);
          });
          // The stream can end a moment before the engine records the exit code.
          for (let i = 0; ; i++) {
            const info = await created.inspect();
            if (!info.Running && info.ExitCode !== null) return info.ExitCode;
            if (i > 200) throw new ExecutorUnavailableError('docker: the exec ended without an exit status');
            await new Promise((r) => setTimeout(r, Math.min(50, 2 ** i)));
          }
        } finally {
          clearTimeout(killTimer);
          exec.signal?.removeEventListener('abort', onAbort);
        }
      };

      const signalAll = (signal: 'TERM' | 'KILL') =>
        run([SHELL, '-c', `kill -${signal} -1`], { user: '0:0', cwd: '/' }).catch(() => {});

      const memoryKilled = async (): Promise<boolean> => {
        let out = '';
        const onStdout = (c: Buffer) => {
          out += c.toString();
        };
        await run([SHELL, '-c', OOM_COUNT], { user: '0:0', cwd: '/', onStdout }).catch(() => {});
        const count = Number.parseInt(out.trim(), 10);
        if (Number.isFinite(count) && count > oomKills) {
          oomKills = count;
          return true;
        }
        const state = await container.inspect().catch(() => null);
        return state?.State.OOMKilled === true;
      };

      return {
        workspace: mount,
        async exec(command, exec) {
          const cwd = exec.cwd ? insideWorkspace(start.hostWorkspace, exec.cwd) : start.hostWorkspace;
          const inContainer = posix.join(mount, cwd.slice(start.hostWorkspace.length).split('\\').join('/'));
          let exitCode: number;
          try {
            exitCode = await run([SHELL, '-c', command], {
              env: { ...baseEnv, ...exec.env },
              user,
              cwd: inContainer,
              signal: exec.signal,
              onStdout: exec.onStdout,
              onStderr: exec.onStderr,
            });
          } catch (error) {
            throw engineError('running a command in the job container', error);
          }
          // 137 is SIGKILL: the memory limit's OOM killer, or our own kill after a cancel.
          if (exitCode === 137 && !exec.signal?.aborted && (await memoryKilled()))
            throw new OutOfMemoryError(command, memory);
          return { exitCode };
        },
        copyOut: (path, options) => packPath(start.hostWorkspace, path, options),
        copyIn: async (archiveFile, path) => void (await unpackInto(start.hostWorkspace, { file: archiveFile }, path)),
        // What is bind-mounted is on the host: the workspace, and the job's home (`~` is its HOME,
        // which a job's env may set elsewhere: then only inside those two). Other paths are not.
        cachePath: (path) => {
          const home = baseEnv.HOME ?? homeMount;
          const inContainer =
            path === '~' || path.startsWith('~/')
              ? posix.join(home, path.slice(1))
              : path.startsWith('~')
                ? null
                : path;
          if (inContainer === null) return null;
          const under = (root: string) => inContainer === root || inContainer.startsWith(`${root}/`);
          if (under(homeMount)) return insideWorkspace(hostHome, inContainer.slice(homeMount.length + 1) || '.');
          if (under(mount)) return insideWorkspace(start.hostWorkspace, inContainer.slice(mount.length + 1) || '.');
          return posix.isAbsolute(inContainer) ? null : insideWorkspace(start.hostWorkspace, inContainer);
        },
        teardown() {
          removed ??= container
            .remove({ force: true, v: true })
            .catch((error) => {
              if (!isGone(error)) throw engineError("removing the job's container", error);
            })
            .finally(() => rm(hostHome, { recursive: true, force: true }));
          return removed;
        },
      };
    },
    async reap() {
      let containers: Docker.ContainerInfo[];
      try {
        containers = await docker.listContainers({
          all: true,
          filters: { label: [`${ContainerLabels.workdir}=${workdirHash}`] },
        });
      } catch (error) {
        throw engineError("listing this agent's containers", error);
      }
      await Promise.all(
        containers.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch((error) => {
              if (!isGone(error)) throw engineError(`removing the container ${c.Id.slice(0, 12)}`, error);
            }),
        ),
      );
      // And the jobs' homes of that life (this one has started none yet).
      await rm(join(options.workDir, 'homes'), { recursive: true, force: true });
      return containers.length;
    },
  };
}

/**
 * True when a Docker engine answers within `timeoutMs`.
 * @default timeoutMs 1500
 */
export async function dockerAnswers(docker: Docker = createDockerClient(), timeoutMs = 1_500): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      docker.ping().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
