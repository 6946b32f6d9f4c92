import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size.js';
import { formatBytes } from './errors.js';

describe('byte sizes', () => {
  it('parses binary units, as memory limits are written, and plain numbers', () => {
    expect(parseByteSize('10Mi')).toBe(10 * 1024 * 1024);
    expect(parseByteSize('1Gi')).toBe(1024 ** 3);
    expect(parseByteSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('512k')).toBe(512 * 1024);
    expect(parseByteSize('2048')).toBe(2048);
    expect(parseByteSize(4096)).toBe(4096);
  });

  it('refuses what is not a size, with a typed error', () => {
    for (const bad of ['10XB', 'lots', '', '-1Mi', '1 Mi Mi']) {
      expect(() => parseByteSize(bad)).toThrow(expect.objectContaining({ code: 'HF_BAD_INPUT' }));
    }
    expect(() => parseByteSize(-1)).toThrow(/invalid size/);
  });

  it('a quota message reads in binary units', () => {
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(Math.round(12.34 * 1024 * 1024))).toBe('12.3 MiB');
    expect(formatBytes(6_815_744)).toBe('6.5 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatBytes(500)).toBe('500 bytes');
  });
});
