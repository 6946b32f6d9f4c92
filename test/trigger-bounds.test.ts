import { join } from 'node:path';
import { hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { ferretDBForSuite } from './helpers/ferretdb-suite.js';
import { startCoordinatorProcess } from './helpers/services.js';
import { databaseSnapshot } from './helpers/store-snapshot.js';

const SECRET = 'a-registration-secret-for-trigger-bounds';
const ADMIN = 'hfu_admin-token-for-trigger-bounds';

/** What a call that must fail failed with: HTTP status and HiveForge code. */
const failure = (call: Promise<unknown>) =>
  call.then(
    () => 'succeeded',
    (error: { data?: { httpStatus?: number } }) => [error.data?.httpStatus, hiveforgeErrorCode(error)],
  );

describe('trigger inputs on a coordinator process (FerretDB)', () => {
  const ferret = ferretDBForSuite();

  it('a 20 MB input, and inputs past the limits, are typed errors that store nothing', () =>
    ferret.withDatabase('hf_trigger_bounds', async ({ uri, dbName }) => {
      await using coordinator = await startCoordinatorProcess({
        mongodbUri: uri,
        database: dbName,
        agentSecret: SECRET,
        adminToken: ADMIN,
      });
      const client = createUserClient(coordinator.url, ADMIN);
      const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/inputs/hiveforge.ts'));
      await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
      const before = await databaseSnapshot(uri, dbName);

      const bad = [
        { note: 'x'.repeat(20_000_000) },
        { note: 'é'.repeat(40_000) },
        Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`n${i}`, 'y'.repeat(60_000)])),
        Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`n${i}`, 1])),
        { ['k'.repeat(101)]: 'v' },
        { note: 'fine', count: 'three' },
        { note: 'fine', target: 'moon' },
        { note: 'fine', unknown: true },
      ];
      for (const [i, inputs] of bad.entries()) {
        const answer = await failure(client.runs.trigger.mutate({ pipeline: 'inputs', inputs }));
        expect([i, answer]).toEqual([i, [400, 'HF_BAD_INPUT']]);
      }
      // Other fields of a trigger have limits too.
      for (const extra of [
        { branch: 'b'.repeat(256) },
        { commit: 'c'.repeat(101) },
        { repository: 'r'.repeat(2_001) },
      ]) {
        expect(
          await failure(client.runs.trigger.mutate({ pipeline: 'inputs', inputs: { note: 'x' }, ...extra })),
        ).toEqual([400, 'HF_BAD_INPUT']);
      }
      // No run, no job, no decision, no hint, no event.
      expect(await databaseSnapshot(uri, dbName)).toBe(before);
      expect(await client.runs.list.query({})).toEqual([]);

      // Inputs at the limits are a run, stored whole.
      const note = `${'✓'.repeat(21_000)}\u0000 tab\t`;
      const run = await client.runs.trigger.mutate({ pipeline: 'inputs', inputs: { note, count: 1e300 } });
      const { run: stored, jobs } = await client.runs.get.query({ runId: run._id });
      expect(stored.trigger.inputs).toEqual({ note, count: 1e300, dryRun: false, target: 'staging' });
      expect(jobs.map((j) => [j.name, j.state]).sort()).toEqual([
        ['build', 'queued'],
        ['deploy', 'waiting'],
        ['lint', 'queued'],
      ]);
    }));
});
