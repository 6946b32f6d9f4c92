import { ErrorCodes } from '@hiveforge/sdk';
import { type DiagnosticSink, type Located, positionOf } from './diagnostic-sink.js';
import { closestMatch } from './suggest.js';

/** A declared job as the graph checks see it. */
export interface GraphJob {
  /** The declared name. */
  name: string;
  /** Instance names: the declared name, or one per matrix combination. */
  instances: readonly string[];
  needs: readonly { name: string; at: Located }[];
  /** The `job(` call. */
  at: Located;
}

const where = (at: Located) => {
  const { line, column } = positionOf(at);
  return `${at.file.rel}:${line}:${column}`;
};

/**
 * Reports duplicate names, unknown needs and dependency cycles, each at the declaration or
 * reference that causes it. Returns the jobs that are unique by name (first declaration wins).
 */
export function checkGraph(
  jobs: readonly GraphJob[],
  sink: DiagnosticSink,
  rejected: ReadonlySet<string> = new Set(),
): GraphJob[] {
  const byName = new Map<string, GraphJob>();
  const instanceOwner = new Map<string, GraphJob>();
  const unique: GraphJob[] = [];
  for (const job of jobs) {
    const first = byName.get(job.name);
    if (first) {
      sink.error(
        ErrorCodes.analysisDuplicateJob,
        job.at,
        `job '${job.name}' is declared twice; the first declaration is on line ${positionOf(first.at).line} (${where(first.at)})`,
        'Give each job a unique name, or declare one job with a `matrix` to run variations of it.',
      );
      continue;
    }
    byName.set(job.name, job);
    unique.push(job);
    for (const instance of job.instances) {
      const owner = instanceOwner.get(instance);
      if (owner && owner !== job) {
        sink.error(
          ErrorCodes.analysisDuplicateJob,
          job.at,
          `job '${job.name}' has an instance named '${instance}', which job '${owner.name}' (${where(owner.at)}) also has`,
          'Rename one of the jobs so their instance names differ.',
        );
      } else instanceOwner.set(instance, job);
    }
  }

  // Edges between declared jobs; a need of a matrix instance is a need of its job.
  const edges = new Map<GraphJob, { to: GraphJob; at: Located }[]>();
  const names = [...byName.keys()];
  for (const job of unique) {
    const out: { to: GraphJob; at: Located }[] = [];
    for (const need of job.needs) {
      const target = byName.get(need.name) ?? instanceOwner.get(need.name);
      if (target) {
        out.push({ to: target, at: need.at });
        continue;
      }
      // A job that exists but was rejected (declared in a loop, say) is already reported.
      if (rejected.has(need.name)) continue;
      const others = names.filter((n) => n !== job.name);
      const suggestion = closestMatch(need.name, others) ?? closestMatch(need.name, instanceOwner.keys());
      sink.error(
        ErrorCodes.analysisUnknownNeed,
        need.at,
        `job '${job.name}' needs '${need.name}', which is not a job of this pipeline.${suggestion ? ` Did you mean '${suggestion}'?` : ''}`,
        names.length <= 12
          ? `The jobs are: ${names.join(', ')}.`
          : 'List jobs by the value job() returns (needs: [build]) so a typo is caught by the compiler.',
      );
    }
    edges.set(job, out);
  }
  reportCycles(unique, edges, sink);
  return unique;
}

/** Finds strongly connected components (Tarjan, iterative) and reports one cycle in each. */
function reportCycles(
  jobs: readonly GraphJob[],
  edges: Map<GraphJob, { to: GraphJob; at: Located }[]>,
  sink: DiagnosticSink,
): void {
  const index = new Map<GraphJob, number>();
  const low = new Map<GraphJob, number>();
  const onStack = new Set<GraphJob>();
  const stack: GraphJob[] = [];
  const components: GraphJob[][] = [];
  let counter = 0;
  for (const root of jobs) {
    if (index.has(root)) continue;
    const work: { job: GraphJob; next: number }[] = [{ job: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const frame = work[work.length - 1] as { job: GraphJob; next: number };
      const out = edges.get(frame.job) ?? [];
      if (frame.next < out.length) {
        const to = (out[frame.next++] as { to: GraphJob }).to;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ job: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.job, Math.min(low.get(frame.job) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.job, Math.min(low.get(parent.job) as number, low.get(frame.job) as number));
      if (low.get(frame.job) === index.get(frame.job)) {
        const component: GraphJob[] = [];
        let member: GraphJob | undefined;
        do {
          member = stack.pop() as GraphJob;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.job);
        components.push(component);
      }
    }
  }
  const order = new Map(jobs.map((job, i) => [job, i]));
  const cyclic = components
    .filter((c) => c.length > 1 || (edges.get(c[0] as GraphJob) ?? []).some((e) => e.to === c[0]))
    .map((c) => c.sort((a, b) => (order.get(a) as number) - (order.get(b) as number)));
  cyclic.sort((a, b) => (order.get(a[0] as GraphJob) as number) - (order.get(b[0] as GraphJob) as number));
  for (const component of cyclic) {
    const cycle = shortestCycle(component[0] as GraphJob, new Set(component), edges);
    const path = [...cycle.jobs, cycle.jobs[0] as GraphJob].map((j) => j.name).join(' -> ');
    sink.error(
      ErrorCodes.analysisCycle,
      cycle.firstEdge,
      cycle.jobs.length === 1
        ? `job '${path.split(' -> ')[0]}' needs itself: ${path}`
        : `jobs depend on each other in a cycle: ${path}`,
      'A job cannot wait for itself, directly or through other jobs: remove one of these needs.',
    );
  }
}

/** The shortest cycle through `start` inside its component (breadth-first). */
function shortestCycle(
  start: GraphJob,
  component: ReadonlySet<GraphJob>,
  edges: Map<GraphJob, { to: GraphJob; at: Located }[]>,
): { jobs: GraphJob[]; firstEdge: Located } {
  const previous = new Map<GraphJob, { from: GraphJob; at: Located }>();
  const queue: GraphJob[] = [start];
  for (let i = 0; i < queue.length; i++) {
    const job = queue[i] as GraphJob;
    for (const edge of edges.get(job) ?? []) {
      if (!component.has(edge.to)) continue;
      if (edge.to === start) {
        const jobs: GraphJob[] = [job];
        let firstEdge = edge.at;
        for (let step = previous.get(job); step; step = previous.get(step.from)) {
          jobs.unshift(step.from);
          firstEdge = step.at;
        }
        return { jobs, firstEdge };
      }
      if (!previous.has(edge.to) && edge.to !== start) {
        previous.set(edge.to, { from: job, at: edge.at });
        queue.push(edge.to);
      }
    }
  }
  return { jobs: [start], firstEdge: start.at };
}
