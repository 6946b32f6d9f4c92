import { type Command, InvalidArgumentError } from 'commander';
import { agentActionCommand, agentsListCommand } from './agents.js';
import { artifactsCommand } from './artifacts.js';
import { deployCommand } from './deploy.js';
import { loginCommand } from './login.js';
import type { CommandIO } from './run.js';
import { cancelCommand, logsCommand, retryCommand, runsCommand, statusCommand } from './runs.js';
import { cachesListCommand, cachesRemoveCommand } from './caches.js';
import { secretsListCommand, secretsRemoveCommand, secretsSetCommand } from './secrets.js';
import { tokensCreateCommand, tokensListCommand, tokensRevokeCommand } from './tokens.js';
import { triggerCommand } from './trigger.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not a whole number');
  return n;
};

/**
 * Registers the commands that use a running cluster: login, deploy, trigger, runs, status, logs,
 * cancel, retry, artifacts, agents, tokens, secrets, caches. Each sets the exit code through `setCode`.
 */
export function registerClusterCommands(program: Command, io: CommandIO, setCode: (code: number) => void): void {
  program
    .command('login')
    .description('check an API token against a cluster and save the coordinators and the token')
    .argument('<urls>', 'coordinator URL(s), comma-separated; calls move on to the next one that answers')
    .option('--token <token>', 'a user API token (default: HIVEFORGE_TOKEN)')
    .action(async (urls: string, o) => setCode(await loginCommand({ urls, token: o.token }, io)));

  program
    .command('deploy')
    .description('analyze, bundle and upload a pipeline; prints its version and how its jobs changed')
    .argument('[file]', 'the pipeline file, or a directory with hiveforge.ts')
    .option('--json', 'print the version and the diff as JSON')
    .action(async (file: string | undefined, o) => setCode(await deployCommand({ file, json: o.json }, io)));

  program
    .command('trigger')
    .description("start a run of a deployed pipeline's head version")
    .argument('<pipeline>', 'the pipeline name')
    .option('--branch <branch>', 'the branch the run sees')
    .option('--commit <sha>', 'the commit the run sees')
    .option('-i, --input <name=value>', 'a declared input (repeatable), typed as the pipeline declares it', collect)
    .option('--event <event>', 'the event the run stands for: manual (the default), push, pullRequest, schedule')
    .option('--fork', 'a pull request from a fork (implies --event pullRequest): its jobs get no secret')
    .option('-f, --follow', "follow the run's logs to its end; exit 0 when it succeeded, 1 otherwise")
    .option('--plain', 'while following: prefixed lines only, without the live status block on a terminal')
    .option('--json', 'print the run as JSON (without --follow)')
    .action(async (pipeline: string, o) =>
      setCode(
        await triggerCommand(
          {
            pipeline,
            branch: o.branch,
            commit: o.commit,
            input: o.input,
            event: o.event,
            fork: o.fork,
            follow: o.follow,
            plain: o.plain,
            json: o.json,
          },
          io,
        ),
      ),
    );

  program
    .command('runs')
    .description('the latest runs, newest first')
    .argument('[pipeline]', 'only this pipeline’s')
    .option('--status <status>', 'only runs with this status: running, succeeded, failed, cancelled')
    .option('-n, --limit <n>', 'how many (at most 200)', integer, 20)
    .option('--json', 'print them as JSON')
    .action(async (pipeline: string | undefined, o) =>
      setCode(await runsCommand({ pipeline, status: o.status, limit: o.limit, json: o.json }, io)),
    );

  program
    .command('status')
    .description('a run and its jobs: state, attempt, duration')
    .argument('<run>', 'the run id, PIPELINE/NUMBER')
    .option('--json', 'print the run and its jobs as JSON')
    .action(async (run: string, o) => setCode(await statusCommand({ run, json: o.json }, io)));

  program
    .command('logs')
    .description("a job's log, or every job's of a run, prefixed")
    .argument('<ref>', 'PIPELINE/NUMBER for the whole run, PIPELINE/NUMBER/JOB for one job')
    .option('-f, --follow', 'follow a running run or job until it ends; exit 0 when it succeeded, 1 otherwise')
    .option('--plain', 'while following: prefixed lines only, without the live status block on a terminal')
    .option('--json', 'print the log chunks as JSON')
    .action(async (ref: string, o) =>
      setCode(await logsCommand({ ref, follow: o.follow, json: o.json, plain: o.plain }, io)),
    );

  program
    .command('cancel')
    .description('cancel a running run')
    .argument('<run>', 'the run id, PIPELINE/NUMBER')
    .action(async (run: string) => setCode(await cancelCommand({ run }, io)));

  program
    .command('retry')
    .description(
      'run the same version again with the same trigger, as a new run (one job and what it needs, with /JOB)',
    )
    .argument('<run>', 'PIPELINE/NUMBER for every job, PIPELINE/NUMBER/JOB for one job and the jobs it needs')
    .option('-f, --follow', 'follow the new run to its end')
    .option('--plain', 'while following: prefixed lines only, without the live status block on a terminal')
    .option('--json', 'print the new run as JSON (without --follow)')
    .action(async (run: string, o) =>
      setCode(await retryCommand({ run, follow: o.follow, json: o.json, plain: o.plain }, io)),
    );

  program
    .command('artifacts')
    .description("a run's artifacts, or download one and extract it into a directory")
    .argument('<run>', 'the run id, PIPELINE/NUMBER')
    .option('--download <name>', 'download this artifact and extract it')
    .option('--to <dir>', 'where to extract it (created if missing; default: the current directory)')
    .option('--json', 'print the artifacts (or the downloaded one) as JSON')
    .action(async (run: string, o) =>
      setCode(await artifactsCommand({ run, download: o.download, to: o.to, json: o.json }, io)),
    );

  program
    .command('agents')
    .description('list agents, or suspend, resume, drain or remove one')
    .argument('[action]', 'list (the default), suspend, resume, drain or remove', 'list')
    .argument('[id]', 'the agent id, for an action')
    .option('--all', 'list gone agents too')
    .option('--json', 'print as JSON')
    .action(async (action: string, agentId: string | undefined, o) => {
      if (action === 'list') return setCode(await agentsListCommand({ all: o.all, json: o.json }, io));
      setCode(await agentActionCommand({ action, agentId: agentId ?? '', json: o.json }, io));
    });

  const tokens = program.command('tokens').description('create, list and revoke API tokens (needs an admin token)');
  tokens
    .command('create')
    .description('create a token; it is printed once, on stdout')
    .argument('<name>', 'who or what the token is for')
    .requiredOption('--role <role>', 'admin, maintainer or viewer')
    .option('--expires <duration>', 'how long it is accepted, e.g. 30d (default: never expires)')
    .option('--json', 'print the token and its record as JSON')
    .action(async (name: string, o) =>
      setCode(await tokensCreateCommand({ name, role: o.role, expires: o.expires, json: o.json }, io)),
    );
  tokens
    .command('list')
    .description('every token: id, name, role, dates (never the token itself)')
    .option('--json', 'print them as JSON')
    .action(async (o) => setCode(await tokensListCommand({ json: o.json }, io)));
  tokens
    .command('revoke')
    .description('revoke a token by its id: it is refused from the next request on')
    .argument('<id>', 'the token id (tok_…)')
    .option('--json', 'print the revoked token as JSON')
    .action(async (id: string, o) => setCode(await tokensRevokeCommand({ id, json: o.json }, io)));

  const secrets = program
    .command('secrets')
    .description('set, list and remove the secrets jobs declare (needs a maintainer or admin token)');
  secrets
    .command('set')
    .description('set a secret; its value is read from standard input (one trailing newline dropped)')
    .argument('<name>', 'the name jobs declare, A-Z 0-9 _')
    .option('--pipeline <pipeline>', 'only for this pipeline (default: every pipeline)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o) =>
      setCode(await secretsSetCommand({ name, pipeline: o.pipeline, json: o.json }, io)),
    );
  secrets
    .command('list')
    .description('every secret: name, pipeline, when set (never a value)')
    .option('--json', 'print them as JSON')
    .action(async (o) => setCode(await secretsListCommand({ json: o.json }, io)));
  secrets
    .command('rm')
    .description('remove a secret')
    .argument('<name>', 'the secret name')
    .option('--pipeline <pipeline>', 'the pipeline it is for (default: the global one)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o) =>
      setCode(await secretsRemoveCommand({ name, pipeline: o.pipeline, json: o.json }, io)),
    );

  const caches = program.command('caches').description('list and remove the cache entries jobs saved');
  caches
    .command('list')
    .description('cache entries: pipeline, branch, key, size, when last used')
    .option('--pipeline <pipeline>', 'only this pipeline')
    .option('--json', 'print them as JSON')
    .action(async (o) => setCode(await cachesListCommand({ pipeline: o.pipeline, json: o.json }, io)));
  caches
    .command('rm')
    .description('remove a cache entry (needs a maintainer or admin token)')
    .argument('<id>', 'the entry id, or a prefix of it that names one entry')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, o) => setCode(await cachesRemoveCommand({ id, json: o.json }, io)));
}
