// The protocol agents of bench/dispatch.mjs: N agents that register, then pull -> (start ->)
// complete with no job bodies, all in one worker thread (this file is its entry), so that the
// coordinators under test keep the main thread to themselves.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createAgentClient } from '@hiveforge/agent';
import { sleep, startLoadThread } from './dispatch-bullmq.mjs';

/** The registration secret of the coordinators the protocol agents talk to. */
export const SECRET = 'bench-secret';
const OK = { status: 'succeeded', exitCode: 0, error: null, outputs: {} };

/** One protocol agent: registers, then pulls -> (starts ->) completes until stopped, in `loop`. */
async function protocolAgent({ url, name, withStart, completeAndPull, signal, onComplete, onError }) {
  const { token } = await createAgentClient({ url }).agent.register.mutate({
    secret: SECRET,
    name,
    labels: [],
    capacity: 1,
  });
  const client = createAgentClient({ url, token: () => token });
  // Each request id is sent once (an error starts over with a new one): `resend: false`.
  const pull = () => ({ requestId: randomUUID(), waitMs: 5_000, resend: false });
  // The pull riding on a completion does not wait: the completion is answered at once, and an
  // agent that got no job waits in a plain pull.
  const pullNow = () => ({ requestId: randomUUID(), waitMs: 0, resend: false });
  const loop = (async () => {
    let lease = null;
    while (!signal.aborted) {
      try {
        lease ??= (await client.agent.pull.mutate(pull(), { signal })).lease;
        if (!lease) continue;
        const attempt = { jobId: lease.jobId, attempt: lease.attempt };
        if (withStart) await client.agent.start.mutate(attempt);
        const done = await client.agent.complete.mutate(
          { ...attempt, result: OK, next: completeAndPull ? pullNow() : undefined },
          { signal },
        );
        lease = done.next?.lease ?? null;
        onComplete();
      } catch (error) {
        lease = null;
        if (signal.aborted) return;
        onError(error);
        await sleep(20);
      }
    }
  })();
  return { loop };
}

async function runAgents({ urls, agents, withStart, completeAndPull }) {
  const stop = new AbortController();
  // Every agent's requests listen on the one stop signal.
  setMaxListeners(0, stop.signal);
  let completed = 0;
  let expected = Number.POSITIVE_INFINITY;
  const errors = [];
  const check = () => {
    if (completed < expected) return;
    expected = Number.POSITIVE_INFINITY;
    parentPort.postMessage({ type: 'reached', completed });
  };
  const loops = [];
  for (let i = 0; i < agents; i++) {
    const { loop } = await protocolAgent({
      url: urls[i % urls.length],
      name: `bench-agent-${i}`,
      withStart,
      completeAndPull,
      signal: stop.signal,
      onComplete: () => {
        completed++;
        check();
      },
      onError: (error) => {
        if (errors.length < 1_000) errors.push(String(error?.message ?? error).slice(0, 200));
      },
    });
    loops.push(loop);
  }
  parentPort.on('message', async (message) => {
    if (message.type === 'expect') {
      expected = message.total;
      check();
    } else if (message.type === 'stop') {
      stop.abort();
      await Promise.all(loops);
      parentPort.postMessage({ type: 'stopped', completed, errors });
    }
  });
  parentPort.postMessage({ type: 'ready' });
}

if (!isMainThread && workerData?.kind === 'protocol-agents') await runAgents(workerData);

/** Starts the agents' worker thread; `reached(total, ms)` waits until `total` jobs completed. */
export async function startFleet(options) {
  const thread = await startLoadThread(new URL(import.meta.url), { kind: 'protocol-agents', ...options });
  return {
    reached: thread.reached,
    async stop() {
      const result = await thread.stop();
      return result?.errors ?? ['the agents did not stop within 10 s'];
    },
  };
}
