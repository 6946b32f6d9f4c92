import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  ArtifactInvalidError,
  BadInputError,
  ForbiddenError,
  type HiveForgeError,
  NotFoundError,
  UnauthenticatedError,
} from '@hiveforge/sdk';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import * as tar from 'tar';
import { type AgentTokenCache, type TokenMemo, resolveCaller } from './auth.js';
import { answerJson, readLimitedBody } from './body-limits.js';
import type { Scheduler } from './scheduler/index.js';
import type { Store } from './store/types.js';
import { hiveForgeErrorOf, toTRPCError } from './trpc.js';

/** The largest artifact archive accepted, in bytes. @default 256 MiB */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

const NAME = /^[@A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$/;

/**
 * Lists the entries of a gzipped tar archive, refusing absolute paths, `..` segments, links
 * that point outside the archive and anything that is not a file, directory or symlink.
 */
export async function checkArchive(data: Buffer): Promise<string[]> {
  const entries: string[] = [];
  const problems: string[] = [];
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const path = entry.path;
      const bad = (p: string) => p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.split(/[\\/]/).includes('..');
      if (bad(path)) problems.push(`unsafe path "${path}"`);
      else if (!['File', 'OldFile', 'Directory', 'SymbolicLink'].includes(entry.type))
        problems.push(`unsupported entry type ${entry.type} at "${path}"`);
      else if (entry.type === 'SymbolicLink' && bad(entry.linkpath ?? ''))
        problems.push(`link "${path}" points outside the archive`);
      entries.push(path);
      entry.resume();
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('error', reject);
      parser.on('end', resolve);
      Readable.from([data]).pipe(parser as unknown as NodeJS.WritableStream);
    });
  } catch (error) {
    throw new ArtifactInvalidError(`the artifact is not a valid .tar.gz archive: ${(error as Error).message}`);
  }
  if (problems.length) throw new ArtifactInvalidError(`the artifact archive is unsafe: ${problems.join('; ')}`);
  return entries;
}

function fail(req: IncomingMessage, res: ServerResponse, error: unknown) {
  const hf: HiveForgeError | null = hiveForgeErrorOf(error);
  // The same mapping as the tRPC API's, so an error has one status wherever it is answered. A
  // body refused before it was read (a bad token, a stale attempt) is dropped unread.
  answerJson(
    req,
    res,
    hf ? getHTTPStatusCodeFromError(toTRPCError(hf)) : 500,
    hf ? hf.toJSON() : { code: 'HF_INTERNAL', message: 'internal error' },
  );
}

/**
 * `PUT /api/artifacts/:runId?name=&jobId=&attempt=` (agents, fenced by attempt) and
 * `GET /api/artifacts/:runId?name=` (viewers, and agents holding a current lease in the run).
 * Archives are gzipped tar.
 */
export function createArtifactsHandler(deps: {
  store: Store;
  scheduler: Scheduler;
  agents?: AgentTokenCache;
  tokens?: TokenMemo;
}) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    try {
      const runId = decodeURIComponent(url.pathname.slice('/api/artifacts/'.length));
      const name = url.searchParams.get('name') ?? '';
      if (!runId || !NAME.test(name))
        throw new BadInputError('artifact requests need a run id and a name of letters, digits, "_", ".", "-"');
      const caller = await resolveCaller(deps.store, req.headers.authorization, deps);
      if (caller.kind === 'anonymous') throw new UnauthenticatedError(caller.refused ?? 'missing or invalid token');
      const id = `${runId}/${name}`;
      if (req.method === 'PUT') {
        if (caller.kind !== 'agent') throw new ForbiddenError('only agents upload artifacts');
        const jobId = url.searchParams.get('jobId') ?? '';
        const attempt = Number(url.searchParams.get('attempt'));
        if (!Number.isInteger(attempt) || attempt < 1) throw new BadInputError('attempt must be a positive integer');
        const job = await deps.scheduler.requireCurrentAttempt(caller.agent._id, jobId, attempt);
        if (job.runId !== runId) throw new ForbiddenError(`job '${jobId}' is not part of run '${runId}'`);
        const data = await readLimitedBody(req, MAX_ARTIFACT_BYTES, 'the artifact');
        const entries = await checkArchive(data);
        const meta = {
          _id: id,
          runId,
          name,
          jobId,
          attempt,
          size: data.length,
          sha256: createHash('sha256').update(data).digest('hex'),
          createdAt: Date.now(),
        };
        await deps.store.putArtifact(meta, data);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...meta, entries: entries.length }));
        return;
      }
      if (req.method === 'GET') {
        // Agents read a run's artifacts only while they run one of its jobs; every user token
        // (viewer and up) reads them all.
        if (caller.kind === 'agent')
          await deps.scheduler.requireLeaseInRun({ agentId: caller.agent._id, runId, what: 'artifacts' });
        const artifact = await deps.store.getArtifact(id);
        if (!artifact) throw new NotFoundError(`run '${runId}' has no artifact '${name}'`);
        res.writeHead(200, {
          'content-type': 'application/gzip',
          'content-length': artifact.data.length,
          'x-sha256': artifact.meta.sha256,
        });
        res.end(artifact.data);
        return;
      }
      res.writeHead(405, { allow: 'GET, PUT' }).end();
    } catch (error) {
      fail(req, res, error);
    }
  };
}
