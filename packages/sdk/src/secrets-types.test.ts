import { describe, expect, expectTypeOf, it } from 'vitest';
import { type JobContext, defineAction, describePipeline, job, pipeline } from './index.js';

// These are type tests: `npm run typecheck` compiles this file, so a typing that lets an
// undeclared secret through, or stops inferring the declared ones, fails the build.
describe('ctx.secrets typing', () => {
  it('types ctx.secrets from the secrets literal, and an undeclared read is a type error', () => {
    const p = pipeline('p', () => {
      job('deploy', { secrets: ['DEPLOY_TOKEN'] }, async (ctx) => {
        expectTypeOf(ctx.secrets).toEqualTypeOf<Readonly<Record<'DEPLOY_TOKEN', string>>>();
        expectTypeOf(ctx.secrets.DEPLOY_TOKEN).toEqualTypeOf<string>();
        // @ts-expect-error OTHER is not among the job's secrets
        void ctx.secrets.OTHER;
      });
      job('two', { secrets: ['A', 'B'], retries: 1 }, async (ctx) => {
        expectTypeOf(ctx.secrets).toEqualTypeOf<Readonly<Record<'A' | 'B', string>>>();
        // @ts-expect-error C is not among the job's secrets
        void ctx.secrets['C'];
      });
    });
    expect(describePipeline(p).jobs.map((j) => j.secrets)).toEqual([['DEPLOY_TOKEN'], ['A', 'B']]);
  });

  it('gives a job without secrets none to read', () => {
    pipeline('p', () => {
      job('plain', async (ctx) => {
        expectTypeOf(ctx.secrets).toEqualTypeOf<Readonly<Record<never, string>>>();
        // @ts-expect-error the job declares no secrets
        void ctx.secrets.TOKEN;
      });
      job('options', { retries: 1 }, async (ctx) => {
        expectTypeOf(ctx.secrets).toEqualTypeOf<Readonly<Record<never, string>>>();
        // @ts-expect-error the job declares no secrets
        void ctx.secrets.TOKEN;
      });
    });
  });

  it('keeps ctx.matrix typed beside ctx.secrets', () => {
    pipeline('p', () => {
      job('test', { matrix: { node: [18, 20] }, secrets: ['NPM_TOKEN'] }, async (ctx) => {
        expectTypeOf(ctx.matrix.node).toEqualTypeOf<18 | 20>();
        expectTypeOf(ctx.secrets.NPM_TOKEN).toEqualTypeOf<string>();
      });
    });
  });

  it('passes a context with declared secrets (or none) to actions, which accept any', () => {
    const greet = defineAction({ name: 'greet', run: async (_ctx, input: { who: string }) => input.who });
    pipeline('p', () => {
      job('deploy', { matrix: { os: ['linux'] }, secrets: ['DEPLOY_TOKEN'] }, async (ctx) => {
        expectTypeOf(ctx).toExtend<JobContext<unknown>>();
        await greet(ctx, { who: 'x' });
      });
      job('plain', async (ctx) => {
        await greet(ctx, { who: 'x' });
      });
    });
    expectTypeOf<JobContext['secrets']>().toEqualTypeOf<Readonly<Record<string, string>>>();
  });
});
