import { ConfigError } from '@hiveforge/sdk';
import { commandErrorOf, createClusterClient } from '../cluster-client.js';
import { loginConfigPath, parseCoordinatorUrls, writeLoginFile } from '../login-config.js';
import type { CommandIO } from './run.js';

/** Options of `hiveforge login`. */
export interface LoginCommandOptions {
  /** `URL[,URL…]`: the coordinators, tried in this order. */
  urls: string;
  /** A user API token; @default HIVEFORGE_TOKEN */
  token?: string;
}

/**
 * `hiveforge login URL[,URL…] --token T`: checks the token against the cluster (a call that
 * needs the viewer role), then stores the coordinators and the token in the login file (0600).
 * A refused token or an unreachable cluster writes nothing.
 */
export async function loginCommand(
  options: LoginCommandOptions,
  io: CommandIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const urls = parseCoordinatorUrls(options.urls, 'hiveforge login');
  const token = options.token ?? env.HIVEFORGE_TOKEN;
  if (!token) throw new ConfigError('hiveforge login: give the API token with --token T (or HIVEFORGE_TOKEN)');
  const client = createClusterClient({ urls, token });
  let pipelines: number;
  try {
    pipelines = (await client.pipelines.list.query()).length;
  } catch (error) {
    throw commandErrorOf(error, urls);
  }
  const path = loginConfigPath(env);
  await writeLoginFile(path, { urls, token });
  io.stdout.write(
    `logged in to ${urls.join(', ')}: ${pipelines} pipeline${pipelines === 1 ? '' : 's'} deployed; saved in ${path}\n`,
  );
  return 0;
}
