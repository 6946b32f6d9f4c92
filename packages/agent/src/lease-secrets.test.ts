import type { Lease } from '@hiveforge/coordinator';
import { describe, expect, it } from 'vitest';
import { declaredSecretsOf } from './lease-secrets.js';

const leaseWith = (declared: string[], extra: Partial<Lease> = {}) =>
  ({ spec: { secrets: declared }, ...extra }) as unknown as Lease;

describe('declaredSecretsOf', () => {
  it("gives only declared secrets, the lease's over the agent's own of the same name", () => {
    const own = { A: 'agent-a', B: 'agent-b', UNDECLARED: 'x' };
    expect(declaredSecretsOf(leaseWith(['A', 'B'], { secrets: { A: 'lease-a', C: 'lease-c' } }), own)).toEqual({
      values: { A: 'lease-a', B: 'agent-b' },
      withheld: [],
      missing: [],
    });
  });

  it('names the declared secrets with no value anywhere', () => {
    expect(declaredSecretsOf(leaseWith(['A', 'Z']), { A: 'a' }).missing).toEqual(['Z']);
  });

  it("withholds a fork pull request's secrets, even the agent's own: each reads as ''", () => {
    expect(declaredSecretsOf(leaseWith(['A'], { withheldSecrets: ['A'] }), { A: 'agent-a' })).toEqual({
      values: { A: '' },
      withheld: ['A'],
      missing: [],
    });
  });
});
