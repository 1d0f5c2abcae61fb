// Runs the flm CLI in this process, capturing what it prints.
import { run } from '../src/cli/main.js';

/** Captures console.log / console.error / console.warn while `flm ...args` runs in-process. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error, warn } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  console.warn = console.error;
  try {
    const code = await run(['node', 'flm', ...args]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}
