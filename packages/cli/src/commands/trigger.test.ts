import { API_VERSION, BadInputError, type PipelineSpec, PipelineSpecSchema } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { parseTriggerInputs } from './trigger.js';

const spec: PipelineSpec = PipelineSpecSchema.parse({
  apiVersion: API_VERSION,
  name: 'web',
  triggers: {
    push: null,
    pullRequest: null,
    schedule: [],
    manual: {
      inputs: {
        note: { type: 'string', description: null, required: true, default: null },
        count: { type: 'number', description: null, required: false, default: 1 },
        dryRun: { type: 'boolean', description: null, required: false, default: false },
        target: { type: 'choice', description: null, required: false, options: ['staging', 'prod'], default: null },
      },
    },
  },
  strictImages: false,
  env: {},
  images: [],
  jobs: [
    {
      name: 'build',
      job: 'build',
      matrix: null,
      needs: [],
      image: null,
      labels: [],
      env: {},
      secrets: [],
      timeoutMs: 1000,
      retries: 0,
      if: null,
      concurrency: null,
      source: null,
    },
  ],
  source: null,
});

const refusal = (pairs: string[]) => {
  try {
    parseTriggerInputs(spec, pairs);
  } catch (error) {
    expect(error).toBeInstanceOf(BadInputError);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('parseTriggerInputs', () => {
  it('types each value as its input is declared', () => {
    expect(parseTriggerInputs(spec, ['note=a=b', 'count=2.5', 'dryRun=true', 'target=prod'])).toEqual({
      note: 'a=b',
      count: 2.5,
      dryRun: true,
      target: 'prod',
    });
  });

  it('refuses a bad number, boolean or choice, an undeclared name and a missing required input, listing the inputs', () => {
    expect(refusal(['note=x', 'count=ten'])).toMatch(/input 'count' must be a number, not 'ten'/);
    expect(refusal(['note=x', 'count='])).toMatch(/input 'count' must be a number/);
    expect(refusal(['note=x', 'dryRun=yes'])).toMatch(/input 'dryRun' must be true or false, not 'yes'/);
    expect(refusal(['note=x', 'target=moon'])).toMatch(/must be one of staging, prod, not 'moon'/);
    expect(refusal(['note=x', 'colour=red'])).toMatch(/pipeline 'web' has no input 'colour'/);
    expect(refusal(['note'])).toMatch(/--input note: expected name=value/);
    const missing = refusal([]);
    expect(missing).toMatch(/input 'note' is required/);
    expect(missing).toMatch(
      /its inputs: note \(string, required\), count \(number, default 1\), dryRun \(boolean, default false\), target \(one of staging\|prod\)$/,
    );
  });
});
