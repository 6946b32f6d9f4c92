import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { type Duration, parseDuration } from '@hiveforge/sdk';
import { type Analyzer, createAnalyzer } from './analyzer/index.js';
import { createArtifactsHandler } from './artifacts.js';
import { abortWhenGone, createDirectCalls } from './direct-calls.js';
import { createMetrics } from './metrics.js';
import { createAgentTokenCache, resolveCaller } from './auth.js';
import { appRouter } from './routers/app.js';
import type { SchedulerOptions } from './scheduler/config.js';
import { type Scheduler, createScheduler } from './scheduler/scheduler.js';
import type { Store } from './store/types.js';
import type { CoordinatorContext } from './trpc.js';

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
   * Run the schedule ticker, which fires the cron triggers of deployed pipelines. `hiveforge
   * run` turns it off: a local run runs what it was asked to, once.
   * @default true
   */
  schedules?: boolean;
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
 * under `/healthz` and `/readyz`, the lease sweeper and the schedule ticker.
 * @example
 * await using coordinator = await createCoordinator({ store: createMemoryStore(), agentSecret: 's3cret' });
 */
export async function createCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const { store } = options;
  const scheduler = createScheduler({ store, options: options.scheduler });
  const metrics = createMetrics();
  const analyzer = options.analyzer ?? createAnalyzer();
  const maxBodySize = 32 * 1024 * 1024;
  const agents = createAgentTokenCache({ ttlMs: parseDuration(options.agentCacheTtl ?? '1s') });
  const contextOf = async (authorization: string | undefined, signal: AbortSignal): Promise<CoordinatorContext> => ({
    store,
    scheduler,
    analyzer,
    agentSecret: options.agentSecret,
    caller: await resolveCaller(store, authorization, agents),
    agents,
    metrics,
    signal,
  });
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize,
    createContext: async ({ req, res, info }) => {
      // Browsers' EventSource cannot send headers: subscriptions may carry the token as a
      // connection parameter instead.
      const paramToken = info.connectionParams?.token;
      const authorization = req.headers.authorization ?? (paramToken ? `Bearer ${paramToken}` : undefined);
      return contextOf(authorization, abortWhenGone(res));
    },
  });
  const direct = createDirectCalls({
    maxBodySize,
    createContext: (req, _res, signal) => contextOf(req.headers.authorization, signal),
  });
  const artifacts = createArtifactsHandler({ store, scheduler, agents });
  const server = createServer((req, res) => {
    // Agent calls carry no query string (a batch does): their path is the URL as sent, with
    // nothing to parse. Everything else under /trpc/ goes to the tRPC handler.
    const raw = req.url ?? '/';
    if (raw.startsWith('/trpc/') && !raw.includes('?') && direct(req, res, raw)) return;
    const url = new URL(raw, 'http://coordinator');
    if (url.pathname.startsWith('/trpc/')) return void trpc(req, res);
    if (url.pathname.startsWith('/api/artifacts/')) return void artifacts(req, res, url);
    if (url.pathname === '/metrics') {
      metrics.render(store).then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('store unreachable\n'),
      );
      return;
    }
    if (url.pathname === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (url.pathname === '/readyz') {
      store.getPipeline('__readyz__').then(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n'),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('store unreachable\n'),
      );
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

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      clearInterval(sweeper);
      if (ticker) clearInterval(ticker);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return closed;
  };
  return { url: `http://${host}:${address.port}`, store, scheduler, server, close, [Symbol.asyncDispose]: close };
}
