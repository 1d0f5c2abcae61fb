// The training commands (`flm pretrain`, `flm finetune <task>`), built from the settings tables: each
// setting becomes an option with its default in --help; --config files, validation and config.json
// follow from the same table (config/resolve.ts). The run flags (--config, --resume, --overwrite,
// --quiet, --json, the launch flags) are the same for every training command. They are not settings:
// config.json does not keep them (a copied config must not resume or delete anything).
import { Option, type Command } from 'commander';
import { camel, defaultText, flagOf, helpOf, kebab, settingsOf, type Setting, type TaskSpec } from '../config/settings.js';
import type { TaskEntry } from '../tasks/registry.js';
import { readConfigFile } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { addLaunchOptions } from './launch.js';
import { printJson } from './json.js';

/** The option of one setting (`--batch-size <n>`, `--augment`, `--no-new-tokens`). */
function settingOption(spec: TaskSpec, key: string, s: Setting<unknown>): Option {
  const flag = flagOf(key, s);
  const help = `${helpOf(spec, key, s)} (default: ${defaultText(spec, key, s)})`;
  if (s.kind === 'bool') return s.default === true ? new Option(`--no-${flag}`, help.replace(/ \(default: on\)$/, ' (default: on; this turns it off)')) : new Option(`--${flag}`, help);
  const listed = s.choices?.every((c) => help.includes(c)) ?? true;
  const values = listed ? '' : ` ${s.choices!.join(' | ')}${s.nullable ? ' | none' : ''}:`;
  return new Option(`--${flag} <${s.arg ?? 'value'}>`, values ? `${values.trim()} ${help}` : help);
}

/** Adds the options of a command's settings table and the shared run flags. */
export function addSettingOptions(cmd: Command, spec: TaskSpec): Command {
  cmd.option('--config <file>', 'settings from a JSON or YAML file (keys as in config.json, or the flag spelling); command-line flags override it');
  for (const [key, s] of settingsOf(spec)) {
    cmd.addOption(settingOption(spec, key, s));
    for (const alias of s.aliases ?? []) {
      cmd.addOption(new Option(`--${kebab(alias)} <${s.arg ?? 'value'}>`, `same as --${flagOf(key, s)}`));
    }
  }
  cmd.option('--resume', 'continue the run in --out from its latest checkpoint (the saved settings hold; --steps, --time-budget, --threads and --no-tensorboard may change)')
    .option('--overwrite', 'start a new run in an --out that holds an earlier run\'s checkpoints, deleting them (without it, that is an error)')
    .option('--quiet', 'no progress line')
    .option('--json', 'print the result as one JSON object ({command, metrics, ...}; see docs/json.md)');
  return addLaunchOptions(cmd);
}

/** The setting values given on the command line, by config key (aliases mapped to their setting). */
export function givenSettings(cmd: Command, spec: TaskSpec): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  const opts = cmd.opts<Record<string, unknown>>();
  for (const [key, s] of settingsOf(spec)) {
    const flag = flagOf(key, s);
    const names = [flag, ...(s.aliases ?? [])].map(camel);
    for (const name of names) {
      if (cmd.getOptionValueSource(name) !== 'cli') continue;
      const v = opts[name];
      if (typeof v === 'string' || typeof v === 'boolean') out[key] = v;
    }
  }
  return out;
}

interface RunFlags {
  config?: string;
  resume?: boolean;
  overwrite?: boolean;
  quiet?: boolean;
  json?: boolean;
  nproc?: number;
}

/** Registers one training command for a registry entry under `parent` (the program or `finetune`). */
export function registerTrainCommand(parent: Command, entry: TaskEntry, name = entry.spec.name): Command {
  const spec = entry.spec;
  const cmd = parent.command(name).description(spec.description);
  addSettingOptions(cmd, spec);
  cmd.action(async (f: RunFlags, c: Command) => {
    const { launchSelfIfRequested } = await import('../dist/launch.js');
    const launched = await launchSelfIfRequested(f);
    if (launched !== null) return setExitCode(c, launched);
    const { resolveSettings, commandTitle, givenKeys } = await import('../config/resolve.js');
    const file = f.config ? { values: readConfigFile(f.config), name: f.config } : undefined;
    const input = { ...(file ? { file } : {}), flags: givenSettings(c, spec) };
    const settings = resolveSettings(spec, input);
    const { recipe } = await entry.load();
    const { train } = await import('../train/trainer.js');
    const r = await train(recipe, settings, { resume: f.resume ?? false, overwrite: f.overwrite ?? false, quiet: f.quiet ?? false, explicit: givenKeys(spec, input) });
    if (process.env.RANK !== undefined && process.env.RANK !== '0') return setExitCode(c, 0);
    const title = commandTitle(spec);
    if (f.json) {
      const { details: _d, ...lastEval } = r.lastEval ?? { details: null };
      printJson(title, { steps: r.steps, final_loss: r.finalLoss, elapsed_s: r.elapsedS, ...(r.lastEval?.metrics ?? {}) }, {
        run_dir: r.runDir, stopped: r.stopped, skipped_nonfinite: r.skippedNonFinite, best: r.best, last_eval: r.lastEval ? lastEval : null,
      });
    } else {
      const fmt = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ');
      const best = r.best ? `; best step ${r.best.step}: ${fmt(r.best.metrics)}` : '';
      console.error(`flm ${title}: ${r.stopped} after ${r.steps} steps in ${r.elapsedS.toFixed(1)} s; final loss ${r.finalLoss?.toFixed(4) ?? '-'}${best}; run folder ${r.runDir}`);
    }
    setExitCode(c, 0);
  });
  return cmd;
}
