import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ferretDBForSuite } from './helpers/ferretdb-suite.js';
import { mib, processMemory } from './helpers/process-memory.js';
import { startCoordinatorProcess } from './helpers/services.js';

const SECRET = 'a-registration-secret-for-body-limits';
const ADMIN = 'hfu_admin-token-for-body-limits';

/** What a coordinator answered to one request, and whether its connection was reset under it. */
interface Answer {
  status: number;
  body: string;
  /** An error the request saw before it had its whole answer (a reset, a refused write). */
  error: string | null;
}

/**
 * Sends `body` with `content-length`, or chunked (no length declared) in 1 MiB pieces, and
 * waits for the answer. The client keeps sending while the server answers, as a real one does.
 */
function send(
  base: string,
  path: string,
  body: Buffer,
  {
    method = 'POST',
    headers = {},
    chunked = false,
  }: { method?: string; headers?: Record<string, string>; chunked?: boolean },
): Promise<Answer> {
  return new Promise((resolve) => {
    const url = new URL(path, base);
    let answered = false;
    const req = request(
      url,
      {
        method,
        headers: {
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': String(body.length) }),
          ...headers,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          answered = true;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), error: null });
        });
      },
    );
    req.on('error', (error) => {
      if (!answered)
        resolve({ status: 0, body: '', error: `${(error as NodeJS.ErrnoException).code ?? error.message}` });
    });
    if (!chunked) return void req.end(body);
    const step = 1024 * 1024;
    let at = 0;
    const pump = () => {
      while (at < body.length) {
        const piece = body.subarray(at, at + step);
        at += step;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** The HiveForge code of an answer: tRPC's `error.data.hiveforgeCode`, or a plain `code`. */
function codeOf(answer: Answer): string | null {
  try {
    const json = JSON.parse(answer.body) as { error?: { data?: { hiveforgeCode?: string } }; code?: string };
    return json.error?.data?.hiveforgeCode ?? json.code ?? null;
  } catch {
    return null;
  }
}

describe('request body limits on a coordinator process', () => {
  const ferret = ferretDBForSuite();

  it('refuses 10 concurrent 30 MB unauthenticated bodies with 413s before reading them, holding only a few MB', () =>
    ferret.withDatabase('hf_bodies', async ({ uri, dbName }) => {
      await using coordinator = await startCoordinatorProcess({
        mongodbUri: uri,
        database: dbName,
        agentSecret: SECRET,
        adminToken: ADMIN,
      });
      const pid = coordinator.child.pid as number;
      // Warm up the routes the bodies go to, so their code is loaded before the baseline.
      const small = Buffer.from('{}');
      await send(coordinator.url, '/trpc/agent.logs', small, {});
      await send(coordinator.url, '/trpc/runs.trigger', small, {});
      await sleep(200);
      const before = await processMemory(pid);

      const body = Buffer.alloc(Number(process.env.BODY_MB ?? 30) * 1024 * 1024, 'a');
      // A body that declares more than an anonymous caller may send is refused by its length; a
      // chunked one is cut at that limit, or refused unread where only agents may call.
      const TOO_LARGE = [413, 'HF_PAYLOAD_TOO_LARGE'];
      const UNAUTHENTICATED = [401, 'HF_UNAUTHENTICATED'];
      const cases: { path: string; chunked: boolean; headers?: Record<string, string>; answer: unknown[] }[] = [
        // The agent protocol's direct calls, without a token and with a wrong one.
        { path: '/trpc/agent.logs', chunked: false, answer: TOO_LARGE },
        {
          path: '/trpc/agent.complete',
          chunked: false,
          headers: { authorization: 'Bearer hfa_not-a-real-token' },
          answer: TOO_LARGE,
        },
        { path: '/trpc/agent.pull', chunked: false, headers: { 'content-encoding': 'gzip' }, answer: TOO_LARGE },
        { path: '/trpc/agent.heartbeat', chunked: true, answer: UNAUTHENTICATED },
        {
          path: '/trpc/agent.start',
          chunked: true,
          headers: { authorization: 'Bearer hfu_wrong' },
          answer: UNAUTHENTICATED,
        },
        // tRPC's handler: a registration (the one call open to anyone) and user calls.
        { path: '/trpc/agent.register', chunked: false, answer: TOO_LARGE },
        { path: '/trpc/agent.register', chunked: true, answer: TOO_LARGE },
        {
          path: '/trpc/runs.trigger',
          chunked: false,
          headers: { authorization: 'Bearer hfu_wrong' },
          answer: TOO_LARGE,
        },
        { path: '/trpc/runs.trigger', chunked: true, answer: UNAUTHENTICATED },
        { path: '/trpc/pipelines.deploy', chunked: false, answer: TOO_LARGE },
      ];
      const answers = await Promise.all(
        cases.map((c) => send(coordinator.url, c.path, body, { chunked: c.chunked, headers: c.headers })),
      );
      const after = await processMemory(pid);

      for (const [i, answer] of answers.entries()) {
        const what = `${cases[i]?.path} (${cases[i]?.chunked ? 'chunked' : 'content-length'})`;
        // An answer, not a reset: the client reads a typed refusal.
        expect({ what, error: answer.error, answer: [answer.status, codeOf(answer)] }).toEqual({
          what,
          error: null,
          answer: cases[i]?.answer,
        });
      }
      const rise = after.hwm - before.rss;
      console.log(
        `10 x 30 MB unauthenticated bodies: coordinator VmRSS ${mib(before.rss)} -> ${mib(after.rss)}, VmHWM ${mib(before.hwm)} -> ${mib(after.hwm)} (peak rise ${mib(rise)})`,
      );
      expect(rise, `peak rise ${mib(rise)}`).toBeLessThan(16 * 1024 * 1024);
      // The coordinator still serves, on the same port.
      const health = await fetch(`${coordinator.url}/healthz`);
      expect(health.status).toBe(200);
    }));

  it('checks tokens before the body: a large artifact upload without a token is refused unread, a registered agent gets its own limit', () =>
    ferret.withDatabase('hf_bodies', async ({ uri, dbName }) => {
      await using coordinator = await startCoordinatorProcess({
        mongodbUri: uri,
        database: dbName,
        agentSecret: SECRET,
        adminToken: ADMIN,
      });
      const body = Buffer.alloc(Number(process.env.BODY_MB ?? 30) * 1024 * 1024, 'a');
      const upload = await send(
        coordinator.url,
        '/api/artifacts/web%2F1?name=dist&jobId=web%2F1%2Fbuild&attempt=1',
        body,
        {
          method: 'PUT',
        },
      );
      expect([upload.error, upload.status, codeOf(upload)]).toEqual([null, 401, 'HF_UNAUTHENTICATED']);

      const registered = await fetch(`${coordinator.url}/trpc/agent.register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ secret: SECRET, name: 'limits' }),
      });
      const { token } = ((await registered.json()) as { result: { data: { token: string } } }).result.data;
      const auth = { authorization: `Bearer ${token}` };
      // A registered agent may send more than an anonymous caller, but not 30 MB: refused by its
      // declared length, or counted and cut when chunked.
      for (const chunked of [false, true]) {
        const answer = await send(coordinator.url, '/trpc/agent.logs', body, { chunked, headers: auth });
        expect([answer.error, answer.status, codeOf(answer)]).toEqual([null, 413, 'HF_PAYLOAD_TOO_LARGE']);
      }
      // A body of ordinary size from the same agent is read and parsed (here: a schema error).
      const ordinary = await send(coordinator.url, '/trpc/agent.logs', Buffer.from(JSON.stringify({ jobId: 'x' })), {
        headers: auth,
      });
      expect([ordinary.status, codeOf(ordinary)]).toEqual([400, 'HF_BAD_INPUT']);
      // 100 KB is over an anonymous caller's limit and well under an agent's.
      const registration = Buffer.from(JSON.stringify({ secret: SECRET, name: 'x'.repeat(100_000) }));
      const anonymous = await send(coordinator.url, '/trpc/agent.register', registration, {});
      expect([anonymous.status, codeOf(anonymous)]).toEqual([413, 'HF_PAYLOAD_TOO_LARGE']);
    }));
});
