// `flm settings [command]`: the settings table of the training commands — config key, flag, type and
// range, default, help — as text, JSON or the markdown of docs/settings.md (a test keeps that file current).
import type { Command } from 'commander';
import { defaultOf, defaultText, flagOf, helpOf, settingsOf, COMMON_SETTINGS, type Setting, type TaskSpec } from '../config/settings.js';
import { commandTitle } from '../config/resolve.js';
import { TASKS, taskEntry } from '../tasks/registry.js';
import { printJson } from './json.js';
import { setExitCode } from './exit-code.js';

function typeText(s: Setting<unknown>): string {
  const range = s.min !== undefined || s.max !== undefined ? ` in [${s.min ?? '-inf'}, ${s.max ?? 'inf'}]` : '';
  const base = s.kind === 'choice' ? s.choices!.join(' \\| ') : s.kind === 'int' ? `integer${range}` : s.kind === 'number' ? `number${range}` : s.kind === 'bool' ? 'true \\| false' : 'text';
  return s.nullable ? `${base} \\| null` : base;
}

/** The flag as typed: a switch that is on by default is turned off with --no-<flag>. */
const flagText = (key: string, s: Setting<unknown>): string => (s.kind === 'bool' && s.default === true ? `--no-${flagOf(key, s)}` : `--${flagOf(key, s)}`);

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;

/** docs/settings.md: the common settings with each command's defaults, then each command's own. */
export function settingsMarkdown(): string {
  const lines = [
    '# Training settings',
    '',
    'Generated from the settings tables (`src/config/settings.ts`, each task\'s `spec.ts`) by `flm settings --markdown`;',
    '`test/settings.test.ts` fails when this file is out of date. Every training command (`flm pretrain`,',
    '`flm finetune <task>`) takes these as flags, and a `--config` file (JSON or YAML) takes them as keys, in the',
    'config spelling (`batchSize`) or the flag spelling (`batch-size`); command-line flags override the file. The',
    'resolved settings are saved as `config.json` in the run folder. `null` is written `none` on the command line.',
    'Besides them every training command takes `--config FILE`, `--resume`, `--overwrite`, `--quiet`, `--json` and the launch',
    'flags (`--nproc N`, `--nnodes`, `--node-rank`, `--master-addr`, `--master-port`, `--dist-timeout`, `--store-token`).',
    '',
    '## Settings of every training command',
    '',
    row(['key', 'flag', 'type', ...TASKS.map((t) => `default: ${t.spec.name}`), 'meaning']),
    row(['---', '---', '---', ...TASKS.map(() => '---'), '---']),
  ];
  for (const [key, s] of Object.entries(COMMON_SETTINGS) as [string, Setting<unknown>][]) {
    const aliases = (s.aliases ?? []).map((a) => ` (also \`${a}\`)`).join('');
    lines.push(row([`\`${key}\`${aliases}`, `\`${flagText(key, s)}\``, typeText(s), ...TASKS.map((t) => defaultText(t.spec, key, s).replace(/\|/g, '\\|')), s.help.replace(/\|/g, '\\|')]));
  }
  for (const t of TASKS) {
    const own = Object.entries(t.spec.settings) as [string, Setting<unknown>][];
    lines.push('', `## \`flm ${commandTitle(t.spec)}\``, '', t.spec.description, '');
    if (own.length === 0) {
      lines.push('No settings of its own.');
      continue;
    }
    lines.push(row(['key', 'flag', 'type', 'default', 'meaning']), row(['---', '---', '---', '---', '---']));
    for (const [key, s] of own) lines.push(row([`\`${key}\``, `\`${flagText(key, s)}\``, typeText(s), defaultText(t.spec, key, s), s.help.replace(/\|/g, '\\|')]));
  }
  return `${lines.join('\n')}\n`;
}

function textTable(spec: TaskSpec): string[] {
  return settingsOf(spec).map(([key, s]) => `${key.padEnd(20)} --${flagOf(key, s).padEnd(24)} ${defaultText(spec, key, s).padEnd(34)} ${helpOf(spec, key, s)}`);
}

export function registerSettings(p: Command): void {
  p.command('settings')
    .description('the settings of the training commands: config-file key, flag, default, meaning (docs/settings.md)')
    .argument('[command]', `one of ${TASKS.map((t) => t.spec.name).join(', ')} (default: all)`)
    .option('--markdown', 'print docs/settings.md')
    .option('--json', 'one JSON object: {command, metrics: {}, settings: {<command>: {<key>: {flag, kind, default, ...}}}}')
    .action((name: string | undefined, o: { markdown?: boolean; json?: boolean }, cmd: Command) => {
      const entries = name ? [taskEntry(name)] : TASKS;
      if (o.markdown) process.stdout.write(settingsMarkdown());
      else if (o.json) {
        const settings = Object.fromEntries(entries.map((t) => [t.spec.name, Object.fromEntries(settingsOf(t.spec).map(([k, s]) => [k, {
          ...s, flag: flagText(k, s), default: defaultOf(t.spec, k, s), defaultText: defaultText(t.spec, k, s),
        }]))]));
        printJson('settings', {}, { settings });
      } else {
        for (const t of entries) console.log([`flm ${commandTitle(t.spec)}:`, ...textTable(t.spec).map((l) => `  ${l}`)].join('\n'));
      }
      setExitCode(cmd, 0);
    });
}
