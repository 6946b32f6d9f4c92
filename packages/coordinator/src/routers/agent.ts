import { randomUUID } from 'node:crypto';
import { LogLimitError, NotFoundError, UnauthenticatedError } from '@hiveforge/sdk';
import { z } from 'zod';
import { hashToken, newToken, secretsEqual } from '../auth.js';
import { type Lease, type PullOptions, jobIdOf } from '../scheduler/index.js';
import type { AgentRecord } from '../store/types.js';
import { type CoordinatorContext, agentProcedure, publicProcedure, router } from '../trpc.js';

/**
 * Limits of one log batch, in UTF-8 bytes: larger batches are refused, not truncated. (A job's
 * whole log is bounded by the scheduler's `logLimitBytes`.)
 */
export const LOG_LIMITS = { chunksPerBatch: 256, bytesPerBatch: 1_048_576, bytesPerChunk: 262_144 } as const;

const Name = z.string().min(1).max(200);
const Id = z.string().min(1).max(500);
const Attempt = z.number().int().positive();

const AttemptResultSchema = z.object({
  status: z.enum(['succeeded', 'failed', 'timed_out', 'cancelled']),
  exitCode: z.number().int().nullable(),
  error: z.string().max(16_384).nullable(),
  outputs: z.record(z.string().max(200), z.string().max(65_536)).default({}),
});

const LogBatchSchema = z
  .object({
    jobId: Id,
    attempt: Attempt,
    chunks: z
      .array(
        z.object({
          seq: z.number().int().nonnegative(),
          offset: z.number().int().nonnegative(),
          // Characters are at most as many as bytes: this cheap check comes before the bytes'.
          text: z
            .string()
            .max(LOG_LIMITS.bytesPerChunk)
            .refine((t) => Buffer.byteLength(t) <= LOG_LIMITS.bytesPerChunk, {
              message: `a log chunk may carry at most ${LOG_LIMITS.bytesPerChunk} bytes`,
            }),
        }),
      )
      .min(1)
      .max(LOG_LIMITS.chunksPerBatch),
  })
  .refine((b) => b.chunks.reduce((n, c) => n + Buffer.byteLength(c.text), 0) <= LOG_LIMITS.bytesPerBatch, {
    message: `a log batch may carry at most ${LOG_LIMITS.bytesPerBatch} bytes`,
    path: ['chunks'],
  });

/** The environment an attempt starts in (see `AttemptFingerprint`). */
const FingerprintSchema = z.object({
  executor: z.string().min(1).max(100),
  imageTag: z.string().min(1).max(500).nullable(),
  imageId: z.string().min(1).max(200).nullable(),
  configHash: z.string().min(1).max(200),
  hiveforgeVersion: z.string().min(1).max(100),
  nodeVersion: z.string().min(1).max(100),
});

/**
 * Refuses chunks that end past the job's log limit, by their byte offsets: an agent that does not
 * keep to its own limit still cannot store an unbounded log.
 */
function checkLogLimit(chunks: readonly { offset: number; text: string }[], limitBytes: number): void {
  for (const c of chunks) {
    if (c.offset + Buffer.byteLength(c.text) > limitBytes)
      throw new LogLimitError(
        `the job's log would pass the coordinator's limit of ${limitBytes} bytes (a chunk at offset ${c.offset}); later output is refused`,
        limitBytes,
      );
  }
}

const PullSchema = z.object({
  requestId: z.string().min(8).max(100),
  waitMs: z.number().int().min(0).max(60_000).optional(),
  /**
   * Whether this request id may have been sent before (a retry after a lost reply). `false`
   * says it is the first sending, so no lease can have been decided for it yet and the
   * coordinator does not look one up; left out, it counts as a possible resend.
   */
  resend: z.boolean().optional(),
});

/** How long a pull may wait for a job: as asked, capped by the coordinator's pull wait. */
const waitOf = (ctx: AgentCallContext, input: z.infer<typeof PullSchema>) =>
  Math.min(input.waitMs ?? ctx.scheduler.config.pullWaitMs, ctx.scheduler.config.pullWaitMs);

/**
 * An agent's pull (alone, or sent with a completion) as the scheduler takes it, and the answer
 * to give once the scheduler has answered: the lease, and the agent's state as last read.
 */
