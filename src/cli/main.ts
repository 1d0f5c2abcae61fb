// `flm` command line: one subcommand per job, each a thin layer over the library.
import { Command, Option } from 'commander';
import { registerInfo } from './info.js';
import { registerBench } from './bench.js';
import { registerData } from './data.js';

export function program(): Command {
  const p = new Command('flm')
    .description('Free Language Modeling (FLM) vision-language pretraining on libtorch')
    .showHelpAfterError()
    .exitOverride();
  registerInfo(p);
  registerBench(p);
  registerData(p);
  return p;
}

/** Runs the CLI; returns the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const p = program();
  let code = 0;
  p.hook('postAction', (_cmd, action) => {
    const c = action.getOptionValue('__exitCode') as number | undefined;
    if (typeof c === 'number') code = c;
  });
  try {
    await p.parseAsync(argv);
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number; message?: string };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return ce.exitCode ?? 1;
    console.error(`flm: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  return code;
}

/** Commands record their exit code here (commander actions cannot return one). */
export function setExitCode(cmd: Command, code: number): void {
  cmd.setOptionValue('__exitCode', code);
}

export { Option };
