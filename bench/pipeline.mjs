// A Node library's pipeline through `hiveforge run` against a shell script running the same
// commands, in the same run: examples/standalone/node-lib (its own lockfile: typescript, biome,
// vitest from the npm registry), install → {lint, types, test} → build, `node_modules` passed to
// the later jobs as an artifact. The script runs `npm ci`, then lint, types and test in
// parallel, then build. Each runs `rounds` times, interleaved; the first round warms the npm
// cache and the OS's, the later ones (warm) are reported. The Docker executor runs too when an
// engine answers and the node image (scripts/docker-node-image.sh) is on it.
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median } from './lib.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(REPO, 'examples/standalone/node-lib');
const CLI = join(REPO, 'packages/cli/bin/hiveforge.js');
/** The image the Docker half runs every job in: node and npm from this host (see README). */
const NODE_IMAGE = process.env.HIVEFORGE_BENCH_NODE_IMAGE ?? `hiveforge-bench/node:${process.versions.node}`;
/** Rounds of each variant: the first warms caches, the median of the others is reported. */
const ROUNDS = Number(process.env.HIVEFORGE_BENCH_ROUNDS ?? 2);
const GOAL = 1.3;

/** The baseline: what a developer's script does, on one machine, without HiveForge. */
export const SHELL_SCRIPT = `set -e
npm ci --no-audit --no-fund
npm run lint & lint=$!
npm run types & types=$!
npm test & test=$!
wait $lint; wait $types; wait $test
npm run build
`;

/**
 * The bound: the same commands, each later job in a fresh copy of the project (as a workspace)
 * into which `node_modules` is extracted with GNU tar from one archive made after `npm ci`, as
 * HiveForge moves it between jobs (one pack, four extractions), without HiveForge. `$1` is a
 * directory outside the project for the archive and the copies.
 */
export const COPIES_SCRIPT = `set -e
T="$1"; rm -rf "$T"; mkdir -p "$T"
npm ci --no-audit --no-fund
tar -cf "$T/node_modules.tar" node_modules
job() {
  d="$T/$1"; shift
  mkdir -p "$d"
  tar --exclude=node_modules --exclude=.hiveforge -cf - . | tar -xf - -C "$d"
  tar -xf "$T/node_modules.tar" -C "$d"
  (cd "$d" && "$@")
}
job lint npm run lint & lint=$!
job types npm run types & types=$!
job test npm test & test=$!
wait $lint; wait $types; wait $test
job build npm run build
rm -rf "$T"
`;

/**
 * A directory outside the repository holding a copy of the example per variant, with
 * `@hiveforge/sdk` and `@hiveforge/actions` (the built packages, linked) in its node_modules,
 * where the example's `hiveforge.ts` finds them as it would in a project that installed them.
 */
async function layout() {
  const root = await mkdtemp(join(tmpdir(), 'hf-bench-pipeline-'));
  await mkdir(join(root, 'node_modules/@hiveforge'), { recursive: true });
  for (const pkg of ['sdk', 'actions'])
    await symlink(join(REPO, 'packages', pkg), join(root, 'node_modules/@hiveforge', pkg), 'dir');
  const copy = async (name) => {
    const dir = join(root, name);
    const skip = new Set(['node_modules', 'dist', '.hiveforge']);
    await cp(EXAMPLE, dir, {
      recursive: true,
      filter: (src) =>
        !src
          .slice(EXAMPLE.length)
          .split('/')
          .some((part) => skip.has(part)),
    });
    return dir;
  };
  return { root, copy };
}

/** Runs a command to its end, its output to a file; resolves its wall time, throws on failure. */
function timed(command, args, { cwd, log }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '' } });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', reject);
    child.on('close', async (code) => {
      const wallMs = performance.now() - started;
      const output = Buffer.concat(chunks).toString('utf8');
      await writeFile(log, output);
      if (code !== 0)
        reject(new Error(`${command} ${args.join(' ')} exited ${code}: see ${log}\n${output.slice(-2000)}`));
      else resolve({ wallMs, output });
    });
  });
}

/** The per-job durations of `hiveforge run`'s closing table (`1.2s`, `850ms`), by job. */
export function jobDurations(output) {
  const jobs = {};
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+succeeded\s+\d+\s+(\d+(?:\.\d+)?)(ms|s|m)\b/.exec(line);
    if (m) jobs[m[1]] = Number(m[2]) * (m[3] === 'ms' ? 1 : m[3] === 's' ? 1_000 : 60_000);
  }
  return jobs;
}

/** Why the Docker half cannot run, or null when it can. */
function dockerMissing() {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) return 'no Docker engine answers';
  if (spawnSync('docker', ['image', 'inspect', NODE_IMAGE], { stdio: 'ignore' }).status !== 0)
    return `the image ${NODE_IMAGE} is not on the engine: run scripts/docker-node-image.sh`;
  return null;
}

/**
 * Runs every variant `rounds` times, interleaved (shell, process, docker, shell, ...), so that
 * all see the same machine; returns each variant's runs.
 */
