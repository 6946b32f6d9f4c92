import type { RunTrigger } from '../store/types.js';
import type { SchedulerContext } from './context.js';

/** What a lease carries of secrets (see `Lease.secrets` and `Lease.withheldSecrets`). */
export interface LeaseSecrets {
  secrets?: Record<string, string>;
  withheldSecrets?: string[];
}

/**
 * The decrypted values of the stored secrets a job declares, for its lease: the pipeline's own
 * before a global one of the same name. A run of a pull request from a fork gets none: every
 * declared name is withheld. A job that declares none costs no read. A value that does not
 * decrypt (a wrong key, an altered document) is left out, so the agent reports the secret missing.
 */
export async function leaseSecretsOf(
  ctx: SchedulerContext,
  declared: readonly string[],
  pipeline: string,
  trigger: RunTrigger,
): Promise<LeaseSecrets> {
  if (declared.length === 0) return {};
  if (trigger.event === 'pullRequest' && trigger.fork === true) return { withheldSecrets: [...declared] };
  const cipher = ctx.secrets;
  if (!cipher) return {};
  const stored = await ctx.store.getSecretsFor(declared, pipeline);
  const secrets: Record<string, string> = {};
  // Global ones first, so that a pipeline's own of the same name replaces them.
  for (const record of [...stored].sort((a, b) => (a.pipeline === null ? 0 : 1) - (b.pipeline === null ? 0 : 1))) {
    try {
      secrets[record.name] = cipher.decrypt({ name: record.name, pipeline: record.pipeline }, record);
    } catch {
      // Left out: the agent says the job lacks it.
    }
  }
  return Object.keys(secrets).length > 0 ? { secrets } : {};
}
