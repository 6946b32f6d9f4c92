import { type HiveForgeClient, type LogChunk, readJobLog } from '@hiveforge/coordinator/client';

/** A job's whole log as stored so far, read page by page through `runs.logs`. */
export async function jobLog(
  client: HiveForgeClient,
  input: { runId: string; job: string; attempt?: number },
): Promise<LogChunk[]> {
  const chunks: LogChunk[] = [];
  for await (const page of readJobLog(client, input)) chunks.push(...page);
  return chunks;
}
