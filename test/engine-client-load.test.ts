import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliBin, repoRoot } from './helpers/cli.js';

/** The files of dockerode the CommonJS loader holds after `script` ran in a fresh Node. */
function dockerodeFilesAfter(script: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `${script}
const { createRequire } = await import('node:module');
const cache = createRequire(import.meta.url).cache;
console.log(JSON.stringify(Object.keys(cache).filter((k) => k.includes('/node_modules/dockerode/'))));`,
    ],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as string[];
}

describe('the Docker engine client is loaded when first used', () => {
  it("loading the hiveforge command and the agent's modules does not load dockerode", () => {
    expect(
      dockerodeFilesAfter(
        `await import(${JSON.stringify(cliBin.replace(/bin\/hiveforge\.js$/, 'dist/main.js'))}); await import('@hiveforge/agent');`,
      ),
    ).toEqual([]);
  });

  it('creating a client (as the docker executor and image builder do) loads it', () => {
    const files = dockerodeFilesAfter(
      "const { createDockerClient } = await import('@hiveforge/agent'); createDockerClient();",
    );
    expect(files.length).toBeGreaterThan(0);
  });
});
