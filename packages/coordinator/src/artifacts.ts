import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  BadInputError,
  ForbiddenError,
  NotFoundError,
  StoreUnavailableError,
  UnauthenticatedError,
} from '@hiveforge/sdk';
import { createArchiveCheck } from '@hiveforge/archive';
import { type AgentTokenCache, type TokenMemo, resolveCaller } from './auth.js';
import { declaredLength, tooLarge } from './body-limits.js';
import { answerError } from './http-errors.js';
import type { Scheduler } from './scheduler/index.js';
import type { Store } from './store/types.js';

/**
 * The largest artifact archive accepted, in bytes: archives stream through to the store, so this
 * bounds disk, not memory. @default 10 GiB
 */
export const MAX_ARTIFACT_BYTES = 10 * 1024 * 1024 * 1024;

const NAME = /^[@A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$/;

/** Whether an `If-None-Match` header names the entity tag `"<sha256>"`. */
function etagMatches(header: string | undefined, sha256: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === `"${sha256}"`;
  });
}

/**
 * `PUT /api/artifacts/:runId?name=&jobId=&attempt=` (agents, fenced by attempt) and
 * `GET /api/artifacts/:runId?name=` (viewers, and agents holding a current lease in the run).
 * Archives are tar, gzipped or not (they tell by their first bytes). Both directions stream: an
 * upload flows through the archive check into the store's blob storage (a refused one is never
 * stored; identical content is stored once), a download from the blob to the socket, so memory
 * stays bounded whatever the size. An upload may carry its SHA-256 (`x-sha256`); a download
 * always does, also as its entity tag (`etag: "<sha256>"`), and a GET whose `If-None-Match`
 * names it is answered 304 without the bytes (an agent extracting the archive it uploaded).
 */
export function createArtifactsHandler(deps: {
  store: Store;
  scheduler: Scheduler;
  agents?: AgentTokenCache;
  tokens?: TokenMemo;
  /** The largest archive accepted. @default MAX_ARTIFACT_BYTES (10 GiB) */
  maxArtifactBytes?: number;
}) {
  const maxBytes = deps.maxArtifactBytes ?? MAX_ARTIFACT_BYTES;
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
        if ((declaredLength(req) ?? 0) > maxBytes) throw tooLarge(maxBytes, 'the artifact');
        const sent = req.headers['x-sha256'];
        if (sent !== undefined && (typeof sent !== 'string' || !/^[0-9a-f]{64}$/.test(sent)))
          throw new BadInputError('x-sha256 must be a SHA-256 in lowercase hex');
        const check = createArchiveCheck();
        // Not `req` itself: a refused body must stay unread, not destroyed, so its answer arrives.
        const blob = await deps.store.putBlob(req.iterator({ destroyOnReturn: false }), {
          maxBytes,
          what: 'the artifact',
          expectedSha256: sent,
          verify: check,
        });
        // The attempt may have been fenced while its bytes arrived: it must not name them then.
        await deps.scheduler.requireCurrentAttempt(caller.agent._id, jobId, attempt);
        const meta = {
          _id: id,
          runId,
          name,
          jobId,
          attempt,
          size: blob.size,
          sha256: blob.sha256,
          createdAt: Date.now(),
        };
        await deps.store.putArtifact(meta);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...meta, entries: check.entries().length, stored: blob.created }));
        return;
      }
      if (req.method === 'GET') {
        // Agents read a run's artifacts only while they run one of its jobs; every user token
        // (viewer and up) reads them all.
        if (caller.kind === 'agent')
          await deps.scheduler.requireLeaseInRun({ agentId: caller.agent._id, runId, what: 'artifacts' });
        const artifact = await deps.store.getArtifact(id);
        if (!artifact) throw new NotFoundError(`run '${runId}' has no artifact '${name}'`);
        // The SHA-256 is the archive's entity tag: a client holding those bytes already gets none.
        if (etagMatches(req.headers['if-none-match'], artifact.sha256)) {
          res.writeHead(304, { etag: `"${artifact.sha256}"`, 'x-sha256': artifact.sha256 }).end();
          return;
        }
        const blob = await deps.store.openBlob(artifact.sha256);
        if (!blob) throw new StoreUnavailableError(`the bytes of artifact '${id}' are missing from the store`);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': blob.size,
          'x-sha256': artifact.sha256,
          etag: `"${artifact.sha256}"`,
        });
        // A failure now cuts the response short: the client sees fewer bytes than announced.
        await pipeline(blob.stream, res).catch(() => {});
        return;
      }
      res.writeHead(405, { allow: 'GET, PUT' }).end();
    } catch (error) {
      answerError(req, res, error);
    }
  };
}
