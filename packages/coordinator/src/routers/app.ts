import { router } from '../trpc.js';
import { agentRouter } from './agent.js';
import { agentsRouter } from './agents.js';
import { cachesRouter } from './caches.js';
import { eventsRouter } from './events.js';
import { pipelinesRouter } from './pipelines.js';
import { runsRouter } from './runs.js';
import { schedulesRouter } from './schedules.js';
import { secretsRouter } from './secrets.js';
import { tokensRouter } from './tokens.js';

/** The coordinator's whole tRPC API. */
export const appRouter = router({
  agent: agentRouter,
  agents: agentsRouter,
  caches: cachesRouter,
  events: eventsRouter,
  pipelines: pipelinesRouter,
  runs: runsRouter,
  schedules: schedulesRouter,
  secrets: secretsRouter,
  tokens: tokensRouter,
});

/** The type custom UIs and agents build their typed client from. */
export type AppRouter = typeof appRouter;
