import type { Filter } from 'mongodb';
import type {
  PipelineRecord,
  PipelineVersionQuery,
  PipelineVersionRecord,
  PipelineVersionSummary,
  PipelineStore,
} from '../types.js';
import { type StoredDoc, decode, encode } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';
import { upsert } from './upsert.js';

/** A version's entry in `pipeline_history`. */
export const summaryOf = (version: PipelineVersionRecord): PipelineVersionSummary => ({
  _id: version._id,
  pipeline: version.pipeline,
  createdAt: version.createdAt,
  entry: version.entry,
  jobs: version.spec.jobs.map((job) => job.name),
});

/** The pipeline methods of the MongoDB store: versions, heads and their history. */
export function createMongoPipelines({ db, call }: MongoStoreContext): PipelineStore {
  const versions = db.collection<StoredDoc>(Collections.pipelineVersions);
  const pipelines = db.collection<StoredDoc>(Collections.pipelines);
  const pipelineHistory = db.collection<StoredDoc>(Collections.pipelineHistory);
  return {
    putPipelineVersion(version) {
      return call(`putPipelineVersion ${version._id}`, async () => {
        try {
          await versions.insertOne(encode(version) as StoredDoc);
        } catch (error) {
          // Versions are content-addressed: the one stored first stays.
          if (!isDuplicateKey(error)) throw error;
        }
        // Then its entry in the pipeline's history, also insert-only and keyed by the version,
        // so it is listed once. Storing the version again (a redeploy of the same content)
        // writes an entry lost to a crash between the two inserts.
        try {
          await pipelineHistory.insertOne(encode(summaryOf(version)) as StoredDoc);
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
      });
    },
    getPipelineVersion(id) {
      return call(`getPipelineVersion ${id}`, async () => {
        const doc = await versions.findOne({ _id: id });
        return doc ? decode<PipelineVersionRecord>(doc) : null;
      });
    },
    setPipelineHead(name, versionId, at) {
      return call(`setPipelineHead ${name}`, () => upsert(pipelines, { _id: name, versionId, updatedAt: at }));
    },
    getPipeline(name) {
      return call(`getPipeline ${name}`, async () => {
        const doc = await pipelines.findOne({ _id: name });
        return doc ? decode<PipelineRecord>(doc) : null;
      });
    },
    listPipelines() {
      return call('listPipelines', async () => {
        const docs = await pipelines.find({}).toArray();
        // Sorted here, not by the server, to order names exactly as the memory adapter does.
        return docs.map((doc) => decode<PipelineRecord>(doc)).sort((a, b) => a._id.localeCompare(b._id));
      });
    },

    listPipelineVersions(pipeline: string, query: PipelineVersionQuery) {
      return call(`listPipelineVersions ${pipeline}`, async () => {
        const limit = Math.floor(query.limit);
        // A MongoDB limit of 0 means "no limit".
        if (!(limit > 0)) return [];
        // One small entry per version in `pipeline_history`, found through its index on
        // MongoDB; the versions themselves, with their bundles, are never read.
        const filter: Filter<StoredDoc> = { pipeline };
        if (query.before !== undefined) {
          const cursor = await pipelineHistory.findOne({ _id: query.before });
          if (!cursor || cursor.pipeline !== pipeline) return [];
          filter.$or = [
            { createdAt: { $lt: cursor.createdAt } },
            { createdAt: cursor.createdAt, _id: { $lt: cursor._id } },
          ];
        }
        const docs = await pipelineHistory.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
        return docs.map((doc) => decode<PipelineVersionSummary>(doc));
      });
    },
  };
}
