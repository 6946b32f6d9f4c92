import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HiveForgeError } from '@hiveforge/sdk';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { answerJson } from './body-limits.js';
import { hiveForgeErrorOf, toTRPCError } from './trpc.js';

/**
 * Answers a plain HTTP route's failure as JSON, with the status the tRPC API gives the same error
 * (so an error has one status wherever it is answered): a HiveForge error as its `toJSON()`,
 * anything else as `HF_INTERNAL` 500. A body refused before it was read is dropped unread.
 */
export function answerError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  const hf: HiveForgeError | null = hiveForgeErrorOf(error);
  answerJson(
    req,
    res,
    hf ? getHTTPStatusCodeFromError(toTRPCError(hf)) : 500,
    hf ? hf.toJSON() : { code: 'HF_INTERNAL', message: 'internal error' },
  );
}
