import type { Command } from 'commander';

/** Commands record their exit code on the command object (commander actions cannot return one). */
export function setExitCode(cmd: Command, code: number): void {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  root.setOptionValue('__exitCode', code);
}

export function exitCodeOf(root: Command): number {
  const c = root.getOptionValue('__exitCode') as number | undefined;
  return typeof c === 'number' ? c : 0;
}
