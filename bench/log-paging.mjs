// The memory a coordinator process holds while clients page through a huge job log through
// `runs.logs`. `node bench/log-paging.mjs [MiB]` (default 200): starts `hiveforge coordinator`
// (memory store) as a child process, ships a log of that size through `agent.logs` as an agent
// does (1 MiB batches of 64 KiB chunks), then has three clients read it whole at once, two with
// 1 MiB pages and one with 4 MiB pages, while VmRSS of the coordinator is sampled every 50 ms.
// The memory store holds the log itself, so what counts is the rise over the RSS once it is stored.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createAgentClient } from '@hiveforge/agent';
import { readJobLog } from '@hiveforge/coordinator/client';
import { createUserClient, packagePipeline } from 'hiveforge';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const cliBin = fileURLToPath(new URL('../packages/cli/bin/hiveforge.js', import.meta.url));
const SECRET = 'a-registration-secret-for-the-bench';
const ADMIN = 'hfu_admin-token-for-the-log-paging-bench';
const CHUNK = 64 * 1024;

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** VmRSS and VmHWM of a process, in bytes. */
async function memoryOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Chunk `seq`: 64 KiB of numbered lines. */
function chunkText(seq) {
  let text = '';
  for (let n = 0; text.length < CHUNK; n++)
    text += `chunk ${String(seq).padStart(6, '0')} line ${String(n).padStart(5, '0')} compiling module ${(seq * 7919 + n * 104_729) % 1_000_003}\n`;
  return text.slice(0, CHUNK);
}

/** Runs the measurement for a log of `logMiB` MiB; returns what it measured. */
export async function benchLogPaging(logMiB = 200) {
  const child = spawn(
    process.execPath,
    [
      cliBin,
      'coordinator',
      '--port',
      '0',
      '--store',
      'memory',
      '--agent-secret',
      SECRET,
      '--admin-token',
      ADMIN,
      '--lease-ttl',
      '10m',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`the coordinator exited (${code}): ${out}`)));
    });
    const client = createUserClient(url, ADMIN);
    const pkg = await packagePipeline(`${repoRoot}/test/fixtures/api/hiveforge.ts`);
    await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const run = await client.runs.trigger.mutate({ pipeline: 'api' });
    const { token } = await createAgentClient({ url, token: () => undefined }).agent.register.mutate({
      secret: SECRET,
      name: 'bench',
      labels: [],
      capacity: 1,
    });
    const agent = createAgentClient({ url, token: () => token });
    const { lease } = await agent.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 });
    const count = Math.ceil((logMiB * 1024 * 1024) / CHUNK);
    for (let seq = 0; seq < count; seq += 16) {
      const chunks = [];
      for (let s = seq; s < Math.min(count, seq + 16); s++)
        chunks.push({ seq: s, offset: s * CHUNK, text: chunkText(s) });
      // 16 chunks of 64 KiB are exactly the 1 MiB a batch may carry.
      await agent.agent.logs.mutate({ jobId: lease.jobId, attempt: lease.attempt, chunks });
    }
    await agent.agent.complete.mutate({
      jobId: lease.jobId,
      attempt: lease.attempt,
      result: { status: 'succeeded', exitCode: 0, error: null, outputs: {} },
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await memoryOf(child.pid);
    let peak = before.rss;
    const sampler = setInterval(() => {
      memoryOf(child.pid).then(
        (m) => {
          peak = Math.max(peak, m.rss);
        },
        () => {},
      );
    }, 50);
    const started = performance.now();
    const read = async (maxBytes) => {
      let bytes = 0;
      let pages = 0;
      let expected = 0;
      for await (const chunks of readJobLog(client, { runId: run._id, job: lease.name, maxBytes })) {
        pages++;
        for (const c of chunks) {
          if (c.seq !== expected++) throw new Error(`chunk ${c.seq} out of place`);
          bytes += c.text.length;
        }
      }
      if (expected !== count) throw new Error(`read ${expected} of ${count} chunks`);
      return { bytes, pages };
    };
    const reads = await Promise.all([read(1024 * 1024), read(1024 * 1024), read(4 * 1024 * 1024)]);
    const ms = performance.now() - started;
    clearInterval(sampler);
    const after = await memoryOf(child.pid);
    return { logMiB, count, reads, ms, before, after, peak };
  } finally {
    child.kill('SIGKILL');
  }
}

/** The measurement as lines of text. */
export function reportLogPaging(r) {
  return [
    `log paging: 3 clients read a ${r.logMiB} MiB log (${r.count} chunks of 64 KiB) whole, at once, in ${(r.ms / 1000).toFixed(1)} s`,
    `  pages: ${r.reads.map((x) => x.pages).join(' / ')} (1 MiB, 1 MiB, 4 MiB pages)`,
    `  coordinator VmRSS with the log stored: ${mib(r.before.rss)}; sampled peak while paging: ${mib(r.peak)} (+${mib(r.peak - r.before.rss)}); after: ${mib(r.after.rss)}`,
    `  coordinator VmHWM: ${mib(r.before.hwm)} -> ${mib(r.after.hwm)} (+${mib(r.after.hwm - Math.max(r.before.rss, r.before.hwm))})`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(reportLogPaging(await benchLogPaging(Number(process.argv[2] ?? 200))));
