/**
 * The coordinators an agent may talk to. Any coordinator can serve any request, so when one
 * cannot be reached (refused, reset, 502/503/504) the same request goes to the next.
 */
export interface Endpoints {
  /** The coordinator currently in use. */
  current(): string;
  /**
   * `fetch` against the current coordinator, moving on to the next when it cannot answer.
   * `via` is the fetch to use (the global `fetch` by default). `init` may be a function of the
   * try (0 for the first coordinator asked), for a request that says whether it was sent before.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  fetch<R extends { status: number }, I extends { signal?: AbortSignal | null }>(
    path: string,
    init: I | ((tried: number) => I) | undefined,
    via: (url: string, init?: I) => Promise<R>,
  ): Promise<R>;
}

const RETRY_STATUS = new Set([502, 503, 504]);

/** Creates endpoints over one or more coordinator base URLs. */
export function createEndpoints(urls: readonly string[]): Endpoints {
  if (urls.length === 0) throw new Error('at least one coordinator URL is needed');
  const bases = urls.map((u) => u.replace(/\/+$/, ''));
  let index = 0;
  async function fetchVia(
    path: string,
    initOrOf?: { signal?: AbortSignal | null } | ((tried: number) => { signal?: AbortSignal | null }),
    via: (url: string, init?: never) => Promise<{ status: number }> = fetch,
  ) {
    let lastError: unknown;
    for (let tried = 0; tried < bases.length; tried++) {
      const base = bases[index] as string;
      const init = typeof initOrOf === 'function' ? initOrOf(tried) : initOrOf;
      try {
        const res = await via(`${base}${path}`, init as never);
        if (!RETRY_STATUS.has(res.status) || tried === bases.length - 1) return res;
        lastError = new Error(`${base} answered ${res.status}`);
      } catch (error) {
        if ((error as Error).name === 'AbortError' || init?.signal?.aborted) throw error;
        lastError = error;
      }
      index = (index + 1) % bases.length;
    }
    throw lastError;
  }
  return { current: () => bases[index] as string, fetch: fetchVia as Endpoints['fetch'] };
}
