import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '@hiveforge/sdk';

/** The pipeline file a command works on: a file, a directory holding `hiveforge.ts`, or `./hiveforge.ts`. */
export function resolveEntry(file: string | undefined): string {
  const target = resolve(file ?? '.');
  if (!existsSync(target)) throw new ConfigError(`no such file or directory: ${file ?? target}`);
  if (statSync(target).isDirectory()) {
    const candidate = join(target, 'hiveforge.ts');
    if (!existsSync(candidate)) throw new ConfigError(`no hiveforge.ts in ${target}; pass the pipeline file to use`);
    return candidate;
  }
  return target;
}
