import { createHash } from 'node:crypto';
import { BadInputError, canonicalImage, type ImageOptions, resolveImage } from '@hiveforge/sdk';
import { Parser } from 'tar';
import { describe, expect, it } from 'vitest';
import { buildContext, IMAGE_LABEL, renderDockerfile } from './dockerfile.js';

const description = {
  from: 'hiveforge-test/busybox:1',
  steps: ['apk add git', 'echo "$HOME" \\\n  && echo done'],
  env: { ZED: 'last', ALPHA: 'a $b "c" \\d' },
  workdir: '/work space',
};

function entriesOf(tar: Buffer): Promise<{ path: string; mode: number; uid: number; mtime: number; body: string }[]> {
  return new Promise((resolve, reject) => {
    const entries: { path: string; mode: number; uid: number; mtime: number; body: string }[] = [];
    const parser = new Parser({
      onReadEntry: (entry) => {
        let body = '';
        entry.on('data', (d: Buffer) => {
          body += d.toString();
        });
        entry.on('end', () =>
          entries.push({
            path: entry.path,
            mode: entry.mode ?? -1,
            uid: entry.uid ?? -1,
            mtime: entry.mtime?.getTime() ?? -1,
            body,
          }),
        );
      },
    });
    parser.on('end', () => resolve(entries));
    parser.on('error', reject);
    parser.end(tar);
  });
}

describe('renderDockerfile and buildContext', () => {
  it('the same description gives byte-identical Dockerfile and context, whatever the env order', () => {
    const a = resolveImage('tools', description);
    const b = resolveImage('tools', { ...description, env: { ALPHA: description.env.ALPHA, ZED: 'last' } });
    expect(b.tag).toBe(a.tag);
    expect(renderDockerfile(b)).toBe(renderDockerfile(a));
    expect(buildContext(b).equals(buildContext(a))).toBe(true);
    const changed = resolveImage('tools', { ...description, steps: ['apk add git'] });
    expect(changed.tag).not.toBe(a.tag);
    expect(renderDockerfile(changed)).not.toBe(renderDockerfile(a));
  });

  it('the tag is the hash of the canonical description the label carries', () => {
    const spec = resolveImage('tools', description);
    const hash = createHash('sha256').update(canonicalImage(spec)).digest('hex').slice(0, 20);
    expect(spec.tag).toBe(`hiveforge/tools:${hash}`);
    expect(renderDockerfile(spec)).toContain(`LABEL ${IMAGE_LABEL}=`);
  });

  it('renders FROM, the labels, sorted ENV, WORKDIR and one exec-form RUN per step', () => {
    const dockerfile = renderDockerfile(resolveImage('tools', description));
    const lines = dockerfile.trimEnd().split('\n');
    expect(lines.slice(1, 3)).toEqual(['ARG HIVEFORGE_BASE=hiveforge-test/busybox:1', 'FROM $' + '{HIVEFORGE_BASE}']);
    expect(lines[4]).toBe('ENV ALPHA="a \\$b \\"c\\" \\\\d"');
    expect(lines[5]).toBe('ENV ZED="last"');
    expect(lines[6]).toBe('WORKDIR "/work space"');
    expect(lines.slice(7).map((l) => JSON.parse(l.slice('RUN '.length)))).toEqual(
      description.steps.map((s) => ['/bin/sh', '-c', s]),
    );
    // A step's newline stays inside its JSON: one instruction per line.
    expect(lines).toHaveLength(9);
  });

  it('the context is a tar holding only the Dockerfile, owned by root, mode 0644, mtime 0', async () => {
    const spec = resolveImage('tools', description);
    const entries = await entriesOf(buildContext(spec));
    expect(entries).toEqual([{ path: 'Dockerfile', mode: 0o644, uid: 0, mtime: 0, body: renderDockerfile(spec) }]);
  });

  it('refuses what a Dockerfile cannot carry with a BadInputError', () => {
    const bad: ImageOptions[] = [
      { ...description, env: { 'NOT VALID': 'x' } },
      { ...description, env: { OK: 'line\nbreak' } },
      { ...description, workdir: 'relative' },
      { ...description, from: 'two words' },
    ];
    for (const options of bad) {
      expect(() => renderDockerfile(resolveImage('tools', options))).toThrow(BadInputError);
    }
  });
});
