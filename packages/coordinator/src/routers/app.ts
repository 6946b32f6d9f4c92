import { router } from '../trpc.js';
import { agentRouter } from './agent.js';
import { pipelinesRouter } from './pipelines.js';
import { runsRouter } from './runs.js';

/** The coordinator's whole tRPC API. */
export const appRouter = router({
  agent: agentRouter,
  pipelines: pipelinesRouter,
  runs: runsRouter,
});

/** The type custom UIs and agents build their typed client from. */
export type AppRouter = typeof appRouter;
