// A tiny terminal dashboard built on the same typed client a web UI would use.
//
//   HIVEFORGE_URL=http://127.0.0.1:7700 HIVEFORGE_TOKEN=hfu_… npx tsx examples/custom-ui/dashboard.ts [run-id]
//
// Without a run id it lists pipelines, agents and the latest runs; with one it follows that run.
import { createHiveForgeClient, hiveforgeErrorCode } from '@hiveforge/coordinator/client';

const url = process.env.HIVEFORGE_URL ?? 'http://127.0.0.1:7700';
const token = process.env.HIVEFORGE_TOKEN;
if (!token) {
  console.error('set HIVEFORGE_TOKEN to a user API token');
  process.exit(2);
}
const hf = createHiveForgeClient({ url, token });

async function overview(): Promise<void> {
  const [pipelines, agents, runs, schedules] = await Promise.all([
    hf.pipelines.list.query(),
    hf.agents.list.query(),
    hf.runs.list.query({ limit: 10 }),
    hf.schedules.list.query(),
  ]);
  console.log(`pipelines: ${pipelines.map((p) => p._id).join(', ') || '(none)'}`);
  console.log(
    `agents:    ${agents.map((a) => `${a.name} [${a.state}, ${a.jobs.length} job(s)]`).join(', ') || '(none)'}`,
  );
  console.log(
    `schedules: ${
      schedules
        .map((s) => `${s.pipeline} '${s.cron}' next ${s.nextFireAt ? new Date(s.nextFireAt).toISOString() : 'never'}`)
        .join(', ') || '(none)'
    }`,
  );
  for (const run of runs)
    console.log(`  ${run._id.padEnd(24)} ${run.status.padEnd(10)} ${run.trigger.event} ${run.trigger.branch ?? ''}`);
}

async function follow(runId: string): Promise<void> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await hf.runs.watch.query({ runId, cursor, waitMs: 10_000 });
    cursor = batch.cursor;
    for (const event of batch.events) {
      if (event.type === 'log') process.stdout.write(event.text.replace(/^/gm, `${event.job} | `));
      else if (event.type === 'job') console.log(`• ${event.job}: ${event.state} (attempt ${event.attempt})`);
      else console.log(`run ${runId}: ${event.status}`);
    }
    if (batch.done) return;
  }
}

try {
  const runId = process.argv[2];
  await (runId ? follow(runId) : overview());
} catch (error) {
  console.error(`${hiveforgeErrorCode(error) ?? 'error'}: ${(error as Error).message}`);
  process.exitCode = 1;
}
