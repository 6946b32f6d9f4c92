/** Decisions: the one lock of the system (see docs/store.md, "The decision rule"). */

/**
 * A decision: a document whose unique `_id` names what was decided. The insert that wins
 * decides; everyone else reads the winner's document and acts on it.
 */
export interface Decision<T = Record<string, unknown>> {
  _id: string;
  at: number;
  data: T;
}

/** The outcome of trying to insert a decision. */
export interface Decided<T> {
  /** True when this insert made the decision. */
  won: boolean;
  /** The decision in force: this caller's when it won, the winner's otherwise. */
  decision: Decision<T>;
}

/** The decisions of the Store. */
export interface DecisionStore {
  /** Inserts a decision unless one with the same `_id` exists; returns the decision in force. */
  decide<T extends object>(id: string, data: T): Promise<Decided<T>>;
  getDecision<T>(id: string): Promise<Decision<T> | null>;
}
