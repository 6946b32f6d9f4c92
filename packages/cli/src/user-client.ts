import type { Diagnostic } from '@hiveforge/coordinator';
import { createHiveForgeClient, type HiveForgeClient } from '@hiveforge/coordinator/client';

/** A typed client of the coordinator API for people and tools. */
export type UserClient = HiveForgeClient;

/** Creates a user client for a coordinator URL and an API token. */
export function createUserClient(url: string, token: string): UserClient {
  return createHiveForgeClient({ url, token });
}

/** The diagnostics a failed deploy carries, if any. */
export function diagnosticsOf(error: unknown): Diagnostic[] | null {
  const details = (error as { data?: { details?: unknown; hiveforgeCode?: string } }).data;
  return details?.hiveforgeCode === 'HF_ANALYSIS_FAILED' && Array.isArray(details.details)
    ? (details.details as Diagnostic[])
    : null;
}
