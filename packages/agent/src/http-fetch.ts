import http from 'node:http';
import https from 'node:https';

/** The part of a fetch `Response` the API client reads. */
export interface JsonResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: Headers;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** The part of `RequestInit` the API client sends: a method, string headers, a string or byte body. */
export interface JsonRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | null;
  signal?: AbortSignal | null;
  /**
   * Fails the request with a `TimeoutError` (code `ETIMEDOUT`) when its whole answer has not
   * arrived this many milliseconds after it was sent. @default no limit
   */
  timeoutMs?: number;
}

/** A fetch for API calls with string bodies. */
export type JsonFetch = (url: string, init?: JsonRequestInit) => Promise<JsonResponse>;

const abortError = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');

/** The error of a request that ran past its `timeoutMs`. */
const timeoutError = (url: string, ms: number): Error =>
  Object.assign(new Error(`no answer from ${url} within ${ms} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' });

/**
 * Creates a fetch for API calls over `node:http` with keep-alive connections. Every job costs an
 * agent a few API calls; over loopback, Node's built-in `fetch` spends several times the CPU of
 * a plain `http.request` on each, which caps how many jobs a fleet of agents on one machine can
 * move. Bodies are strings (the API speaks JSON) or bytes (compressed JSON); responses are read
 * whole.
 */
export function createJsonFetch(): JsonFetch & { close(): void } {
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  /**
   * Request options of the URLs called, parsed once: an agent calls the same few URLs over and
   * over, and parsing one cost a noticeable share of a call. (URLs with a query, which carry a
   * call's input, are parsed each time.)
   */
  const targets = new Map<string, http.RequestOptions & { protocol: string }>();
  const targetOf = (url: string) => {
    let target = targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = {
        protocol: parsed.protocol,
        hostname: parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname,
        port: parsed.port || undefined,
        path: `${parsed.pathname}${parsed.search}`,
        ...(parsed.username || parsed.password
          ? { auth: `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}` }
          : {}),
      };
      if (parsed.search) return target;
      if (targets.size >= 256) targets.clear();
      targets.set(url, target);
    }
    return target;
  };
  const jsonFetch = (url: string, init: JsonRequestInit = {}) =>
    new Promise<JsonResponse>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(abortError(signal));
      let target: ReturnType<typeof targetOf>;
      try {
        target = targetOf(url);
      } catch (error) {
        return reject(error);
      }
      const transport = target.protocol === 'https:' ? https : http;
      const agent = agents[target.protocol as keyof typeof agents];
      if (!agent) return reject(new TypeError(`unsupported protocol in ${url}`));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
      const body = init.body ?? undefined;
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = transport.request({ ...target, method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => {
          clearTimeout(deadline);
          reject(error);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let responseHeaders: Headers | undefined;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            // Built when asked for: API calls rarely look.
            get headers() {
              if (!responseHeaders) {
                responseHeaders = new Headers();
                for (const [k, v] of Object.entries(res.headers)) {
                  if (Array.isArray(v)) for (const item of v) responseHeaders.append(k, item);
                  else if (v !== undefined) responseHeaders.set(k, v);
                }
              }
              return responseHeaders;
            },
            text: async () => text,
            json: async () => JSON.parse(text),
          });
        });
      });
      const onAbort = () => req.destroy(abortError(signal as AbortSignal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const deadline =
        init.timeoutMs === undefined
          ? undefined
          : setTimeout(() => req.destroy(timeoutError(url, init.timeoutMs as number)), init.timeoutMs);
      req.on('error', (error) => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      req.end(body);
    });
  return Object.assign(jsonFetch, {
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  });
}
