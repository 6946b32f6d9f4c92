import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { jobLog } from './helpers/job-log.js';
import { startAgentProcess, startCoordinatorProcess } from './helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a permanent error may take to reach the job from the call (retries back off for 120 s). */
const FAIL_FAST_MS = 1_000;

describe('permanent artifact errors fail the job at once (coordinator and agent processes)', () => {
  it('a missing artifact download and refused uploads fail with their HF_* code in under 1 s from the call', async () => {
    const agentSecret = randomBytes(16).toString('hex');
    const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
    const workDir = await mkdtemp(join(tmpdir(), 'hf-fail-fast-'));
    await using _workDir = { [Symbol.asyncDispose]: () => rm(workDir, { recursive: true, force: true }) };
    await using coordinator = await startCoordinatorProcess({ agentSecret, adminToken });
    await using agent = await startAgentProcess({
      urls: [coordinator.url],
      agentSecret,
      name: 'fail-fast-agent',
      workDir,
      capacity: 3,
    });
    const client = createUserClient(coordinator.url, adminToken);
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/fail-fast/hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    const run = await client.runs.trigger.mutate({ pipeline });

    // Retried as if transient, each call would go on for two minutes: give up long before.
    const deadline = Date.now() + 30_000;
    while ((await client.runs.get.query({ runId: run._id })).run.status === 'running') {
      if (Date.now() > deadline)
        throw new Error(`the run did not end within 30 s: a permanent error was retried\n${agent.output()}`);
      await sleep(100);
    }
    const { jobs } = await client.runs.get.query({ runId: run._id });
    const expected: Record<string, { code: string; message: RegExp; call: string }> = {
      'missing-download': { code: 'HF_NOT_FOUND', message: /has no artifact 'never-uploaded'/, call: 'download' },
      'refused-upload': { code: 'HF_ARTIFACT_INVALID', message: /name of letters, digits/, call: 'upload' },
      'escaping-upload': { code: 'HF_ARTIFACT_INVALID', message: /leads out of the workspace/, call: 'upload' },
    };
    for (const [name, want] of Object.entries(expected)) {
      const job = jobs.find((j) => j.name === name);
      expect(job, name).toMatchObject({ state: 'failed', attempt: 1 });
      expect(job?.error, name).toMatch(new RegExp(`^${want.code}: `));
      expect(job?.error, name).toMatch(want.message);
      const log = (await jobLog(client, { runId: run._id, job: name })).map((c) => c.text).join('');
      const took = new RegExp(`\\[fail-fast\\] ${want.call} failed after (\\d+) ms`).exec(log);
      expect(took, `${name} log:\n${log}`).not.toBeNull();
      const ms = Number(took?.[1]);
      console.info(`${name}: ${want.code} reached the job ${ms} ms after the call`);
      expect(ms, name).toBeLessThan(FAIL_FAST_MS);
    }
  });
});
