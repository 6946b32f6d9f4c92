import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from './types.js';
import { describeDecisionsContract } from './contract/decisions.js';
import { describeJobsContract } from './contract/jobs.js';
import { describeLogsContract } from './contract/logs.js';
import { describePipelinesContract } from './contract/pipelines.js';
import { describeRunsContract } from './contract/runs.js';
import { describeArtifactsContract } from './contract/artifacts.js';
import { describeCachesContract } from './contract/caches.js';
import { describeBlobsContract } from './contract/blobs.js';
import { describeBlobCollectionContract } from './contract/blob-collection.js';
import { describeAgentsContract } from './contract/agents.js';
import { describeTokensContract } from './contract/tokens.js';
import { describeSecretsContract } from './contract/secrets.js';
import { describeSchedulesContract } from './contract/schedules.js';
import { describeEventsContract } from './contract/events.js';
import { describeWakeupsContract } from './contract/wakeups.js';

export {
  makeAgent,
  makeJob,
  makeJobSpec,
  makeLogChunk,
  makeManualTrigger,
  makePipelineSpec,
  makeSecret,
  makeToken,
} from './contract/fixtures.js';

/**
 * The contract every Store adapter keeps. Run it against each adapter:
 * `describeStoreContract('memory', () => createMemoryStore())`.
 */
export function describeStoreContract(name: string, factory: () => Promise<Store> | Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });
    const storeOf = () => store;

    describeDecisionsContract(storeOf);
    describeJobsContract(storeOf);
    describeLogsContract(storeOf);
    describePipelinesContract(storeOf);
    describeRunsContract(storeOf);
    describeArtifactsContract(storeOf);
    describeCachesContract(storeOf);
    describeBlobsContract(storeOf);
    describeBlobCollectionContract(storeOf);
    describeAgentsContract(storeOf);
    describeTokensContract(storeOf);
    describeSecretsContract(storeOf);
    describeSchedulesContract(storeOf);
    describeEventsContract(storeOf);
    describeWakeupsContract(storeOf);
  });
}
