import { ConfigError } from '@hiveforge/sdk';
import { createDockerClient } from '../docker-client.js';
import { createImageBuilder } from '../images/image-builder.js';
import { type DockerExecutorOptions, createDockerExecutor, dockerAnswers } from './docker.js';
import { type ProcessExecutorOptions, createProcessExecutor } from './process.js';
import type { Executor } from './types.js';

/** What every executor is created from: the agent's configuration, whichever executor it names. */
export interface ExecutorConfig {
  /** The agent's work directory. */
  workDir: string;
  /** The image of jobs that declare none, where the executor runs images. @default null */
  defaultImage?: string | null;
  /**
   * A registry (`host:port`) that images' bases are pulled from when the engine lacks them, and
   * that built images are pushed to with `push`, where the executor builds images.
   * @default null (bases come from their own registries; nothing is pushed)
   */
  registry?: string | null;
  /** Push each image the executor builds (or finds) to `registry`. @default false */
  push?: boolean;
  /** Options of the process executor. */
  process?: ProcessExecutorOptions;
  /** Options of the Docker executor beyond the shared ones. */
  docker?: Partial<Omit<DockerExecutorOptions, 'workDir' | 'defaultImage'>>;
}

/** One executor of the registry. */
export interface ExecutorEntry {
  /** Whether jobs' `image()` is honoured (a job that declares one runs in it). */
  readonly runsImages: boolean;
  /** True when the executor's engine answers (quickly: used to choose one). */
  available(config: ExecutorConfig): Promise<boolean>;
  create(config: ExecutorConfig): Executor;
}

/** The executors an agent can be configured with, by name. */
export const executors = {
  process: {
    runsImages: false,
    available: async () => true,
    create: (config) => createProcessExecutor(config.process),
  },
  docker: {
    runsImages: true,
    available: (config) => dockerAnswers(config.docker?.docker),
    create(config) {
      const docker = config.docker?.docker ?? createDockerClient();
      return createDockerExecutor({
        ...config.docker,
        docker,
        images:
          config.docker?.images ??
          createImageBuilder({ docker, registry: config.registry ?? undefined, push: config.push ?? false }),
        workDir: config.workDir,
        defaultImage: config.defaultImage ?? null,
      });
    },
  },
} as const satisfies Record<string, ExecutorEntry>;

/** The name of a registered executor. */
export type ExecutorName = keyof typeof executors;

/** The registered executors' names, for flags and config validation. */
export const executorNames = Object.keys(executors) as ExecutorName[];

/** True when `name` is a registered executor. */
export function isExecutorName(name: string): name is ExecutorName {
  return Object.hasOwn(executors, name);
}

/**
 * Creates the executor of a name.
 * @throws ConfigError for a name no executor is registered under.
 */
export function createExecutor(name: string, config: ExecutorConfig): Executor {
  if (!isExecutorName(name))
    throw new ConfigError(`unknown executor "${name}": use one of ${executorNames.join(', ')}`);
  return executors[name].create(config);
}

/**
 * The executor `auto` means: when jobs declare images, the first executor that runs images and
 * answers; otherwise (or when none answers) the first that runs on the host.
 */
export async function chooseExecutor(config: ExecutorConfig, options: { needsImages: boolean }): Promise<ExecutorName> {
  if (options.needsImages) {
    for (const name of executorNames) {
      const entry: ExecutorEntry = executors[name];
      if (entry.runsImages && (await entry.available(config))) return name;
    }
  }
  return executorNames.find((n) => !(executors[n] as ExecutorEntry).runsImages) ?? 'process';
}
