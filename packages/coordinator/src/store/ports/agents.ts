/**
 * Agent states. An operator sets `active`, `suspended` and `draining`; an agent is `gone` once it
 * deregistered or was not heard from for the coordinator's `agentGoneAfter`. A gone agent's token
 * is refused, and it never comes back: an agent that returns registers as a new one.
 */
export const AgentState = { active: 'active', suspended: 'suspended', draining: 'draining', gone: 'gone' } as const;
export type AgentState = (typeof AgentState)[keyof typeof AgentState];

export interface AgentRecord {
  _id: string;
  name: string;
  labels: string[];
  state: AgentState;
  tokenHash: string;
  capacity: number;
  registeredAt: number;
  lastHeartbeatAt: number;
  disk: { workspaceBytes: number; freeBytes: number } | null;
  /** When it became `gone`; absent or null while it is not. */
  goneAt?: number | null;
}

/** True when an agent offering `offered` may run a job requiring `required`: it offers every one. */
export const labelsFit = (required: readonly string[], offered: readonly string[]): boolean =>
  required.every((label) => offered.includes(label));

/** Agents of the Store. */
export interface AgentStore {
  putAgent(agent: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | null>;
  getAgentByTokenHash(hash: string): Promise<AgentRecord | null>;
  updateAgent(id: string, patch: Partial<Omit<AgentRecord, '_id'>>): Promise<void>;
  listAgents(): Promise<AgentRecord[]>;
  /** Agents not `gone` whose last heartbeat is before `before`, the longest silent first, at most `limit`. */
  findSilentAgents(before: number, limit: number): Promise<AgentRecord[]>;
  /** Deletes an agent if it is `gone`; returns whether it did (false when it is unknown or not gone). */
  removeGoneAgent(id: string): Promise<boolean>;
}
