import type { Lease } from '@hiveforge/coordinator';

/** The secrets a job gets, from its declaration (see {@link declaredSecretsOf}). */
export interface DeclaredSecrets {
  /** The value of each declared secret there is one for, by name. */
  values: Record<string, string>;
  /** Declared secrets kept from a pull request from a fork: the job reads each as `''`. */
  withheld: string[];
  /** Declared secrets with no value anywhere: the job cannot run. */
  missing: string[];
}

/**
 * The values of the secrets a job declares, and only those: the lease's (stored secrets the
 * coordinator decrypted) win over the agent's own `--secret` of the same name, so that what
 * the cluster's maintainers set is what jobs get. The lease's withheld names (a pull request
 * from a fork) get no value, not even the agent's: they read as the empty string, as GitHub
 * Actions gives forks, so that `ctx.secrets.NAME` is a string for every declared name.
 */
export function declaredSecretsOf(lease: Lease, own: Readonly<Record<string, string>>): DeclaredSecrets {
  const withheld = new Set(lease.withheldSecrets ?? []);
  const fromLease = lease.secrets ?? {};
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of lease.spec.secrets) {
    if (withheld.has(name)) {
      values[name] = '';
      continue;
    }
    const value = Object.hasOwn(fromLease, name) ? fromLease[name] : Object.hasOwn(own, name) ? own[name] : undefined;
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  return { values, withheld: lease.spec.secrets.filter((name) => withheld.has(name)), missing };
}
