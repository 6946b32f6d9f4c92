import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalContext } from './__fixtures__/local-context.js';
import { setupNode } from './setup-node.js';

describe('setupNode (the real node)', () => {
  it("accepts the environment's Node.js major and refuses another", async () => {
    await using local = await createLocalContext();
    const major = process.versions.node.split('.')[0] as string;
    expect(await setupNode(local.ctx, { version: major })).toBe(process.versions.node);
    await expect(setupNode(local.ctx, { version: '4' })).rejects.toThrow(/has Node.js .*, not 4/);
  });

  it('asks the node that env and cwd lead to', async () => {
    await using local = await createLocalContext();
    const bin = join(local.workspace, 'old-node');
    await mkdir(bin);
    // A version manager's shim answers by the directory it is asked in.
    await writeFile(
      join(bin, 'node'),
      '#!/bin/sh\nif [ -f .node-version ]; then echo "v$(cat .node-version)"; else echo v0.0.0; fi\n',
    );
    await chmod(join(bin, 'node'), 0o755);
    await mkdir(join(local.workspace, 'app'));
    await writeFile(join(local.workspace, 'app', '.node-version'), '18.20.4');
    const env = { PATH: `${bin}:${process.env.PATH}` };
    expect(await setupNode(local.ctx, { version: '18', cwd: 'app', env })).toBe('18.20.4');
    await expect(setupNode(local.ctx, { version: '18', env })).rejects.toThrow(/has Node.js 0.0.0, not 18/);
  });
});
