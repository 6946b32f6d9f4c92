/** One regular file of an in-memory tar. */
export interface TarEntry {
  /** A relative path of at most 100 bytes. */
  path: string;
  content: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry): Buffer {
  const block = Buffer.alloc(BLOCK);
  const name = Buffer.from(entry.path);
  if (name.length === 0 || name.length > 100)
    throw new RangeError(`tar entry path must be 1 to 100 bytes: ${entry.path}`);
  name.copy(block, 0);
  block.write(octal(0o644, 8), 100, 'ascii'); // mode
  block.write(octal(0, 8), 108, 'ascii'); // uid
  block.write(octal(0, 8), 116, 'ascii'); // gid
  block.write(octal(entry.content.length, 12), 124, 'ascii'); // size
  block.write(octal(0, 12), 136, 'ascii'); // mtime: the epoch, always
  block.write(' '.repeat(8), 148, 'ascii'); // checksum placeholder
  block.write('0', 156, 'ascii'); // a regular file
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/**
 * A ustar archive of regular files in the given order, owned by 0:0 with mode 0644 and mtime 0:
 * the same entries are the same bytes, whoever makes them and whenever.
 */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(header(entry), entry.content);
    const pad = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
