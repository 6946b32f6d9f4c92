import { ConflictError } from '@hiveforge/sdk';
import type { AgentRecord, AgentStore } from '../types.js';
import { type StoredDoc, decode, setOf } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';
import { upsert } from './upsert.js';

/** At most this many agents' token hashes are remembered by a store (then all are forgotten). */
const AGENT_IDS_BY_TOKEN_HASH = 4_096;

/** The agent methods of the MongoDB store. */
export function createMongoAgents({ db, call }: MongoStoreContext): AgentStore {
  const agents = db.collection<StoredDoc>(Collections.agents);
  /** Agent ids found by token hash (see `getAgentByTokenHash`); checked on every read. */
  const agentIdsByTokenHash = new Map<string, string>();
  return {
    putAgent(agent) {
      return call(`putAgent ${agent._id}`, async () => {
        try {
          await upsert(agents, agent);
        } catch (error) {
          if (isDuplicateKey(error)) {
            throw new ConflictError(`another agent than '${agent._id}' has the same token hash`, { cause: error });
          }
          throw error;
        }
      });
    },
    getAgent(id) {
      return call(`getAgent ${id}`, async () => {
        const doc = await agents.findOne({ _id: id });
        return doc ? decode<AgentRecord>(doc) : null;
      });
    },
    getAgentByTokenHash(hash) {
      return call('getAgentByTokenHash', async () => {
        // Every agent call looks its agent up by token hash. Found once, the agent is read by
        // `_id` (which FerretDB serves from its index, unlike any other filter) and its hash
        // checked, so a changed token or a re-registered agent is never mistaken for this one.
        const known = agentIdsByTokenHash.get(hash);
        if (known !== undefined) {
          const doc = await agents.findOne({ _id: known });
          if (doc?.tokenHash === hash) return decode<AgentRecord>(doc);
          agentIdsByTokenHash.delete(hash);
        }
        const doc = await agents.findOne({ tokenHash: hash });
        if (!doc) return null;
        if (agentIdsByTokenHash.size >= AGENT_IDS_BY_TOKEN_HASH) agentIdsByTokenHash.clear();
        agentIdsByTokenHash.set(hash, doc._id);
        return decode<AgentRecord>(doc);
      });
    },
    updateAgent(id, patch) {
      return call(`updateAgent ${id}`, async () => {
        const fields = setOf(patch);
        if (!fields) return;
        try {
          await agents.updateOne({ _id: id }, { $set: fields });
        } catch (error) {
          if (isDuplicateKey(error)) {
            throw new ConflictError(`another agent than '${id}' has the same token hash`, { cause: error });
          }
          throw error;
        }
      });
    },
    listAgents() {
      return call('listAgents', async () => {
        const docs = await agents.find({}).sort({ registeredAt: 1, _id: 1 }).toArray();
        return docs.map((doc) => decode<AgentRecord>(doc));
      });
    },
    findSilentAgents(before, limit) {
      return call('findSilentAgents', async () => {
        const docs = await agents
          .find({ state: { $ne: 'gone' }, lastHeartbeatAt: { $lt: before } })
          .sort({ lastHeartbeatAt: 1, _id: 1 })
          .limit(limit)
          .toArray();
        return docs.map((doc) => decode<AgentRecord>(doc));
      });
    },
    removeGoneAgent(id) {
      return call(`removeGoneAgent ${id}`, async () => {
        return (await agents.deleteOne({ _id: id, state: 'gone' })).deletedCount === 1;
      });
    },
  };
}
