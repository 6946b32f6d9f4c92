/**
 * How much disk the agent's workspaces use and how much is free: reported with heartbeats, and
 * checked against a job's `disk` quota while it runs. See docs/operations.md, "Disk".
 */
import { lstat, opendir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskQuotaError } from '@hiveforge/sdk';

/** What {@link directorySize} found. */
export interface DirectorySize {
  /** The apparent size of the regular files under the directory (symbolic links not followed). */
  bytes: number;
  /** Files and directories looked at. */
  entries: number;
  /** True when the walk stopped at `maxEntries`: `bytes` is then a lower bound. */
  truncated: boolean;
}

/**
 * The size of a directory tree: one `lstat` per file, directories read as streams, a missing
 * directory (or one removed during the walk) counting as empty.
 * @default maxEntries 1_000_000
 */
export async function directorySize(root: string, options: { maxEntries?: number } = {}): Promise<DirectorySize> {
  const maxEntries = options.maxEntries ?? 1_000_000;
  const result: DirectorySize = { bytes: 0, entries: 0, truncated: false };
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let handle: Awaited<ReturnType<typeof opendir>>;
    try {
      handle = await opendir(dir, { bufferSize: 256 });
    } catch {
      continue;
    }
    const files: string[] = [];
    for await (const entry of handle) {
      if (++result.entries > maxEntries) {
        result.truncated = true;
        break;
      }
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) files.push(path);
    }
    // Files of one directory are stat'ed together: the walk is bound by system calls, not by
    // the one directory read at a time.
    const sizes = await Promise.all(
      files.map((f) =>
        lstat(f).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    );
    for (const size of sizes) result.bytes += size;
    if (result.truncated) break;
  }
  return result;
}

/** Bytes free to unprivileged users on the file system holding `path`; null when it cannot be read. */
export async function freeBytes(path: string): Promise<number | null> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** What a heartbeat reports of the agent's disk. */
export interface DiskReport {
  /** The size of every workspace the agent holds. */
  workspaceBytes: number;
  /** Free bytes on the file system of the work directory. */
  freeBytes: number;
}

/** Options of {@link createWorkspaceUsage}. */
export interface WorkspaceUsageOptions {
  /** The directory that holds the workspaces. */
  workspacesDir: string;
  /** The directory whose file system's free space is reported. */
  workDir: string;
  /** A walk starts at most this often. @default 1000 */
  minIntervalMs?: number;
  /**
   * A walk that took `t` ms is not started again for `t × slowdown` ms, so that measuring a
   * large workspace takes at most 1 / slowdown of the agent's time. @default 10
   */
  slowdown?: number;
  now?: () => number;
}

/**
 * The agent's disk as heartbeats report it. `report()` answers at once with the last
 * measurement and starts a new walk in the background when the last one is old enough: at most
 * once per `minIntervalMs`, and no more often than ten times the last walk's duration (a
 * workspace that takes 300 ms to walk is measured every 3 s). The free space (one `statfs`) is
 * read on every report.
 */
export interface WorkspaceUsage {
  report(): Promise<DiskReport | null>;
}

/** Creates the disk report of an agent's workspaces (see {@link WorkspaceUsage}). */
export function createWorkspaceUsage(options: WorkspaceUsageOptions): WorkspaceUsage {
  const now = options.now ?? Date.now;
  const minIntervalMs = options.minIntervalMs ?? 1_000;
  const slowdown = options.slowdown ?? 10;
  let last: { bytes: number; at: number; tookMs: number } | null = null;
  let walking: Promise<void> | null = null;
  const walk = () => {
    const started = now();
    walking ??= directorySize(options.workspacesDir)
      .then(({ bytes }) => {
        last = { bytes, at: started, tookMs: now() - started };
      })
      .finally(() => {
        walking = null;
      });
    return walking;
  };
  return {
    async report() {
      const due = !last || now() - last.at >= Math.max(minIntervalMs, last.tookMs * slowdown);
      // The first report waits for its walk; later ones send the last measurement and refresh it.
      if (!last) await walk();
      else if (due) void walk();
      const free = await freeBytes(options.workDir);
      const measured = last as { bytes: number } | null;
      return free === null || !measured ? null : { workspaceBytes: measured.bytes, freeBytes: free };
    },
  };
}

/** Options of {@link watchDiskQuota}. */
export interface DiskQuotaOptions {
  /** The job's workspace on the agent's host. */
  path: string;
  quotaBytes: number;
  /** How often the workspace is measured; slower when a walk takes long (ten times its duration). @default 1000 */
  intervalMs?: number;
  /** Called once, when the workspace is found past its quota. */
  onExceeded(error: DiskQuotaError): void;
}

/**
 * Measures a running job's workspace about every second and calls `onExceeded` once it is
 * larger than the quota. Returns a function that stops watching.
 */
export function watchDiskQuota(options: DiskQuotaOptions): () => void {
  const intervalMs = options.intervalMs ?? 1_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    const started = Date.now();
    const { bytes } = await directorySize(options.path);
    if (stopped) return;
    if (bytes > options.quotaBytes) {
      stopped = true;
      options.onExceeded(new DiskQuotaError(options.quotaBytes, bytes));
      return;
    }
    timer = setTimeout(check, Math.max(intervalMs, (Date.now() - started) * 10));
    timer.unref();
  };
  timer = setTimeout(check, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
