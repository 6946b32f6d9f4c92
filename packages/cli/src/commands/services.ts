import { resolve } from 'node:path';
import { configHash, createAgent, createExecutor } from '@hiveforge/agent';
import { type Store, createCoordinator, createMemoryStore, putBootstrapAdminToken } from '@hiveforge/coordinator';
import {
  type ResolvedAgentConfig,
  type ResolvedCoordinatorConfig,
  redact,
  resolveAgentConfig,
  secretValues,
  resolveCoordinatorConfig,
} from '../config.js';
import type { CommandIO } from './run.js';

/** Resolves when the process is asked to stop; counts the signals. */
function onSignals(handler: (count: number) => void): () => void {
  let count = 0;
  const listener = () => handler(++count);
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGTERM', listener);
    process.off('SIGINT', listener);
  };
}

async function openStore(config: ResolvedCoordinatorConfig): Promise<Store> {
  if (config.store === 'memory') {
    return createMemoryStore(config.artifactsDir === null ? {} : { artifactsDir: resolve(config.artifactsDir) });
  }
  // Loaded only when asked for: the driver is not needed by `run`, `validate` or `graph`.
  const { createMongoStore } = await import('@hiveforge/coordinator/mongodb');
  return createMongoStore({ uri: config.mongodbUri as string, dbName: config.mongodbDatabase });
}

/** `hiveforge coordinator`: serves the API until SIGTERM. */
export async function coordinatorCommand(flags: Record<string, string | undefined>, io: CommandIO): Promise<number> {
  const config = resolveCoordinatorConfig(flags);
  io.stdout.write(`hiveforge coordinator ${JSON.stringify(redact(config))}\n`);
  const store = await openStore(config);
  io.stdout.write(`store ${config.store}: job index ${store.jobIndex()}, wake-ups ${store.wakeupMode()}\n`);
  if (config.adminToken) {
    // Stored under one fixed id: a new admin token replaces the one before, which stops working.
    const admin = await putBootstrapAdminToken(store, config.adminToken);
    if (admin.revokedAt !== null)
      io.stderr.write('the admin token was revoked (tokens.revoke); start with a new --admin-token to have one\n');
  }
  // A coordinator that refuses to start (its configuration does not fit the store) closes the
  // store, so that the process exits with its error.
  const coordinator = await createCoordinator({
    store,
    agentSecret: config.agentSecret,
    ...(config.secretsKey ? { secretsKey: config.secretsKey } : {}),
    ...(config.secretsKeyPrevious ? { secretsKeyPrevious: config.secretsKeyPrevious } : {}),
    host: config.host,
    port: config.port,
    scheduler: {
      heartbeatInterval: config.heartbeatIntervalMs,
      leaseTtl: config.leaseTtlMs,
      sweepInterval: config.sweepIntervalMs,
      pullWait: config.pullWaitMs,
      scheduleInterval: config.scheduleIntervalMs,
      eventRetention: config.eventRetentionMs,
      logLimitBytes: config.logLimitBytes,
      storeOutageLimit: config.storeOutageLimitMs,
    },
    agentCacheTtl: config.agentCacheTtlMs,
    agentGoneAfter: config.agentGoneAfterMs,
    blobGrace: config.blobGraceMs,
    caches: { limitBytes: config.cacheLimitBytes, defaultBranch: config.defaultBranch },
    onError: (error) => io.stderr.write(`background task failed: ${(error as Error).message}\n`),
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  io.stdout.write(`listening on ${coordinator.url}\n`);
  await new Promise<void>((done) => {
    const off = onSignals(() => {
      off();
      done();
    });
  });
  io.stdout.write('stopping\n');
  await coordinator.close();
  await store.close();
  return 0;
}

/** `hiveforge agent`: pulls and runs jobs until SIGTERM (drain), a second (cancel), a third (exit). */
export async function agentCommand(
  flags: Record<string, string | string[] | boolean | undefined>,
  io: CommandIO,
): Promise<number> {
  const config: ResolvedAgentConfig = resolveAgentConfig(flags);
  config.workDir = resolve(config.workDir);
  io.stdout.write(`hiveforge agent ${JSON.stringify(redact(config))}\n`);
  const agent = createAgent({
    url: config.urls,
    registrationSecret: config.agentSecret,
    name: config.name,
    labels: config.labels,
    capacity: config.capacity,
    workDir: config.workDir,
    once: config.once,
    passEnv: config.passEnv,
    secrets: secretValues(config.secretNames, process.env),
    executor: createExecutor(config.executor, {
      workDir: config.workDir,
      defaultImage: config.defaultImage,
      registry: config.registry,
      push: config.push,
    }),
    logLimitBytes: config.logLimitBytes,
    onLogLimit: config.onLogLimit,
    callTimeoutMs: config.callTimeoutMs,
    retryForMs: config.retryForMs,
    localCacheBytes: config.localCacheBytes,
    // All of the effective configuration counts, the default image too (see `configHash`).
    configHash: configHash(config as unknown as Record<string, unknown>),
    onEvent: (event) => {
      if (event.type === 'registered') io.stdout.write(`registered as ${event.agentId}\n`);
      else if (event.type === 'reaped')
        io.stdout.write(`removed ${event.count} job environment(s) an earlier run of this agent left\n`);
      else if (event.type === 'deregistered') io.stdout.write(`deregistered ${event.agentId}\n`);
      else if (event.type === 'leased') io.stdout.write(`leased ${event.lease.jobId} attempt ${event.lease.attempt}\n`);
      else if (event.type === 'finished')
        io.stdout.write(`finished ${event.lease.jobId} attempt ${event.lease.attempt}: ${event.status ?? 'fenced'}\n`);
      else if (event.type === 'lost')
        io.stdout.write(`lost the lease of ${event.lease.jobId} attempt ${event.lease.attempt}\n`);
      else io.stderr.write(`${(event.error as Error)?.message ?? String(event.error)}\n`);
    },
  });
  // The same configuration prints the same hash on every host: attempts record it.
  io.stdout.write(`config hash ${agent.configHash}\n`);
  const off = onSignals((count) => {
    if (count === 1) {
      io.stdout.write('draining: no new jobs; running jobs finish (signal again to cancel them)\n');
      void agent.stop();
    } else if (count === 2) {
      io.stdout.write('cancelling running jobs\n');
      void agent.stop({ cancel: true });
    } else {
      process.exit(130);
    }
  });
  try {
    await agent.run();
  } finally {
    off();
  }
  return 0;
}
