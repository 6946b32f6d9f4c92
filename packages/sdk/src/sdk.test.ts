import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type JobContext,
  type JobRef,
  SdkUsageError,
  SpecInvalidError,
  conditionHolds,
  describePipeline,
  expandMatrix,
  image,
  instanceName,
  job,
  parseCron,
  parseDuration,
  parsePipelineSpec,
  pipeline,
  quote,
  renderCommand,
  resolveTriggers,
  schedule,
  push,
} from './index.js';

describe('pipeline and job', () => {
  it('collects jobs and turns job references in needs into names', () => {
    const p = pipeline('web', () => {
      const build = job('build', async () => {});
      job('test', { needs: [build, 'build'] }, async () => {});
    });
    expect(p.jobs.map((j) => j.name)).toEqual(['build', 'test']);
    expect(describePipeline(p).jobs[1]?.needs).toEqual(['build']);
  });

  it('refuses job() outside pipeline(), bad names and async builders', () => {
    expect(() => job('x', async () => {})).toThrow(SdkUsageError);
    expect(() => pipeline('bad name', () => {})).toThrow(/invalid/);
    expect(() => pipeline('p', (async () => {}) as never)).toThrow(/synchronously/);
  });

  it('types ctx.matrix from the matrix literal', () => {
    pipeline('p', () => {
      job('test', { matrix: { node: [18, 20], os: ['linux', 'mac'] } }, async (ctx) => {
        expectTypeOf(ctx.matrix.node).toEqualTypeOf<18 | 20>();
        expectTypeOf(ctx.matrix.os).toEqualTypeOf<'linux' | 'mac'>();
      });
      job('plain', async (ctx) => {
        expectTypeOf(ctx).toEqualTypeOf<JobContext<Record<string, never>, never>>();
      });
    });
    expectTypeOf(job).returns.toEqualTypeOf<JobRef>();
  });

  it('types the job context surfaces', () => {
    expectTypeOf<JobContext['sh']>().toBeCallableWith('npm test');
    expectTypeOf<JobContext['upload']>().parameters.toEqualTypeOf<[path: string, options?: { name?: string }]>();
    expectTypeOf<JobContext['trigger']['event']>().toEqualTypeOf<
      'push' | 'pullRequest' | 'schedule' | 'manual' | 'local'
    >();
    expectTypeOf<JobContext['secrets']>().toEqualTypeOf<Readonly<Record<string, string>>>();
  });

  it('expands a matrix into instances with stable names, and needs on a matrix job into all of them', () => {
    const spec = describePipeline(
      pipeline('p', () => {
        const t = job('test', { matrix: { node: [18, 20], os: ['linux'] } }, async () => {});
        job('publish', { needs: [t] }, async () => {});
      }),
    );
    expect(spec.jobs.map((j) => j.name)).toEqual(['test[node=18,os=linux]', 'test[node=20,os=linux]', 'publish']);
    expect(spec.jobs[2]?.needs).toEqual(['test[node=18,os=linux]', 'test[node=20,os=linux]']);
    expect(spec.jobs[0]?.matrix).toEqual({ node: 18, os: 'linux' });
  });

  it('resolves defaults: one hour timeout, no retries, string env', () => {
    const spec = describePipeline(
      pipeline('p', { env: { N: 1 } }, () => void job('a', { env: { B: true }, timeout: '15m' }, async () => {})),
    );
    expect(spec.jobs[0]).toMatchObject({ timeoutMs: 900_000, retries: 0, env: { B: 'true' } });
    expect(spec.env).toEqual({ N: '1' });
  });
});

describe('images', () => {
  it('tags are the hash of the description, and pinned means a digest', () => {
    const a = image('node', { from: `node:20@sha256:${'a'.repeat(64)}`, steps: ['npm i -g pnpm'] });
    const b = image('node', { from: `node:20@sha256:${'a'.repeat(64)}`, steps: ['npm i -g pnpm'] });
    const c = image('node', { from: `node:20@sha256:${'a'.repeat(64)}`, steps: ['npm i -g yarn'] });
    expect(a.spec.tag).toBe(b.spec.tag);
    expect(a.spec.tag).not.toBe(c.spec.tag);
    expect(a.spec.tag).toMatch(/^hiveforge\/node:[0-9a-f]{20}$/);
    expect(a.spec.pinned).toBe(true);
    expect(image('x', { from: 'node:20' }).spec.pinned).toBe(false);
  });
});

describe('shell quoting', () => {
  it('quotes each interpolation as one word, arrays as several', () => {
    expect(renderCommand`ls ${'my dir'} ${['a', "b'c"]} ${42}`).toBe(`ls 'my dir' a 'b'\\''c' 42`);
    expect(quote('')).toBe("''");
    expect(quote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
    expect(quote('plain-word_1.2')).toBe('plain-word_1.2');
  });
});

describe('cron', () => {
  it('accepts standard forms and macros', () => {
    for (const e of ['0 3 * * *', '*/15 * * * 1-5', '0 0 1 JAN,JUL *', '@daily', '5,10 0-6/2 * * SUN'])
      expect(parseCron(e).ok).toBe(true);
    const r = parseCron('0 3 * * 7');
    expect(r.ok && r.schedule.daysOfWeek).toEqual([0]);
  });
  it('explains what is wrong', () => {
    expect(parseCron('0 3 * *')).toEqual({ ok: false, error: expect.stringContaining('has 4 fields') });
    expect(parseCron('61 * * * *')).toEqual({
      ok: false,
      error: expect.stringContaining('minute "61" is out of range 0-59'),
    });
    expect(parseCron('* * * * */0')).toEqual({
      ok: false,
      error: expect.stringContaining('must be a positive number'),
    });
  });
});

describe('durations, triggers, conditions, matrix', () => {
  it('parses durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('soon')).toThrow(/invalid duration/);
  });
  it('merges trigger fragments', () => {
    const t = resolveTriggers([push({ branches: ['main'] }), schedule('0 3 * * *')]);
    expect(t.push).toEqual({ branches: ['main'], tags: [], paths: [] });
    expect(t.schedule).toEqual([{ cron: '0 3 * * *' }]);
    expect(resolveTriggers({ pullRequest: true }).pullRequest).toEqual({ branches: [], paths: [] });
  });
  it('evaluates conditions with branch globs', () => {
    const c = { branches: ['release/*', 'main'], events: ['push'] };
    expect(conditionHolds(c, { event: 'push', branch: 'release/1.2' })).toBe(true);
    expect(conditionHolds(c, { event: 'push', branch: 'release/1/2' })).toBe(false);
    expect(conditionHolds(c, { event: 'manual', branch: 'main' })).toBe(false);
    expect(conditionHolds(null, { event: 'manual', branch: null })).toBe(true);
  });
  it('names matrix instances stably', () => {
    expect(expandMatrix({ a: [1, 2], b: ['x'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'x' },
    ]);
    expect(instanceName('t', { a: 1, b: 'x' })).toBe('t[a=1,b=x]');
    expect(instanceName('t', null)).toBe('t');
  });
});

describe('PipelineSpec schema', () => {
  it('rejects malformed specs with paths', () => {
    try {
      parsePipelineSpec({ apiVersion: 'v0', name: 'p', jobs: [] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SpecInvalidError);
      const paths = (error as SpecInvalidError).issues.map((i) => i.path);
      expect(paths).toContain('apiVersion');
      expect(paths).toContain('triggers');
    }
  });
});
