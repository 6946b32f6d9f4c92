import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';

/** The answer to a file upload: its status and its body, read whole (a short JSON reply). */
export interface FileUploadResponse {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
}

/** What {@link putFile} sends. */
export interface FileUploadInit {
  method?: string;
  headers: Record<string, string>;
  /** The file sent as the body, and its size (sent as `content-length`). */
  file: string;
  size: number;
  signal?: AbortSignal | null;
}

/**
 * Sends a file as a request body over `node:http`, reading it only as fast as the socket takes
 * it. Not `fetch`: Node 20's fetch (undici) read a 512 MiB file body, given as a file Blob or as
 * a stream, whole into memory before the server had taken it (peak RSS 590 MiB against 83 MiB
 * for this; docs/benchmarks.md, "Artifact memory").
 */
export function putFile(url: string, init: FileUploadInit): Promise<FileUploadResponse> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: init.method ?? 'PUT',
        headers: { ...init.headers, 'content-length': String(init.size) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({ ok: status >= 200 && status < 300, status, json: async () => JSON.parse(text) as unknown });
        });
      },
    );
    req.on('error', reject);
    // The signal's own reason (a TimeoutError for a deadline) is the error, as fetch gives it.
    const signal = init.signal;
    const onAbort = () => {
      reject(signal?.reason);
      req.destroy();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    // A server that answers before taking the whole body (a refusal) ends the upload early:
    // its answer, not the broken pipe, is the result.
    pipeline(createReadStream(init.file), req).catch((error: Error & { code?: string }) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET' && error.code !== 'ERR_STREAM_PREMATURE_CLOSE')
        reject(error);
    });
  });
}
