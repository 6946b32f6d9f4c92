import { createRequire } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/**
 * A client of the Docker engine at `DOCKER_HOST` (or /var/run/docker.sock). dockerode is loaded
 * on the first call, not when the agent's modules are: with its BuildKit and SSH dependencies
 * (grpc-js, protobufjs, ssh2) it costs every start of the `hiveforge` command 100–300 ms of
 * CPU, which the process executor and the commands that never reach an engine do not need
 * (bench/pipeline.mjs, docs/benchmarks.md). Node's module cache keeps the one loaded copy.
 */
export function createDockerClient(options?: Docker.DockerOptions): Docker {
  const Dockerode = require('dockerode') as typeof Docker;
  return new Dockerode(options);
}
