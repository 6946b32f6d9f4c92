import { errorCodeOf, isTransportError } from './client.js';

/** Sends one batch of log chunks; resolves when the coordinator has it. */
export type SendLogBatch = (chunks: { seq: number; offset: number; text: string }[]) => Promise<void>;

export interface LogShipperOptions {
  send: SendLogBatch;
  /** Values replaced by `***` before anything leaves the agent. */
  secrets?: readonly string[];
  /** Called with every masked line, for local display. */
  onText?: (text: string) => void;
  /** @default 100 */
  flushIntervalMs?: number;
  /** @default 64 KiB */
  chunkBytes?: number;
}

/** Buffers a job's output, masks secrets, and ships it in ordered, idempotent batches. */
export interface LogShipper {
  write(text: string): void;
  /** Sends everything written so far. */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
  /** True once the coordinator fenced this attempt: further output is dropped. */
  readonly fenced: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates a log shipper. Chunks carry sequence and byte offset, so a resend is dropped server-side. */
export function createLogShipper(options: LogShipperOptions): LogShipper {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  const mask = (text: string) => secrets.reduce((t, s) => t.replaceAll(s, '***'), text);
  const chunkBytes = options.chunkBytes ?? 65_536;
  let partial = '';
  let queue: string[] = [];
  let seq = 0;
  let offset = 0;
  let fenced = false;
  let sending: Promise<void> = Promise.resolve();

  const takeLines = (all: boolean) => {
    const cut = all ? partial.length : partial.lastIndexOf('\n') + 1;
    if (cut <= 0) return;
    const text = mask(partial.slice(0, cut));
    partial = partial.slice(cut);
    options.onText?.(text);
    queue.push(text);
  };

  const sendQueued = async () => {
    if (queue.length === 0 || fenced) {
      queue = [];
      return;
    }
    const text = queue.join('');
    queue = [];
    const chunks: { seq: number; offset: number; text: string }[] = [];
    for (let i = 0; i < text.length; i += chunkBytes) {
      const piece = text.slice(i, i + chunkBytes);
      chunks.push({ seq: seq++, offset, text: piece });
      offset += Buffer.byteLength(piece);
    }
    for (let i = 0; i < chunks.length; i += 16) {
      const batch = chunks.slice(i, i + 16);
      for (let attempt = 0; ; attempt++) {
        try {
          await options.send(batch);
          break;
        } catch (error) {
          if (errorCodeOf(error) === 'HF_FENCED') {
            fenced = true;
            return;
          }
          if (!isTransportError(error) || attempt >= 8) throw error;
          await sleep(Math.min(2_000, 50 * 2 ** attempt));
        }
      }
    }
  };

  const flush = () => {
    takeLines(true);
    sending = sending.then(sendQueued, sendQueued);
    return sending;
  };

  const timer = setInterval(() => {
    takeLines(false);
    if (queue.length) sending = sending.then(sendQueued, sendQueued).catch(() => {});
  }, options.flushIntervalMs ?? 100);
  timer.unref();

  return {
    write(text) {
      partial += text;
      if (partial.length > chunkBytes) takeLines(false);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
    get fenced() {
      return fenced;
    },
  };
}
