import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createArtifactClient } from './artifact-client.js';
import { spoolTo } from './artifact-spool.js';
import { createAgentClient, errorCodeOf } from './client.js';
import { isRetryable, retryDelayMs, withRetry } from './retry.js';

/** A fake coordinator: a real HTTP server on loopback whose answers the test scripts, one per request. */
async function fakeCoordinator(answer: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => answer(req, res, requests.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A tRPC error reply as the coordinator's error formatter shapes it. */
const trpcError = (res: ServerResponse, status: number, code: string, hiveforgeCode: string, retryable: boolean) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      error: {
        message: `${hiveforgeCode} happened`,
        code: -32603,
        data: { code, httpStatus: status, hiveforgeCode, retryable },
      },
    }),
  );

const ok = (res: ServerResponse, data: unknown = null) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: { data } }));

describe('agent calls: retried while the coordinator or its store cannot answer, never for a permanent error', () => {
  it('a 503 HF_STORE_UNAVAILABLE reply is retried until the 200', async () => {
    await using coordinator = await fakeCoordinator((_req, res, n) =>
      n <= 2 ? trpcError(res, 503, 'SERVICE_UNAVAILABLE', 'HF_STORE_UNAVAILABLE', true) : ok(res, { started: true }),
    );
    const client = createAgentClient({ url: coordinator.url });
    const retried: unknown[] = [];
    const result = await withRetry(() => client.agent.start.mutate({ jobId: 'j', attempt: 1 }), {
      initialDelayMs: 10,
      onRetry: (error) => retried.push(errorCodeOf(error)),
    });
    expect(result).toEqual({ started: true });
    expect(retried).toEqual(['HF_STORE_UNAVAILABLE', 'HF_STORE_UNAVAILABLE']);
    expect(coordinator.requests).toEqual(Array(3).fill('POST /trpc/agent.start'));
  });

  it('a 404 HF_NOT_FOUND fails at once, after one request', async () => {
    await using coordinator = await fakeCoordinator((_req, res) =>
      trpcError(res, 404, 'NOT_FOUND', 'HF_NOT_FOUND', false),
    );
    const client = createAgentClient({ url: coordinator.url });
    const started = Date.now();
    const error = await withRetry(() => client.agent.start.mutate({ jobId: 'j', attempt: 1 })).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('HF_NOT_FOUND');
    expect(isRetryable(error)).toBe(false);
    expect(coordinator.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it.each([
    ['HF_FENCED', 409, 'CONFLICT'],
    ['HF_BAD_INPUT', 400, 'BAD_REQUEST'],
    ['HF_FORBIDDEN', 403, 'FORBIDDEN'],
  ])('%s is permanent', async (hiveforgeCode, status, code) => {
    await using coordinator = await fakeCoordinator((_req, res) => trpcError(res, status, code, hiveforgeCode, false));
    const client = createAgentClient({ url: coordinator.url });
    const error = await withRetry(() => client.agent.logs.mutate({ jobId: 'j', attempt: 1, chunks: [] })).catch(
      (e: unknown) => e,
    );
    expect(errorCodeOf(error)).toBe(hiveforgeCode);
    expect(coordinator.requests).toHaveLength(1);
  });

  it('a 502 from a proxy (not an API reply) and a refused connection are retryable; a 500 without a code is not', async () => {
    await using proxy = await fakeCoordinator((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
    const fromProxy = await createAgentClient({ url: proxy.url })
      .agent.heartbeat.mutate({ leases: [], disk: null })
      .catch((e: unknown) => e);
    expect(isRetryable(fromProxy)).toBe(true);
    await using broken = await fakeCoordinator((_req, res) =>
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ error: { message: 'boom', code: -32603, data: { httpStatus: 500, hiveforgeCode: null } } }),
        ),
    );
    const internal = await createAgentClient({ url: broken.url })
      .agent.heartbeat.mutate({ leases: [], disk: null })
      .catch((e: unknown) => e);
    expect(isRetryable(internal)).toBe(false);
    const port = Number(new URL(broken.url).port);
    await broken[Symbol.asyncDispose]();
    const refused = await createAgentClient({ url: `http://127.0.0.1:${port}` })
      .agent.heartbeat.mutate({ leases: [], disk: null })
      .catch((e: unknown) => e);
    expect(isRetryable(refused)).toBe(true);
  });

  it('a call with no answer within its timeout fails as a retryable timeout; a pull gets its wait on top', async () => {
    await using silent = await fakeCoordinator((req, res) => {
      // Answers a pull after 300 ms (within its wait of 250 ms plus the timeout); never answers the rest.
      if (req.url === '/trpc/agent.pull') setTimeout(() => ok(res, { lease: null }), 300);
    });
    const client = createAgentClient({ url: silent.url, timeoutMs: 200 });
    const started = Date.now();
    const error = await client.agent.start.mutate({ jobId: 'j', attempt: 1 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(String(error)).toMatch(/within 200 ms/);
    expect(isRetryable(error)).toBe(true);
    expect(await client.agent.pull.mutate({ requestId: 'r', waitMs: 250 })).toEqual({ lease: null });
  });

  it('retrying stops once the budget from the first failure is spent, with the last error', async () => {
    await using coordinator = await fakeCoordinator((_req, res) =>
      trpcError(res, 503, 'SERVICE_UNAVAILABLE', 'HF_STORE_UNAVAILABLE', true),
    );
    const client = createAgentClient({ url: coordinator.url });
    const started = Date.now();
    const error = await withRetry(() => client.agent.complete.mutate({ jobId: 'j', attempt: 1, result: {} as never }), {
      forMs: 400,
      initialDelayMs: 20,
    }).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('HF_STORE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(coordinator.requests.length).toBeGreaterThan(2);
  });

  it('artifact uploads: a 503 HF_STORE_UNAVAILABLE is retried, a fenced attempt is not', async () => {
    await using coordinator = await fakeCoordinator((req, res, n) => {
      if (req.url?.includes('fenced')) {
        res.writeHead(409, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ code: 'HF_FENCED', message: 'attempt 1 already ended', retryable: false }));
      }
      if (n === 1) {
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ code: 'HF_STORE_UNAVAILABLE', message: 'store down', retryable: true }));
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
    const artifacts = createArtifactClient({ url: coordinator.url, token: () => 'hfa_x' });
    const dir = await mkdtemp(join(tmpdir(), 'hf-retry-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    const spooled = await spoolTo(Readable.from([Buffer.from('x')]), join(dir, 'a.tar'));
    const upload = (name: string) =>
      withRetry(() => artifacts.upload({ runId: 'r', name, jobId: 'j', attempt: 1, archive: spooled }), {
        initialDelayMs: 10,
      });
    await upload('dist');
    expect(coordinator.requests).toHaveLength(2);
    const fenced = await upload('fenced').catch((e: unknown) => e);
    expect(fenced).toMatchObject({ code: 'HF_FENCED', retryable: false });
    expect(coordinator.requests).toHaveLength(3);
  });

  it('delays grow exponentially up to the cap, with jitter in the upper half', () => {
    expect([0, 1, 2, 3].map((n) => retryDelayMs(n, 100, 5_000, () => 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map((n) => retryDelayMs(n, 100, 5_000, () => 0))).toEqual([50, 100, 200, 400]);
    expect(retryDelayMs(20, 100, 5_000, () => 1)).toBe(5_000);
  });
});
