import { executorNames } from '@hiveforge/agent';
import { Command, InvalidArgumentError } from 'commander';
import { commandErrorOf, errorLine } from './cluster-client.js';
import { graphCommand, validateCommand } from './commands/analyze.js';
import { registerClusterCommands } from './commands/cluster.js';
import { imagesBuildCommand, imagesListCommand } from './commands/images.js';
import { type CommandIO, runCommand } from './commands/run.js';
import { agentCommand, coordinatorCommand } from './commands/services.js';

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not a whole number');
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the `hiveforge` command; each action stores its exit code. */
export function createProgram(io: CommandIO, setCode: (code: number) => void): Command {
  const program = new Command('hiveforge')
    .description('HiveForge: pipelines as TypeScript code, run locally or on a cluster')
    .version('0.1.0')
    .option('--debug', 'print the stack of an error after its one line')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  program
    .command('run')
    .description('run a pipeline on this machine: an embedded coordinator and agent on loopback')
    .argument('[file]', 'the pipeline file, or a directory with hiveforge.ts', undefined)
    .option('-j, --job <name>', 'run only this job and what it needs (repeatable)', collect)
    .option('-c, --concurrency <n>', 'jobs run at once', integer, 4)
    .option('--event <event>', 'the trigger event jobs see (push, pullRequest, schedule, manual, local)', 'local')
    .option('--branch <branch>', 'the branch jobs see (default: the checkout’s)')
    .option(
      '-s, --secret <name[=value]>',
      'a secret for jobs that declare it; the value defaults to the environment variable',
      collect,
    )
    .option('--work-dir <dir>', 'where workspaces live (default: <project>/.hiveforge)')
    .option('--keep-workspaces', 'keep job workspaces after the run')
    .option('--artifacts <dir>', "where the run's artifacts are kept (default: <work dir>/artifacts/<run id>)")
    .option('--pass-env <name>', 'pass this variable of your environment to jobs (repeatable)', collect)
    .option(
      '--executor <name>',
      `where jobs run: auto (a container engine when a job declares an image and one answers), ${executorNames.join(', ')}`,
      'auto',
    )
    .option('--default-image <image>', 'the image of jobs that declare none, when they run in containers')
    .option('--log-limit <size>', "the most a job's log may hold, e.g. 64MiB (default 64MiB)")
    .option('--on-log-limit <action>', 'past the log limit: truncate the log (default) or fail the job')
    .option('--no-color', 'plain output')
    .option('--plain', 'prefixed log lines only, without the live status block on a terminal')
    .option(
      '-v, --verbose',
      "show each job's environment in the summary: executor, image, configuration hash, versions",
    )
    .action(async (file: string | undefined, o) => {
      setCode(
        await runCommand(
          {
            file,
            job: o.job,
            concurrency: o.concurrency,
            event: o.event,
            branch: o.branch,
            secret: o.secret,
            workDir: o.workDir,
            keepWorkspaces: o.keepWorkspaces,
            artifacts: o.artifacts,
            passEnv: o.passEnv,
            executor: o.executor,
            defaultImage: o.defaultImage,
            logLimit: o.logLimit,
            onLogLimit: o.onLogLimit,
            color: o.color === false ? false : undefined,
            plain: o.plain,
            verbose: o.verbose,
          },
          io,
        ),
      );
    });

  program
    .command('validate')
    .description('analyze a pipeline statically and report every problem with its position')
    .argument('[file]', 'the pipeline file, or a directory with hiveforge.ts')
    .option('--json', 'print the PipelineSpec or the diagnostics as JSON')
    .action(async (file: string | undefined, o) => setCode(await validateCommand({ file, json: o.json }, io)));

  program
    .command('graph')
    .description('print the job graph')
    .argument('[file]', 'the pipeline file, or a directory with hiveforge.ts')
    .option('-f, --format <format>', 'text, mermaid, dot or json', 'text')
    .action(async (file: string | undefined, o) => setCode(await graphCommand({ file, format: o.format }, io)));

  const images = program.command('images').description('build and list the images pipelines describe');
  images
    .command('build')
    .description("build each image of a pipeline on the local Docker engine; prints 'name tag id' per image")
    .argument('[file]', 'the pipeline file, or a directory with hiveforge.ts')
    .option('--registry <host:port>', 'pull missing bases from this registry (and push to it with --push)')
    .option('--push', 'push each image to REGISTRY/hiveforge/<name>:<hash>')
    .action(async (file: string | undefined, o) =>
      setCode(await imagesBuildCommand({ file, registry: o.registry, push: o.push }, io)),
    );
  images
    .command('list')
    .description('list the images on the local Docker engine that image descriptions produced')
    .option('--json', 'print them as JSON')
    .action(async (o) => setCode(await imagesListCommand({ json: o.json }, io)));

  program
    .command('coordinator')
    .description('serve the HiveForge API (stateless: run as many as you like on one store)')
    .option('--config <file>', 'a JSON config file')
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <port>', 'listen port (default 7700)')
    .option('--store <kind>', 'memory or mongodb')
    .option('--mongodb-uri <uri>', 'MongoDB replica set URI')
    .option('--mongodb-database <name>', 'database name (default hiveforge)')
    .option('--artifacts-dir <dir>', 'where the memory store keeps artifacts (default: a temporary directory)')
    .option('--agent-secret <secret>', 'the secret agents register with')
    .option('--admin-token <token>', 'the bootstrap admin API token (stored hashed; a new one replaces the old)')
    .option('--secrets-key <base64>', 'the 32-byte key that encrypts secrets (or HIVEFORGE_SECRETS_KEY)')
    .option('--secrets-key-file <path>', 'a file holding the base64 secrets key')
    .option('--secrets-key-previous <base64>', 'a previous secrets key, used only to decrypt (key rotation)')
    .option('--heartbeat-interval <duration>', 'how often agents heartbeat (default 2s)')
    .option('--lease-ttl <duration>', 'a lease not renewed this long is lost (default 6s)')
    .option('--sweep-interval <duration>', 'how often to sweep expired leases (default 1s)')
    .option('--schedule-interval <duration>', 'how often to look for due cron schedules (default 5s)')
    .option('--event-retention <duration>', 'how long events are kept (default 7d)')
    .option(
      '--agent-cache-ttl <duration>',
      "how long an agent's record is kept for its requests; others' suspends reach this coordinator that late (default 1s)",
    )
    .option('--pull-wait <duration>', 'the longest a pull waits (default 20s)')
    .option(
      '--agent-gone-after <duration>',
      'an agent not heard from this long is marked gone and its token refused (default 5m)',
    )
    .option(
      '--blob-grace <duration>',
      'a stored archive no artifact or cache entry names is deleted once last stored this long ago (default 15m)',
    )
    .option('--log-limit <size>', 'the most log a job attempt may store; past it chunks are refused (default 64MiB)')
    .option(
      '--cache-size-limit <size>',
      'the most cache entries one pipeline keeps; past it the least recently used go (default 10GiB)',
    )
    .option('--default-branch <name>', 'the branch whose cache entries every branch may restore (default main)')
    .option(
      '--store-outage-limit <duration>',
      'the longest store outage during which no lease is declared lost (default 2m)',
    )
    .action(async (o) => setCode(await coordinatorCommand(o, io)));

  program
    .command('agent')
    .description('pull jobs from coordinators and run them')
    .option('--config <file>', 'a JSON config file')
    .option('--url <urls>', 'coordinator URL(s), comma-separated')
    .option('--agent-secret <secret>', 'the registration secret')
    .option('--name <name>', 'the agent name (default: host name)')
    .option('--labels <labels>', 'comma-separated labels')
    .option('--capacity <n>', 'jobs at once (default 1)')
    .option('--work-dir <dir>', 'bundles and workspaces (default /tmp/hiveforge-agent)')
    .option('--once', 'exit after one job')
    .option('--pass-env <name>', "pass this variable of the agent's environment to jobs (repeatable)", collect)
    .option(
      '--secret <name>',
      "a secret of this agent, its value read from the variable of that name in the agent's environment, for jobs that declare it (repeatable)",
      collect,
    )
    .option('--executor <name>', `where jobs run: ${executorNames.join(' or ')} (default process)`)
    .option('--default-image <image>', 'the image of jobs that declare none, for the docker executor')
    .option('--registry <host:port>', "pull images' missing bases from this registry (and push to it with --push)")
    .option('--push', 'push each image the agent builds to REGISTRY/hiveforge/<name>:<hash>')
    .option('--log-limit <size>', "the most a job's log may hold, e.g. 64MiB (default 64MiB)")
    .option('--on-log-limit <action>', 'past the log limit: truncate the log (default) or fail the job')
    .option('--call-timeout <duration>', 'how long a call to a coordinator may take (default 30s)')
    .option(
      '--store-outage-limit <duration>',
      "how long a job's calls are retried while the coordinators or their store are out (default 2m)",
    )
    .option('--retry-for <duration>', 'the older name of --store-outage-limit')
    .option(
      '--local-cache-size <size>',
      'the most cache entries kept in <work-dir>/caches, restored without a transfer; 0 keeps none (default 2GiB)',
    )
    .action(async (o) => setCode(await agentCommand(o, io)));

  registerClusterCommands(program, io, setCode);
  return program;
}

/**
 * Runs the CLI; resolves with the process exit code. Every error is one line,
 * `error HF_CODE: message`, and exit code 2; `--debug` adds its stack.
 */
export async function main(
  argv: readonly string[],
  io: CommandIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let code = 0;
  const program = createProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    const e = error as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 2;
    io.stderr.write(errorLine(commandErrorOf(error), argv.includes('--debug')));
    return 2;
  }
}