function pullOf(ctx: AgentCallContext, input: z.infer<typeof PullSchema>) {
  // The caller's record was read from the store for this request, when its token was checked.
  // A pull that waits reads it again when it may be stale (see `Scheduler.pull`).
  let agent = ctx.agent;
  const options: PullOptions = {
    waitMs: waitOf(ctx, input),
    signal: ctx.signal,
    firstSending: input.resend === false,
    onAgent: (fresh) => {
      // Changed through another coordinator: this one's next request from the agent reads it.
      if (fresh.state !== agent.state) ctx.agents.forget(agent._id);
      agent = fresh;
    },
  };
  const answer = (lease: Lease | null) => {
    if (lease?.readyAt != null && lease.leasedAt != null) ctx.metrics.observeDispatch(lease.leasedAt - lease.readyAt);
    return { lease, agentState: agent.state };
  };
  return { agent, requestId: input.requestId, options, answer };
}

/** Leases the next job to the calling agent, waiting up to `waitMs` (capped by the coordinator's pull wait). */
async function pullNext(ctx: AgentCallContext, input: z.infer<typeof PullSchema>) {
  const { agent, requestId, options, answer } = pullOf(ctx, input);
  return answer(await ctx.scheduler.pull(agent, requestId, options));
}

/** What an agent call sees: the request's context and the calling agent. */
export type AgentCallContext = CoordinatorContext & { agent: AgentRecord };

/** An agent mutation: its input schema and what it does with the parsed input. */
export interface AgentCall<S extends z.ZodType, R> {
  readonly input: S;
  run(ctx: AgentCallContext, input: z.output<S>): Promise<R>;
}

const agentCall = <S extends z.ZodType, R>(
  input: S,
  run: (ctx: AgentCallContext, input: z.output<S>) => Promise<R>,
): AgentCall<S, R> => ({ input, run });

/**
 * The agent mutations, the bulk of a coordinator's traffic. The tRPC router below serves them,
 * and so do the direct calls (`direct-calls.ts`), from this one table: the same schemas, the same
 * code.
 */
export const agentCalls = {
  pull: agentCall(PullSchema, pullNext),

  start: agentCall(
    z.object({ jobId: Id, attempt: Attempt, fingerprint: FingerprintSchema.nullable().default(null) }),
    async (ctx, input) => {
      await ctx.scheduler.start(ctx.agent._id, input.jobId, input.attempt, input.fingerprint);
      return { ok: true as const };
    },
  ),

  heartbeat: agentCall(
    z.object({
      leases: z.array(z.object({ jobId: Id, attempt: Attempt })).max(256),
      disk: z
        .object({ workspaceBytes: z.number().nonnegative(), freeBytes: z.number().nonnegative() })
        .nullable()
        .default(null),
    }),
    async (ctx, input) => {
      await ctx.store.updateAgent(ctx.agent._id, { lastHeartbeatAt: ctx.clock.now(), disk: input.disk });
      const leases = await ctx.scheduler.heartbeat(ctx.agent._id, input.leases);
      const agent = await ctx.store.getAgent(ctx.agent._id);
      // A change made through another coordinator: the agent's next request reads it here.
      if (agent?.state !== ctx.agent.state) ctx.agents.forget(ctx.agent._id);
      return {
        leases,
        agentState: agent?.state ?? 'gone',
        heartbeatIntervalMs: ctx.scheduler.config.heartbeatIntervalMs,
      };
    },
  ),

  logs: agentCall(LogBatchSchema, async (ctx, input) => {
    checkLogLimit(input.chunks, ctx.scheduler.config.logLimitBytes);
    const job = await ctx.scheduler.requireCurrentAttempt(ctx.agent._id, input.jobId, input.attempt);
    const now = ctx.clock.now();
    const accepted = await ctx.store.appendLogChunks(
      input.chunks.map((c) => ({
        _id: `${input.jobId}#${input.attempt}#${c.seq}`,
        jobId: input.jobId,
        runId: job.runId,
        attempt: input.attempt,
        seq: c.seq,
        offset: c.offset,
        text: c.text,
        at: now,
      })),
    );
    ctx.scheduler.notifyRun(job.runId);
    return { accepted };
  }),

  /**
   * Records how an attempt ended. With `next`, the agent also pulls its next job in the same
   * request (as `agent.pull` would with that request id): one round trip per job instead of two.
   * `next` is `null` when not asked for.
   */
  complete: agentCall(
    z.object({ jobId: Id, attempt: Attempt, result: AttemptResultSchema, next: PullSchema.optional() }),
    async (ctx, input) => {
      const { next, ...completion } = input;
      if (!next) {
        const { duplicate } = await ctx.scheduler.complete(ctx.agent._id, completion);
        return { duplicate, next: null };
      }
      const { agent, requestId, options, answer } = pullOf(ctx, next);
      const done = await ctx.scheduler.complete(ctx.agent._id, completion, { agent, requestId, ...options });
      return { duplicate: done.duplicate, next: answer(done.next) };
    },
  ),

  /**
   * The calling agent leaves (it exits after `--once`, or on SIGTERM): it is gone at once, and
   * its token is refused from then on (by other coordinators within their agent cache's TTL).
   */
  deregister: agentCall(z.object({}).optional(), async (ctx) => {
    await ctx.scheduler.markAgentGone(ctx.agent, 'deregistered');
    ctx.agents.forget(ctx.agent._id);
    return { agentId: ctx.agent._id, state: 'gone' as const };
  }),
};