export async function benchPipeline({ rounds = ROUNDS, docker = true } = {}) {
  const loadBefore = loadavg()[0];
  const { root, copy } = await layout();
  const dockerSkipped = docker ? dockerMissing() : 'not asked for';
  const variants = {
    shell: { dir: await copy('shell'), runs: [] },
    copies: { dir: await copy('copies'), runs: [] },
    process: { dir: await copy('process'), runs: [] },
    ...(dockerSkipped ? {} : { docker: { dir: await copy('docker'), runs: [] } }),
  };
  const hiveforge = (executor) => [
    CLI,
    'run',
    'hiveforge.ts',
    '--plain',
    '--no-color',
    '--executor',
    executor,
    ...(executor === 'docker' ? ['--default-image', NODE_IMAGE] : []),
  ];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [name, v] of Object.entries(variants)) {
        if (v.failed) continue;
        const log = join(root, `${name}-${round}.log`);
        try {
          const r =
            name === 'shell'
              ? await timed('bash', ['-c', SHELL_SCRIPT], { cwd: v.dir, log })
              : name === 'copies'
                ? await timed('bash', ['-c', COPIES_SCRIPT, 'copies', join(root, 'copies-work')], { cwd: v.dir, log })
                : await timed(process.execPath, hiveforge(name), { cwd: v.dir, log });
          v.runs.push({ wallMs: r.wallMs, jobs: name === 'shell' || name === 'copies' ? {} : jobDurations(r.output) });
        } catch (error) {
          // A failed run is reported with its first HiveForge error, not timed.
          const message = String(error.message);
          v.failed = /HF_[A-Z_]+:.*/.exec(message)?.[0].slice(0, 300) ?? message.split('\n')[0];
        }
      }
    }
  } finally {
    if (!process.env.HIVEFORGE_BENCH_KEEP) await rm(root, { recursive: true, force: true });
  }
  const warm = (v) => (v && !v.failed ? median(v.runs.slice(rounds > 1 ? 1 : 0).map((r) => r.wallMs)) : null);
  const lastJobs = (v) => v?.runs.at(-1)?.jobs ?? {};
  return {
    rounds,
    load: [loadBefore, loadavg()[0]],
    shellMs: warm(variants.shell),
    shellFailed: variants.shell.failed ?? null,
    copiesMs: warm(variants.copies),
    copiesFailed: variants.copies.failed ?? null,
    processMs: warm(variants.process),
    processFailed: variants.process.failed ?? null,
    processJobs: lastJobs(variants.process),
    dockerMs: warm(variants.docker),
    dockerJobs: lastJobs(variants.docker),
    dockerSkipped: dockerSkipped ?? (variants.docker.failed ? `the run failed: ${variants.docker.failed}` : null),
    cold: Object.fromEntries(Object.entries(variants).map(([n, v]) => [n, v.runs[0]?.wallMs ?? Number.NaN])),
  };
}

const verdict = (ok) => (ok ? 'MET' : 'MISSED');
const jobsLine = (jobs) =>
  Object.entries(jobs)
    .map(([n, ms]) => `${n} ${fmt(ms)}`)
    .join(', ');

export function reportPipeline(r) {
  const ratio = r.processMs / r.shellMs;
  const lines = [
    `pipeline: examples/standalone/node-lib, install -> {lint, types, test} -> build, warm (median of rounds 2..${r.rounds}); load average ${r.load.map((l) => l.toFixed(1)).join(' -> ')}`,
    r.shellFailed
      ? `  shell script: FAILED: ${r.shellFailed}`
      : `  shell script (npm ci; lint & types & test; build): ${fmt(r.shellMs)}   (cold ${fmt(r.cold.shell)})`,
    r.processFailed
      ? `  hiveforge run --executor process: FAILED: ${r.processFailed}`
      : `  hiveforge run --executor process: ${fmt(r.processMs)}   ratio ${ratio.toFixed(2)}x   goal <= ${GOAL}x   ${verdict(ratio <= GOAL)}   (cold ${fmt(r.cold.process)})`,
    r.copiesFailed
      ? `  bound: FAILED: ${r.copiesFailed}`
      : `  bound (the script, node_modules moved by GNU tar into a fresh copy per job): ${fmt(r.copiesMs)}   ${(r.copiesMs / r.shellMs).toFixed(2)}x the script   (cold ${fmt(r.cold.copies)})`,
  ];
  if (!r.processFailed && !r.copiesFailed)
    lines.push(`    hiveforge run --executor process / bound: ${(r.processMs / r.copiesMs).toFixed(2)}x`);
  if (!r.processFailed) lines.push(`    jobs: ${jobsLine(r.processJobs)}`);
  if (r.dockerSkipped) lines.push(`  hiveforge run --executor docker: not measured: ${r.dockerSkipped}`);
  else
    lines.push(
      `  hiveforge run --executor docker (${NODE_IMAGE}): ${fmt(r.dockerMs)}   ratio ${(r.dockerMs / r.shellMs).toFixed(2)}x   ${(r.dockerMs / r.copiesMs).toFixed(2)}x the bound   (cold ${fmt(r.cold.docker)})`,
      `    jobs: ${jobsLine(r.dockerJobs)}`,
    );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv[2];
  console.log(reportPipeline(await benchPipeline({ docker: only !== 'process' })));
}
