import { execFileSync } from 'node:child_process';
import { dockerAnswers, workDirLabel } from '@hiveforge/agent';
import { repoRoot } from './cli.js';

/** The base image scripts/docker-test-images.sh imports. */
export const TEST_IMAGE = 'hiveforge-test/busybox:1';

/**
 * True when a Docker engine answers, after importing the test base images. With CI=true a
 * missing engine is an error, never a skip; elsewhere the caller skips and the reason is printed.
 */
export async function dockerForTests(): Promise<boolean> {
  if (!(await dockerAnswers(undefined, 3_000))) {
    if (process.env.CI) throw new Error('CI=true and no Docker engine answers: the Docker tests cannot run');
    console.warn('Docker tests skipped: no Docker engine answers on DOCKER_HOST or /var/run/docker.sock');
    return false;
  }
  execFileSync('bash', ['scripts/docker-test-images.sh'], { cwd: repoRoot, stdio: 'inherit' });
  return true;
}

/** The ids of the containers (running or not) an agent with this work directory owns, from the engine. */
export function containersOf(workDir: string): string[] {
  return execFileSync(
    'docker',
    ['ps', '-a', '-q', '--no-trunc', '--filter', `label=dev.hiveforge.workdir=${workDirLabel(workDir)}`],
    { encoding: 'utf8' },
  )
    .split('\n')
    .filter(Boolean);
}

/** `docker inspect` of a container, as the engine reports it. */
export function inspect(id: string): string {
  return execFileSync('docker', ['inspect', id], { encoding: 'utf8' });
}
