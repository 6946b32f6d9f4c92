/** One message of the engine's JSON progress stream (build, pull, push). */
export interface EngineMessage {
  /** Build output text, newlines included. */
  stream?: string;
  /** Pull/push status (`Pulling fs layer`, `Pushed`, `digest: …`). */
  status?: string;
  /** The layer a status is about. */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string; code?: number };
  /** The built image's id (`{ ID: 'sha256:…' }`) or a push's digest. */
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

/** The messages of an engine progress stream, one per JSON line, as they arrive. */
export async function* engineMessages(stream: AsyncIterable<Buffer | string>): AsyncGenerator<EngineMessage> {
  let buffer = '';
  for await (const chunk of stream) {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield parse(line);
      newline = buffer.indexOf('\n');
    }
  }
  if (buffer.trim()) yield parse(buffer.trim());
}

function parse(line: string): EngineMessage {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as EngineMessage) : { stream: `${line}\n` };
  } catch {
    return { stream: `${line}\n` };
  }
}

/** The error a message reports, if it is one. */
export function messageError(message: EngineMessage): string | undefined {
  return message.error ?? message.errorDetail?.message;
}

/**
 * The log text of a message: build output as it is; a pull or push status as one line, except
 * the byte-count updates of a layer in flight, which would flood a job's log.
 */
export function messageText(message: EngineMessage): string {
  if (message.stream !== undefined) return message.stream;
  if (message.status === undefined || message.progressDetail?.current !== undefined) return '';
  return `${message.id ? `${message.id}: ` : ''}${message.status}\n`;
}

/** Keeps the last `maxLines` lines of a text stream, for the message of a failure. */
export function createTail(maxLines = 40): { push(text: string): void; text(): string } {
  const lines: string[] = [];
  let partial = '';
  return {
    push(text) {
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > maxLines) lines.shift();
      }
    },
    text: () => [...lines, ...(partial ? [partial] : [])].join('\n'),
  };
}
