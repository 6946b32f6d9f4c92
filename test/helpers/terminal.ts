import { spawn } from 'node:child_process';
import { cliBin, repoRoot } from './cli.js';

/** What {@link runInTerminal} resolves with: the exit code and every byte written to the terminal. */
export interface TerminalResult {
  code: number | null;
  output: string;
}

/**
 * Runs `hiveforge ARGS` under a pseudo-terminal (util-linux `script`), with color on; resolves
 * with all it wrote. `env` adds variables (a login, say).
 */
export function runInTerminal(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<TerminalResult> {
  const command = [process.execPath, cliBin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const env: Record<string, string | undefined> = {
    ...process.env,
    TERM: 'xterm-256color',
    COLUMNS: '120',
    ...options.env,
  };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: repoRoot,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hiveforge under a terminal timed out:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The output without its color sequences (cursor movements and clears stay). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
export const withoutColor = (output: string): string => output.replace(/\x1b\[[0-9;]*m/g, '');

/** What a terminal shows at the end of `output`: applies line clears, cursor-up and erase-below. */
export function finalScreen(output: string): string[] {
  const screen: string[] = [];
  let row = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  const tokens = withoutColor(output).split(/(\x1b\[[0-9;]*[A-Za-z]|\r\n|\n|\r)/);
  for (const t of tokens) {
    if (!t) continue;
    if (t === '\n' || t === '\r\n') row++;
    else if (t === '\r') continue;
    else if (t.startsWith('\x1b[')) {
      const n = Number(t.slice(2, -1) || '1');
      const op = t.at(-1);
      if (op === 'A') row = Math.max(0, row - n);
      else if (op === 'K') screen[row] = '';
      else if (op === 'J') screen.length = row;
    } else screen[row] = (screen[row] ?? '') + t;
  }
  return screen.slice(0, row).map((l) => l ?? '');
}
