import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { ConfigError, type Duration, isHiveForgeError, parseDuration } from '@hiveforge/sdk';
import { getTRPCErrorFromUnknown, getTRPCErrorShape } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { type Analyzer, createAnalyzer } from './analyzer/index.js';
import { createArtifactsHandler } from './artifacts.js';
import { DEFAULT_BLOB_GRACE_MS, createBlobSweeper } from './blob-sweeper.js';
import { type CachesOptions, createCacheService } from './caches/cache-service.js';
import { createCachesHandler } from './caches/caches-http.js';
import { type Clock, systemClock } from './clock.js';
import { BODY_LIMITS, answerJson, bodyLimitOf, declaredLength, tooLarge } from './body-limits.js';
import { abortWhenGone, createDirectCalls } from './direct-calls.js';
import { createMetrics } from './metrics.js';
import { type Caller, createAgentTokenCache, createTokenMemo, resolveCaller } from './auth.js';
import { createReadiness } from './readiness.js';
import { type ReadCacheOptions, createReadCache } from './read-cache.js';
import { rememberUserToken, rememberedCaller } from './outage-callers.js';
import { createStoreHealth, isStoreOut, whileStoreAnswers } from './store-health.js';
import { appRouter } from './routers/app.js';
import { type Scheduler, type SchedulerOptions, createAgentSweeper, createScheduler } from './scheduler/index.js';
import type { Store } from './store/types.js';
import { secretsCipherOf } from './secrets/startup.js';
import { type CoordinatorContext, toTRPCError } from './trpc.js';

/** Options of a coordinator process. */
export interface CoordinatorOptions {
  store: Store;
  /** The shared secret agents register with. */
  agentSecret: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  scheduler?: SchedulerOptions;
  /** @default a new analyzer */
  analyzer?: Analyzer;
  /**
   * How long the coordinator keeps an agent's record read for its token, so that an agent's
   * requests do not each read it: an agent's suspend, drain, resume or removal made through
   * another coordinator reaches this one up to this late. `0s` reads it for every request.
   * @default '1s'
   */
  agentCacheTtl?: Duration;
  /**
   * An agent not heard from (no heartbeat) for this long is marked `gone` by whichever
   * coordinator notices first, and its token is refused from then on. At least two heartbeat
   * intervals.
   * @default '5m'
   */
  agentGoneAfter?: Duration;
  /**
   * Run the schedule ticker, which fires the cron triggers of deployed pipelines. `hiveforge
   * run` turns it off: a local run runs what it was asked to, once.
   * @default true
   */
  schedules?: boolean;
  /**
   * The 32-byte key that encrypts secret values (AES-256-GCM) and decrypts them for the leases
   * of the jobs that declare them. It never reaches the store. Without it, `secrets.set` is
   * refused, and the coordinator refuses to start while the store holds secrets.
   * @default undefined
   */
  secretsKey?: Uint8Array;
  /**
   * The caches' size limit per pipeline and default branch (see docs/concepts.md, "Caches").
   * @default 10 GiB per pipeline, default branch 'main'
   */
  caches?: CachesOptions;
  /**
   * A blob (an artifact's or a cache entry's archive) that no record names is deleted by the blob
   * sweep once it was last stored this long ago: longer than any upload's record takes to follow
   * its bytes, and than the clocks of coordinators sharing the store differ (see
   * docs/operations.md, "Blob collection"). The sweep runs every half of it, at most every 10 minutes.
   * @default '15m'
   */
  blobGrace?: Duration;
  /** A previous secrets key, used only to decrypt values stored before a rotation. @default undefined */
  secretsKeyPrevious?: Uint8Array;
  /**
   * The coordinator's time: what the API records and compares (heartbeats, tokens' expiry,
   * agents' silence) and the scheduler's (leases' expiry, sweeps, schedules). The lease and agent
   * sweeps and the schedule ticker still run on real timers; they read the time from this clock.
   * The blob sweep waits on this clock.
   * @default systemClock, and for the scheduler `preciseSystemClock`
   */
  clock?: Clock;
  /**
   * The bounds of what the coordinator keeps of what it read and wrote, to answer reads from,
   * marked stale, while the store is out (see docs/operations.md, "Store outages").
   * @default 10,000 entries, 64 MiB
   */
  readCache?: Omit<ReadCacheOptions, 'clock'>;
  /**
   * Called when a background sweep or schedule tick fails; it is tried again on the next one.
   */
  onError?: (error: unknown) => void;
}

