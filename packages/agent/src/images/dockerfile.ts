import { BadInputError, canonicalImage, type ImageSpec } from '@hiveforge/sdk';
import { createTar } from './tar.js';

/** The label whose value is the canonical JSON of the description an image was built from. */
export const IMAGE_LABEL = 'dev.hiveforge.image';
/** The label whose value is the image's declared name. */
export const IMAGE_NAME_LABEL = 'dev.hiveforge.image.name';
/**
 * The build argument `FROM` reads, defaulting to the description's base: a builder that pulled
 * the base through its registry passes the registry's reference here, and the Dockerfile stays
 * the same bytes.
 */
export const BASE_ARG = 'HIVEFORGE_BASE';

// Control characters cannot be written in a Dockerfile instruction (a newline ends it).
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A double-quoted Dockerfile word that Docker reads back as exactly `value`: inside double
 * quotes its lexer unescapes `\\`, `\"` and `\$` and expands every other `$`.
 */
function quote(value: string): string {
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

function checkDescription(spec: ImageSpec): void {
  const where = `image '${spec.name}'`;
  if (!spec.from || /\s/.test(spec.from)) {
    throw new BadInputError(
      `${where}: from must be one image reference without spaces, got ${JSON.stringify(spec.from)}`,
    );
  }
  for (const [name, value] of Object.entries(spec.env)) {
    if (!ENV_NAME.test(name)) {
      throw new BadInputError(`${where}: env name ${JSON.stringify(name)} is not a valid variable name`);
    }
    if (hasControl(value)) {
      throw new BadInputError(
        `${where}: env ${name} holds a control character (a newline?), which an image cannot carry`,
      );
    }
  }
  if (spec.workdir !== null && (!spec.workdir.startsWith('/') || hasControl(spec.workdir))) {
    throw new BadInputError(
      `${where}: workdir must be an absolute path without control characters, got ${JSON.stringify(spec.workdir)}`,
    );
  }
}

/**
 * Renders the Dockerfile of an image description: a pure function of the description, so the
 * same description is the same Dockerfile, byte for byte, on every agent.
 *
 * Order: `ARG` {@link BASE_ARG} (the base), `FROM` it, the labels, `ENV` (sorted by name),
 * `WORKDIR`, then one `RUN` per step, so steps run in the image's working directory and see its
 * environment. Steps use the exec form
 * (`["/bin/sh","-c",step]`, what the shell form runs) because JSON carries any step, newlines
 * and `$` included, unchanged.
 * @throws BadInputError when the description holds something a Dockerfile cannot express.
 */
export function renderDockerfile(spec: ImageSpec): string {
  checkDescription(spec);
  const content = { from: spec.from, steps: spec.steps, env: spec.env, workdir: spec.workdir };
  const lines = [
    `# hiveforge image ${JSON.stringify(spec.name)}: generated from its description; do not edit.`,
    `ARG ${BASE_ARG}=${spec.from}`,
    `FROM \${${BASE_ARG}}`,
    `LABEL ${IMAGE_LABEL}=${quote(canonicalImage(content))} ${IMAGE_NAME_LABEL}=${quote(spec.name)}`,
  ];
  for (const name of Object.keys(spec.env).sort()) lines.push(`ENV ${name}=${quote(spec.env[name] ?? '')}`);
  if (spec.workdir !== null) lines.push(`WORKDIR ${quote(spec.workdir)}`);
  for (const step of spec.steps) lines.push(`RUN ${JSON.stringify(['/bin/sh', '-c', step])}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The build context of an image description: an uncompressed tar holding only its Dockerfile,
 * with fixed mode, owner and mtime, so the same description is the same bytes everywhere.
 */
export function buildContext(spec: ImageSpec): Buffer {
  return createTar([{ path: 'Dockerfile', content: Buffer.from(renderDockerfile(spec)) }]);
}
