// How artifact archives should be compressed: gzip levels (and no compression) on a real
// installed node_modules tree and on incompressible bytes, each measured as a tar stream.
//
//   node bench/artifact-compression.mjs [DIR]      # DIR: a directory holding node_modules (default: this repository)
//
// Prints, per content and level: archive size, ratio to the plain tar, and the time to compress
// (tar bytes already in memory, so only the compressor is timed), best of 3.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import * as tar from 'tar';

const root = resolve(process.argv[2] ?? '.');

async function tarOf(cwd, paths) {
  const parts = [];
  for await (const chunk of tar.create({ cwd, portable: true }, paths)) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

function measure(label, data) {
  const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`\n${label}: plain tar ${mib(data.length)}`);
  console.log('level | size | ratio | compress time | MiB/s');
  for (const level of [0, 1, 3, 6, 9]) {
    let best = Number.POSITIVE_INFINITY;
    let size = data.length;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      size = level === 0 ? data.length : gzipSync(data, { level, strategy: constants.Z_DEFAULT_STRATEGY }).length;
      best = Math.min(best, performance.now() - started);
    }
    const rate = level === 0 ? '-' : (data.length / 1024 / 1024 / (best / 1000)).toFixed(0);
    console.log(
      `${level === 0 ? 'none' : `gzip -${level}`} | ${mib(size)} | ${(size / data.length).toFixed(3)} | ${level === 0 ? '0' : best.toFixed(0)} ms | ${rate}`,
    );
  }
  // What the agent's sampler sees: the first 1 MiB compressed at level 1.
  const sample = data.subarray(0, 1024 * 1024);
  console.log(`first MiB at gzip -1: ratio ${(gzipSync(sample, { level: 1 }).length / sample.length).toFixed(3)}`);
}

const modules = await tarOf(root, ['node_modules']);
measure(`node_modules of ${root}`, modules);
measure('random bytes (already-compressed content)', randomBytes(128 * 1024 * 1024));
