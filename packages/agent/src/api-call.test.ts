import { type Server, createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { createAgentClient, errorCodeOf } from './client.js';
import { createEndpoints } from './endpoints.js';
import { type JsonFetch, createJsonFetch } from './http-fetch.js';
import { isRetryable } from './retry.js';

/**
 * The agent client's link against a real HTTP server on loopback that answers in tRPC's wire
 * format: what goes out (method, path, input, headers) and what comes back (data, errors).
 */
describe('the agent client transport (a real HTTP server speaking the tRPC wire format)', () => {
  let server: Server;
  let url: string;
  const seen: {
    method: string;
    url: string;
    body: string;
    authorization: string | null;
    type: string | null;
    encoding?: string;
  }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const encoding = req.headers['content-encoding'];
        const body = (encoding === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        seen.push({
          ...(encoding ? { encoding } : {}),
          method: req.method ?? '',
          url: req.url ?? '',
          body,
          authorization: req.headers.authorization ?? null,
          type: req.headers['content-type'] ?? null,
        });
        if (req.url?.startsWith('/trpc/agent.start')) return; // never answers
        const reply = req.url?.startsWith('/trpc/agent.complete')
          ? {
              status: 409,
              json: {
                error: {
                  message: 'attempt 1 already ended',
                  code: -32603,
                  data: { code: 'CONFLICT', httpStatus: 409, hiveforgeCode: 'HF_FENCED' },
                },
              },
            }
          : { status: 200, json: { result: { data: { echoed: body || req.url } } } };
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends a mutation as a JSON POST and a query as a GET with its input, with the token', async () => {
    const client = createAgentClient({ url, token: () => 'hfa_secret' });
    seen.length = 0;
    const pulled = await client.agent.pull.mutate({ requestId: 'request-1', waitMs: 0 });
    expect(pulled).toEqual({ echoed: '{"requestId":"request-1","waitMs":0}' });
    await client.agent.bundle.query({ versionId: 'v 1' });
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/trpc/agent.pull',
        body: '{"requestId":"request-1","waitMs":0}',
        authorization: 'Bearer hfa_secret',
        type: 'application/json',
      },
      {
        method: 'GET',
        url: `/trpc/agent.bundle?input=${encodeURIComponent('{"versionId":"v 1"}')}`,
        body: '',
        authorization: 'Bearer hfa_secret',
        type: null,
      },
    ]);
  });

  it('a client sends through the transport it is given, which clients may share; each without one has its own', async () => {
    const transport = createJsonFetch();
    const calls: string[] = [];
    const counted: JsonFetch = (target, init) => {
      calls.push(target);
      return transport(target, init);
    };
    try {
      const one = createAgentClient({ url, token: () => 'hfa_secret', fetch: counted });
      const two = createAgentClient({ url, token: () => 'hfa_secret', fetch: counted });
      await one.agent.pull.mutate({ requestId: 'request-1', waitMs: 0 });
      await two.agent.pull.mutate({ requestId: 'request-2', waitMs: 0 });
      expect(calls).toEqual([`${url}/trpc/agent.pull`, `${url}/trpc/agent.pull`]);
      await createAgentClient({ url }).agent.pull.mutate({ requestId: 'request-3', waitMs: 0 });
      expect(calls).toHaveLength(2);
    } finally {
      transport.close();
    }
  });

  it('a large log batch goes gzip-compressed, a small one as it is', async () => {
    const client = createAgentClient({ url, token: () => 'hfa_secret' });
    seen.length = 0;
    const chunk = (text: string) => ({ jobId: 'j', attempt: 1, chunks: [{ seq: 0, offset: 0, text }] });
    await client.agent.logs.mutate(chunk('short\n'));
    await client.agent.logs.mutate(chunk('a long line of build output\n'.repeat(500)));
    expect(seen.map((s) => [s.encoding ?? 'none', JSON.parse(s.body).chunks[0].text.length])).toEqual([
      ['none', 6],
      ['gzip', 28 * 500],
    ]);
  });

  it("an error reply is a client error with the server's code and status; no token, no header", async () => {
    const client = createAgentClient({ url });
    seen.length = 0;
    const ok = { status: 'succeeded' as const, exitCode: 0, error: null, outputs: {} };
    const error = await client.agent.complete.mutate({ jobId: 'j', attempt: 1, result: ok }).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'attempt 1 already ended', data: { httpStatus: 409 } });
    expect(errorCodeOf(error)).toBe('HF_FENCED');
    expect(isRetryable(error)).toBe(false);
    expect(seen[0]?.authorization).toBeNull();
  });

  it('a refused connection is retryable; an aborted call rejects', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await createAgentClient({ url: `http://127.0.0.1:${port}` })
      .agent.pull.mutate({ requestId: 'request-2' })
      .catch((e: unknown) => e);
    expect(isRetryable(refused)).toBe(true);
    expect(errorCodeOf(refused)).toBeNull();
    const abort = new AbortController();
    const hanging = createAgentClient({ url }).agent.start.mutate({ jobId: 'j', attempt: 1 }, { signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    await expect(hanging).rejects.toThrow();
  });

  it('errors are TRPCClientErrors; the client is not thenable and offers only queries and mutations', async () => {
    const client = createAgentClient({ url });
    const ok = { status: 'succeeded' as const, exitCode: 0, error: null, outputs: {} };
    const error = await client.agent.complete.mutate({ jobId: 'j', attempt: 1, result: ok }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    // A client handed through `await` (or a resolved promise) stays the client.
    const agent = await Promise.resolve(client.agent);
    expect((await agent.complete.mutate({ jobId: 'j', attempt: 1, result: ok }).catch(errorCodeOf)) as unknown).toBe(
      'HF_FENCED',
    );
    expect(() => (client.events.watch as unknown as { subscribe(): void }).subscribe()).toThrow(TypeError);
  });
});

describe('a pull that one coordinator could not answer', () => {
  it('goes to the next coordinator as a resend, so a lease the first one decided for it is handed over', async () => {
    const bodies: { at: string; body: string }[] = [];
    const start = (status: number) =>
      new Promise<Server>((resolve) => {
        const s = createServer((req, res) => {
          let body = '';
          req.on('data', (chunk: Buffer) => (body += chunk.toString()));
          req.on('end', () => {
            bodies.push({ at: status === 503 ? 'first' : 'second', body });
            const json =
              status === 503
                ? { error: { message: 'store unavailable', code: -32603, data: { httpStatus: 503 } } }
                : { result: { data: { lease: null } } };
            res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
          });
        });
        s.listen(0, '127.0.0.1', () => resolve(s));
      });
    const first = await start(503);
    const second = await start(200);
    await using _servers = {
      [Symbol.asyncDispose]: async () => {
        await new Promise((r) => first.close(r));
        await new Promise((r) => second.close(r));
      },
    };
    const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const client = createAgentClient({ url: createEndpoints([urlOf(first), urlOf(second)]), token: () => 't' });
    await client.agent.pull.mutate({ requestId: 'request-0001', waitMs: 0, resend: false });
    expect(bodies.map((b) => [b.at, JSON.parse(b.body).resend])).toEqual([
      ['first', false],
      ['second', true],
    ]);
  });
});
