/**
 * Whether an agent gzips the archives it uploads. Over loopback (the embedded `hiveforge run`,
 * or an agent beside its coordinator) bytes cost nothing to move and gzip costs CPU on both
 * sides (a 90 MB `node_modules`: seconds to pack and unpack, for a third of the bytes), so
 * archives go as plain tars; over a network the first MiB is compressed on trial.
 * @module
 */

/** `auto`: gzip when the first MiB compresses; `none`: always a plain tar. */
export type ArchiveCompression = 'auto' | 'none';

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether a coordinator URL names this machine through loopback (127.0.0.1, localhost, ::1). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return LOOPBACK_HOSTS.has(host) || host.endsWith('.localhost');
}

/**
 * The compression of an agent's uploads: `none` when every coordinator it may talk to is on
 * loopback, `auto` otherwise (one remote coordinator is enough to keep the trial).
 */
export function archiveCompressionFor(urls: readonly string[]): ArchiveCompression {
  return urls.length > 0 && urls.every(isLoopbackUrl) ? 'none' : 'auto';
}
