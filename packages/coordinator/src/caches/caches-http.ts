/**
 * The agents' cache API, beside the artifacts' (archives are raw bodies, not JSON):
 * - `POST /api/caches/restore` `{ jobId, attempt, key, restoreKeys, version }`: which entry the
 *   job restores (`{ hit, entry }`), marking it used;
 * - `GET /api/caches/entries/<id>?jobId=&attempt=`: an entry's archive (gzipped tar);
 * - `PUT /api/caches/entries?jobId=&attempt=&key=&version=`: saves an archive under the key
 *   (201 `{ saved: true, entry, evicted }`, or 200 `{ saved: false, entry }` when the key exists).
 * Every request is an agent's, for a job attempt it currently holds: the entry's pipeline and
 * branch are that job's run's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { BadInputError, ForbiddenError, NotFoundError, UnauthenticatedError, checkCacheKey } from '@hiveforge/sdk';
import { z } from 'zod';
import { type AgentTokenCache, type TokenMemo, resolveCaller } from '../auth.js';
import { answerJson, declaredLength, readLimitedBody, tooLarge } from '../body-limits.js';
import { answerError } from '../http-errors.js';
import type { Scheduler } from '../scheduler/index.js';
import type { Store } from '../store/types.js';
import type { CacheScope, CacheService } from './cache-service.js';

const Version = z.string().regex(/^[0-9a-f]{64}$/, 'a version is 64 hex digits (a SHA-256)');
const Attempt = z.coerce.number().int().min(1);
const JobId = z.string().min(1).max(500);
const RestoreRequest = z.object({
  jobId: JobId,
  attempt: Attempt,
  key: z.string(),
  restoreKeys: z.array(z.string()).max(16).default([]),
  version: Version,
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new BadInputError(`cache request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

/** Creates the handler of `/api/caches/…`. */
export function createCachesHandler(deps: {
  store: Store;
  scheduler: Scheduler;
  caches: CacheService;
  agents?: AgentTokenCache;
  tokens?: TokenMemo;
  /** The time tokens' expiry is checked against. @default Date.now */
  now?: () => number;
}) {
  /** The pipeline and branch of the job attempt the agent holds; fenced when it holds none. */
  const scopeOf = async (agentId: string, jobId: string, attempt: number): Promise<CacheScope> => {
    const job = await deps.scheduler.requireCurrentAttempt(agentId, jobId, attempt);
    const run = await deps.store.getRun(job.runId);
    if (!run) throw new NotFoundError(`run '${job.runId}' of job '${jobId}' is gone`);
    return { pipeline: run.pipeline, branch: run.trigger.branch };
  };
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    try {
      const caller = await resolveCaller(deps.store, req.headers.authorization, deps);
      if (caller.kind === 'anonymous') throw new UnauthenticatedError(caller.refused ?? 'missing or invalid token');
      if (caller.kind !== 'agent') throw new ForbiddenError('only agents restore and save caches');
      const agentId = caller.agent._id;
      const path = url.pathname.slice('/api/caches/'.length);
      if (path === 'restore' && req.method === 'POST') {
        const body = await readLimitedBody(req, 64 * 1024, 'a cache restore request');
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          throw new BadInputError('a cache restore request is a JSON object');
        }
        const request = parse(RestoreRequest, json);
        checkCacheKey('the cache key', request.key);
        for (const [i, k] of request.restoreKeys.entries()) checkCacheKey(`restore key ${i + 1}`, k);
        const scope = await scopeOf(agentId, request.jobId, request.attempt);
        const answer = await deps.caches.restore(scope, request);
        return answerJson(req, res, 200, answer);
      }
      const jobId = parse(JobId, url.searchParams.get('jobId') ?? '');
      const attempt = parse(Attempt, url.searchParams.get('attempt') ?? '');
      if (path === 'entries' && req.method === 'PUT') {
        const key = checkCacheKey('the cache key', url.searchParams.get('key') ?? '');
        const version = parse(Version, url.searchParams.get('version') ?? '');
        const sent = req.headers['x-sha256'];
        if (sent !== undefined && (typeof sent !== 'string' || !/^[0-9a-f]{64}$/.test(sent)))
          throw new BadInputError('x-sha256 must be a SHA-256 in lowercase hex');
        const scope = await scopeOf(agentId, jobId, attempt);
        const limit = deps.caches.maxEntryBytes;
        if ((declaredLength(req) ?? 0) > limit) throw tooLarge(limit, 'the cache entry');
        // Streamed into the store as it arrives. Not `req` itself: a refused body must stay
        // unread, not destroyed, so that its answer arrives.
        const saved = await deps.caches.save(scope, {
          key,
          version,
          source: req.iterator({ destroyOnReturn: false }),
          expectedSha256: sent,
        });
        return answerJson(req, res, saved.saved ? 201 : 200, saved);
      }
      if (path.startsWith('entries/') && req.method === 'GET') {
        const id = decodeURIComponent(path.slice('entries/'.length));
        const scope = await scopeOf(agentId, jobId, attempt);
        const found = await deps.caches.read(scope, id);
        if (!found) throw new NotFoundError(`pipeline '${scope.pipeline}' has no cache entry '${id}'`);
        res.writeHead(200, {
          'content-type': 'application/gzip',
          'content-length': found.blob.size,
          'x-sha256': found.entry.sha256,
        });
        // A failure now cuts the response short: the agent sees fewer bytes, or another hash.
        await pipeline(found.blob.stream, res).catch(() => {});
        return;
      }
      throw new NotFoundError(`no cache route ${req.method} /api/caches/${path}`);
    } catch (error) {
      answerError(req, res, error);
    }
  };
}