/** A running coordinator: stateless, any number may serve one store. */
export interface Coordinator extends AsyncDisposable {
  readonly url: string;
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Starts a coordinator: the tRPC API under `/trpc`, artifacts under `/api/artifacts`, health
 * under `/healthz` and `/readyz`, the lease sweeper, the agent sweeper, the blob sweeper and the
 * schedule ticker.
 * @example
 * await using coordinator = await createCoordinator({ store: createMemoryStore(), agentSecret: 's3cret' });
 */
export async function createCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const { store } = options;
  const secrets = await secretsCipherOf(store, options);
  const clock = options.clock ?? systemClock;
  const scheduler = createScheduler({ store, options: options.scheduler, secrets, clock: options.clock });
  const metrics = createMetrics();
  const analyzer = options.analyzer ?? createAnalyzer();
  const agents = createAgentTokenCache({ ttlMs: parseDuration(options.agentCacheTtl ?? '1s'), now: () => clock.now() });
  const tokens = createTokenMemo();
  const agentGoneAfterMs = parseDuration(options.agentGoneAfter ?? '5m');
  if (agentGoneAfterMs < 2 * scheduler.config.heartbeatIntervalMs) {
    throw new ConfigError(
      `agentGoneAfter (${agentGoneAfterMs} ms) must be at least two heartbeat intervals (${2 * scheduler.config.heartbeatIntervalMs} ms)`,
    );
  }
  const agentSweeper = createAgentSweeper({
    store,
    goneAfterMs: agentGoneAfterMs,
    onGone: (agent) => agents.forget(agent._id),
    clock,
    events: scheduler.events,
  });
  const blobSweeper = createBlobSweeper({
    store,
    graceMs: parseDuration(options.blobGrace ?? DEFAULT_BLOB_GRACE_MS),
    clock,
  });
  // Lets reads fail at once while the store is out (see `StoreHealth`).
  const storeHealth = createStoreHealth({ ping: () => store.ping(), now: () => clock.now() });
  // What this coordinator last saw, to answer reads from while the store is out (stale-reads.ts).
  const readCache = createReadCache({ ...options.readCache, clock });
  const sawUserToken = (hash: string, token: Parameters<typeof rememberUserToken>[2]) =>
    rememberUserToken(readCache, hash, token);
  /**
   * The caller of a request, from its `authorization` header. A user token is read from the
   * store: while the store is out that fails at once, unless this coordinator remembers the store
   * accepting it (then the caller may only read what the coordinator last saw; see
   * `rememberedCaller`). Agents' calls, the hot path, are left to their cached records and the
   * store's own errors.
   */
  const callerOf = (authorization: string | undefined): Promise<Caller> => {
    const resolve = () => resolveCaller(store, authorization, { agents, tokens, now: () => clock.now(), sawUserToken });
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!bearer || bearer.startsWith('hfa_')) return resolve();
    return whileStoreAnswers(storeHealth, resolve).catch((error: unknown) => {
      const remembered = isStoreOut(error)
        ? rememberedCaller(readCache, tokens.hashOf(bearer), {
            now: clock.now(),
            outSince: storeHealth.outSince ?? clock.now(),
          })
        : null;
      if (remembered) return remembered;
      throw error;
    });
  };
  const contextOf = (caller: Caller, signal: AbortSignal): CoordinatorContext => ({
    store,
    scheduler,
    clock,
    analyzer,
    agentSecret: options.agentSecret,
    caller,
    agents,
    tokens,
    metrics,
    secrets,
    signal,
    storeHealth,
    readCache,
  });
  // The caller of each tRPC request, resolved from its header before its body is read.
  const callers = new WeakMap<IncomingMessage, Caller>();
  // One handler per kind of caller, each reading bodies up to that caller's limit: a chunked
  // body has no length to check up front, so the handler counts it as it reads.
  const trpcHandler = (maxBodySize: number) =>
    createHTTPHandler({
      router: appRouter,
      basePath: '/trpc/',
      maxBodySize,
      createContext: async ({ req, res, info }) => {
        // Browsers' EventSource cannot send headers: subscriptions may carry the token as a
        // connection parameter instead.
        const paramToken = info.connectionParams?.token;
        const caller =
          req.headers.authorization === undefined && paramToken
            ? await callerOf(`Bearer ${paramToken}`)
            : (callers.get(req) ?? (await callerOf(req.headers.authorization)));
        return contextOf(caller, abortWhenGone(res));
      },
    });
  const trpcOf = {
    anonymous: trpcHandler(BODY_LIMITS.anonymous),
    agent: trpcHandler(BODY_LIMITS.agent),
    user: trpcHandler(BODY_LIMITS.user),
  };
  const trpc = (req: IncomingMessage, res: ServerResponse, path: string) => {
    callerOf(req.headers.authorization).then(
      (caller) => {
        const limit = bodyLimitOf(caller);
        if ((declaredLength(req) ?? 0) > limit) {
          const error = toTRPCError(tooLarge(limit));
          const shape = getTRPCErrorShape({ config, error, type: 'unknown', path, input: undefined, ctx: undefined });
          return answerJson(req, res, 413, { error: shape });
        }
        callers.set(req, caller);
        return trpcOf[caller.kind](req, res);
      },
      (cause: unknown) => {
        const error = getTRPCErrorFromUnknown(isHiveForgeError(cause) ? toTRPCError(cause) : cause);
        const shape = getTRPCErrorShape({ config, error, type: 'unknown', path, input: undefined, ctx: undefined });
        answerJson(req, res, getHTTPStatusCodeFromError(error), { error: shape });
      },
    );
  };
  const config = appRouter._def._config;
  const direct = createDirectCalls({
    maxBodySize: BODY_LIMITS.agent,
    createContext: async (req, _res, signal) => contextOf(await callerOf(req.headers.authorization), signal),
  });
  const artifacts = createArtifactsHandler({ store, scheduler, agents, tokens });
  const caches = createCachesHandler({
    store,
    scheduler,
    caches: createCacheService({ store, options: options.caches, clock }),
    agents,
    tokens,
    now: () => clock.now(),
  });
  const readiness = createReadiness({ store, now: () => clock.now() });
  const server = createServer((req, res) => {
    // Agent calls carry no query string (a batch does): their path is the URL as sent, with
    // nothing to parse. Everything else under /trpc/ goes to the tRPC handler.
    const raw = req.url ?? '/';
    if (raw.startsWith('/trpc/') && !raw.includes('?') && direct(req, res, raw)) return;
    const url = new URL(raw, 'http://coordinator');
    if (url.pathname.startsWith('/trpc/')) return trpc(req, res, url.pathname.slice('/trpc/'.length));
    if (url.pathname.startsWith('/api/artifacts/')) return void artifacts(req, res, url);
    if (url.pathname.startsWith('/api/caches/')) return void caches(req, res, url);
    if (url.pathname === '/metrics') {
      metrics.render(store).then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('store unreachable\n'),
      );
      return;
    }
    if (url.pathname === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (url.pathname === '/readyz') {
      // Answers within a second whatever the store does (see createReadiness).
      // The body also says how the store finds jobs and delivers wake-ups (see docs/store.md).
      const about = { jobIndex: store.jobIndex(), wakeups: store.wakeupMode() };
      void readiness.check().then((r) => {
        // While the store is out: since when, and how much this coordinator can still answer
        // from what it last saw (reads marked stale).
        const outage = r.ready
          ? {}
          : {
              storeUnavailableSince: storeHealth.outSince ?? readiness.notReadySince,
              readCache: { entries: readCache.entries, bytes: readCache.bytes },
            };
        res
          .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${JSON.stringify({ ...r, store: about, ...outage })}\n`);
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    scheduler
      .sweep()
      .then(({ lost }) => metrics.countLeaseExpiries(lost))
      .catch((error) => options.onError?.(error))
      .finally(() => {
        sweeping = false;
      });
  }, scheduler.config.sweepIntervalMs);
  sweeper.unref();

  // Every coordinator looks for silent agents; the gone decision makes one of them mark each.
  let sweepingAgents = false;
  const agentSweeps = setInterval(() => {
    if (sweepingAgents) return;
    sweepingAgents = true;
    agentSweeper
      .sweep()
      .catch((error) => options.onError?.(error))
      .finally(() => {
        sweepingAgents = false;
      });
  }, agentSweeper.intervalMs);
  agentSweeps.unref();

  // Every coordinator ticks schedules; the tick decisions make each fire once across them all.
  let ticking = false;
  const tick = () => {
    if (ticking) return;
    ticking = true;
    scheduler
      .tickSchedules()
      .catch((error) => options.onError?.(error))
      .finally(() => {
        ticking = false;
      });
  };
  const ticker = options.schedules === false ? null : setInterval(tick, scheduler.config.scheduleIntervalMs);
  ticker?.unref();

  // Blobs no record names: a sweep at start (what earlier runs left, for `hiveforge run`'s caches
  // directory), then one per interval of this coordinator's clock. Every coordinator runs it.
  const stopBlobSweeps = new AbortController();
  void (async () => {
    while (!stopBlobSweeps.signal.aborted) {
      await blobSweeper.sweep().catch((error) => {
        if (!stopBlobSweeps.signal.aborted) options.onError?.(error);
      });
      await clock.sleep(blobSweeper.intervalMs, stopBlobSweeps.signal);
    }
  })();

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      stopBlobSweeps.abort();
      clearInterval(sweeper);
      clearInterval(agentSweeps);
      storeHealth.close();
      if (ticker) clearInterval(ticker);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return closed;
  };
  return { url: `http://${host}:${address.port}`, store, scheduler, server, close, [Symbol.asyncDispose]: close };
}
