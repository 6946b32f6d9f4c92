import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, formatIssues } from '@hiveforge/sdk';
import { z } from 'zod';

/** Where `hiveforge login` keeps the coordinators and the token, and where the cluster commands read them. */
export interface LoginConfig {
  /** Coordinator base URLs; calls go to the first and move on when one cannot be reached. */
  urls: string[];
  /** A user API token (`hfu_…`). */
  token: string;
}

const LoginFileSchema = z.object({ urls: z.array(z.string().min(1)).min(1), token: z.string().min(1) }).strict();

/** The hint every "not logged in" error carries. */
export const LOGIN_HINT = 'run hiveforge login URL --token T';

/**
 * The login file: `$XDG_CONFIG_HOME/hiveforge/config.json`, `~/.config/hiveforge/config.json`
 * when XDG_CONFIG_HOME is unset or not absolute (as the XDG spec says).
 */
export function loginConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg?.startsWith('/') ? xdg : join(homedir(), '.config');
  return join(base, 'hiveforge', 'config.json');
}

/**
 * Parses coordinator URLs given as `URL[,URL…]`: each must be http(s); trailing slashes go.
 * @example parseCoordinatorUrls('http://a:7700,http://b:7700/') // ['http://a:7700', 'http://b:7700']
 */
export function parseCoordinatorUrls(text: string, where: string): string[] {
  const urls = text
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new ConfigError(`${where}: no coordinator URL given`);
  return urls.map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new ConfigError(`${where}: '${u}' is not a URL (use http://host:7700)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new ConfigError(`${where}: '${u}' is not an http(s) URL`);
    return u.replace(/\/+$/, '');
  });
}

/** Reads the login file; null when there is none. A file that is not a login file is an HF_CONFIG error. */
export async function readLoginFile(path: string): Promise<LoginConfig | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not JSON (${LOGIN_HINT} to write it again)`);
  }
  const parsed = LoginFileSchema.safeParse(json);
  if (!parsed.success)
    throw new ConfigError(
      `${path}: ${formatIssues(parsed.error)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')} (${LOGIN_HINT} to write it again)`,
    );
  return parsed.data;
}

/** Writes the login file, readable by its owner only (0600, in a 0700 directory): it holds a token. */
export async function writeLoginFile(path: string, config: LoginConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // The mode of `writeFile` applies only to a new file: an older one may have been wider.
  await chmod(path, 0o600);
}

/**
 * The coordinators and token the cluster commands use: HIVEFORGE_URL and HIVEFORGE_TOKEN, each
 * overriding its part of the login file. Neither given: an HF_CONFIG error with the login hint.
 */
export async function resolveLogin(env: NodeJS.ProcessEnv = process.env): Promise<LoginConfig & { path: string }> {
  const path = loginConfigPath(env);
  const envUrls = env.HIVEFORGE_URL?.trim() ? parseCoordinatorUrls(env.HIVEFORGE_URL, 'HIVEFORGE_URL') : null;
  const envToken = env.HIVEFORGE_TOKEN?.trim() || null;
  const file = envUrls && envToken ? null : await readLoginFile(path);
  const urls = envUrls ?? file?.urls ?? null;
  const token = envToken ?? file?.token ?? null;
  if (!urls || !token) {
    const missing = !urls && !token ? 'no coordinator and no token' : !urls ? 'no coordinator' : 'no token';
    throw new ConfigError(
      `not logged in: ${missing} (no ${path}; HIVEFORGE_URL and HIVEFORGE_TOKEN override it): ${LOGIN_HINT}`,
    );
  }
  return { urls, token, path };
}
