/**
 * The coordinators an agent may talk to. Any coordinator can serve any request, so when one
 * cannot be reached (refused, reset, 502/503/504) the same request goes to the next.
 */
export interface Endpoints {
  /** The coordinator currently in use. */
  current(): string;
  /** `fetch` against the current coordinator, moving on to the next when it cannot answer. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

const RETRY_STATUS = new Set([502, 503, 504]);

/** Creates endpoints over one or more coordinator base URLs. */
export function createEndpoints(urls: readonly string[]): Endpoints {
  if (urls.length === 0) throw new Error('at least one coordinator URL is needed');
  const bases = urls.map((u) => u.replace(/\/+$/, ''));
  let index = 0;
  return {
    current: () => bases[index] as string,
    async fetch(path, init) {
      let lastError: unknown;
      for (let tried = 0; tried < bases.length; tried++) {
        const base = bases[index] as string;
        try {
          const res = await fetch(`${base}${path}`, init);
          if (!RETRY_STATUS.has(res.status) || tried === bases.length - 1) return res;
          lastError = new Error(`${base} answered ${res.status}`);
        } catch (error) {
          if ((error as Error).name === 'AbortError' || init?.signal?.aborted) throw error;
          lastError = error;
        }
        index = (index + 1) % bases.length;
      }
      throw lastError;
    },
  };
}
