// `flm` command line: one subcommand per job, each a thin layer over the library.
import { Command, Option } from 'commander';
import { registerInfo } from './info.js';
import { registerBench } from './bench.js';
import { registerData } from './data.js';
import { registerParity } from './parity.js';
import { registerPretrain } from './pretrain.js';
import { registerDemo } from './demo.js';
import { registerLaunch } from './launch.js';
import { registerInference } from './inference.js';
import { registerFinetune } from './finetune.js';
import { registerEval } from './eval.js';
import { registerCompare } from './compare.js';
import { registerConvert } from './convert.js';
import { registerSettings } from './settings.js';
import { registerExport } from './export.js';
import { registerDashboard } from './dashboard.js';
import { registerProbe } from './probe.js';
import { exitCodeOf } from './exit-code.js';
import { flmVersion } from './version.js';

export function program(): Command {
  const p = new Command('flm')
    .description('Free Language Modeling (FLM) vision-language pretraining on libtorch')
    .version(flmVersion(), '-V, --version', 'print the flm version')
    .showHelpAfterError('(add --help for the options)')
    .exitOverride();
  registerInfo(p);
  registerBench(p);
  registerData(p);
  registerDemo(p);
  registerPretrain(p);
  registerParity(p);
  registerLaunch(p);
  registerInference(p);
  registerFinetune(p);
  registerEval(p);
  registerCompare(p);
  registerProbe(p);
  registerConvert(p);
  registerSettings(p);
  registerExport(p);
  registerDashboard(p);
  return p;
}

/** Runs the CLI; returns the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const p = program();
  try {
    await p.parseAsync(argv);
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number; message?: string };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return ce.exitCode ?? 1;
    console.error(`flm: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.FLM_TRACE) console.error(e instanceof Error ? e.stack : e);
    return 1;
  }
  return exitCodeOf(p);
}

export { Option };