/** The agent protocol: register, pull, heartbeat, ship logs, complete. */
export const agentRouter = router({
  register: publicProcedure
    .input(
      z.object({
        secret: z.string().min(1),
        name: Name,
        labels: z.array(z.string().min(1).max(100)).max(64).default([]),
        capacity: z.number().int().min(1).max(256).default(1),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (!secretsEqual(input.secret, ctx.agentSecret))
        throw new UnauthenticatedError('the agent registration secret is wrong');
      const token = newToken('hfa');
      const now = ctx.clock.now();
      const agentId = `agent-${randomUUID()}`;
      await ctx.store.putAgent({
        _id: agentId,
        name: input.name,
        labels: input.labels,
        state: 'active',
        tokenHash: hashToken(token),
        capacity: input.capacity,
        registeredAt: now,
        lastHeartbeatAt: now,
        disk: null,
      });
      await ctx.scheduler.events.record({ type: 'agent', agentId, name: input.name, state: 'active' }, now);
      return { agentId, token };
    }),

  pull: agentProcedure.input(agentCalls.pull.input).mutation(({ ctx, input }) => agentCalls.pull.run(ctx, input)),
  start: agentProcedure.input(agentCalls.start.input).mutation(({ ctx, input }) => agentCalls.start.run(ctx, input)),
  heartbeat: agentProcedure
    .input(agentCalls.heartbeat.input)
    .mutation(({ ctx, input }) => agentCalls.heartbeat.run(ctx, input)),
  logs: agentProcedure.input(agentCalls.logs.input).mutation(({ ctx, input }) => agentCalls.logs.run(ctx, input)),
  complete: agentProcedure
    .input(agentCalls.complete.input)
    .mutation(({ ctx, input }) => agentCalls.complete.run(ctx, input)),
  deregister: agentProcedure
    .input(agentCalls.deregister.input)
    .mutation(({ ctx, input }) => agentCalls.deregister.run(ctx, input)),

  bundle: agentProcedure.input(z.object({ versionId: Id })).query(async ({ ctx, input }) => {
    const version = await ctx.store.getPipelineVersion(input.versionId);
    if (!version) throw new NotFoundError(`no pipeline version '${input.versionId}'`);
    return { versionId: version._id, bundle: version.bundle, spec: version.spec };
  }),

  /**
   * Outputs of a job of the same run (for `ctx.outputs.get` of jobs not in `needs`): only for an
   * agent that holds a current lease of a job of that run, so that no agent reads another run's
   * outputs.
   */
  outputs: agentProcedure.input(z.object({ runId: Id, job: Name })).query(async ({ ctx, input }) => {
    await ctx.scheduler.requireLeaseInRun({ agentId: ctx.agent._id, runId: input.runId, what: 'outputs' });
    const job = await ctx.store.getJob(jobIdOf(input.runId, input.job));
    if (!job) throw new NotFoundError(`run '${input.runId}' has no job '${input.job}'`);
    return job.outputs;
  }),
});
