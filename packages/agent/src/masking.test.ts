import { describe, expect, it } from 'vitest';
import { MASK, createMasker, maskResult } from './masking.js';

const SECRET = 'p@ss w0rd/+?é"\\x';

/** Feeds `text` to a stream of `masker` in pieces of `size` and returns what came out. */
function streamed(values: string[], text: string, size: number): string {
  const stream = createMasker(values).stream();
  let out = '';
  for (let i = 0; i < text.length; i += size) out += stream.push(text.slice(i, i + size));
  return out + stream.end();
}

describe('masking', () => {
  it('masks the raw value and leaves short values and other text alone', () => {
    const masker = createMasker(['hunter22', 'ab', '']);
    expect(masker.mask('pw=hunter22, ab stays')).toBe(`pw=${MASK}, ab stays`);
    expect(createMasker(['ab']).active).toBe(false);
  });

  it('masks base64, standard and URL-safe, at each of the three alignments inside a longer text', () => {
    const masker = createMasker([SECRET]);
    for (const prefix of ['', 'x', 'xy', 'xyz']) {
      for (const suffix of ['', '1', '12']) {
        const b64 = Buffer.from(`${prefix}${SECRET}${suffix}`).toString('base64');
        const url = Buffer.from(`${prefix}${SECRET}${suffix}`).toString('base64url');
        for (const encoded of [b64, url]) {
          const masked = masker.mask(`data: ${encoded} end`);
          expect(masked, `${prefix}|${suffix}`).toContain(MASK);
          // What is left of the encoding cannot give the secret back.
          expect(Buffer.from(masked.replace(MASK, ''), 'base64').toString('latin1')).not.toContain('w0rd');
        }
      }
    }
  });

  it('masks hex (lower and upper case), URL-encoded and JSON-escaped forms', () => {
    const masker = createMasker([SECRET]);
    const hex = Buffer.from(SECRET).toString('hex');
    const forms = [
      hex,
      hex.toUpperCase(),
      encodeURIComponent(SECRET),
      encodeURIComponent(SECRET).replace(/%20/g, '+'),
      encodeURIComponent(SECRET)
        .toLowerCase()
        .replace(/p%40ss/, 'p%40ss'),
      JSON.stringify(SECRET).slice(1, -1),
      JSON.stringify(SECRET).slice(1, -1).replace(/é/g, '\\u00e9'),
    ];
    for (const form of forms) expect(masker.mask(`[${form}]`), form).toBe(`[${MASK}]`);
    expect(masker.mask(JSON.stringify({ token: SECRET }))).toBe(`{"token":"${MASK}"}`);
  });

  it('masks each line of a multi-line value', () => {
    const key = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----';
    const masker = createMasker([key]);
    const out = masker.mask(`key:\n${key.replace(/\r\n/g, '\n')}\nonly one line: BKcwggSjAgEAAoIBAQC7\n`);
    expect(out).not.toMatch(/MIIEvQ|BKcwgg|BEGIN KEY|END KEY/);
    expect(out).toBe(`key:\n${MASK}\n${MASK}\n${MASK}\n${MASK}\nonly one line: ${MASK}\n`);
  });

  it('masks a secret split over writes of any size, and holds back only the end of the last line', () => {
    const text = `a ${SECRET} b\n${Buffer.from(SECRET).toString('base64')}\nend ${Buffer.from(SECRET).toString('hex')}`;
    const expected = createMasker([SECRET]).mask(text);
    expect(expected.match(/\*\*\*/g)).toHaveLength(3);
    for (let size = 1; size <= text.length; size++)
      expect(streamed([SECRET], text, size), `size ${size}`).toBe(expected);

    const stream = createMasker([SECRET]).stream();
    expect(stream.push('done\nhalf of p@ss')).toBe('done\n');
    expect(stream.held).toBe('half of p@ss'.length);
    expect(stream.push(` w0rd/+?é"\\x!\n`)).toBe(`half of ${MASK}!\n`);
    expect(stream.held).toBe(0);
  });

  it('passes text through at once when there is nothing to mask', () => {
    const stream = createMasker([]).stream();
    expect(stream.push('partial line')).toBe('partial line');
  });

  it('prefers the longest form where several start at the same place', () => {
    const masker = createMasker(['abcdef', 'abcdefghij']);
    expect(masker.mask('xabcdefghijx abcdefx')).toBe(`x${MASK}x ${MASK}x`);
    expect(streamed(['abcdef', 'abcdefghij'], 'xabcdefghijx abcdefx', 3)).toBe(`x${MASK}x ${MASK}x`);
  });

  it("masks a result's error and outputs", () => {
    const masker = createMasker([SECRET]);
    expect(
      maskResult(masker, {
        status: 'failed',
        error: `command exited with status 1\n${SECRET}`,
        outputs: { token: Buffer.from(SECRET).toString('base64'), plain: 'ok' },
      }),
    ).toEqual({
      status: 'failed',
      error: `command exited with status 1\n${MASK}`,
      outputs: { token: MASK, plain: 'ok' },
    });
  });
});
