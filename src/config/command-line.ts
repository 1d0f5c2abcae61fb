// The command line that runs a training command with given settings: `flm pretrain --preset tiny ...`,
// every setting that differs from the command's default spelled as its flag (the model card of
// `flm export` shows how a model was made this way). Pure data, like the rest of config/.
import { defaultOf, flagOf, settingsOf, type TaskSpec } from './settings.js';
import { commandTitle, upgradeSavedSettings } from './resolve.js';

/** A word for a POSIX shell: as it is when it is plain, else single-quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `flm <command> --flag value ...` for resolved settings (a run's config.json, a checkpoint's
 * settings; older spellings are upgraded first). Settings at their default are left out, booleans are
 * `--flag` / `--no-flag`, null is `none`.
 */
export function commandLineOf(spec: TaskSpec, settings: Record<string, unknown>): string {
  const c = upgradeSavedSettings(spec, settings);
  const words = ['flm', ...commandTitle(spec).split(' ')];
  for (const [key, s] of settingsOf(spec)) {
    const v = c[key];
    if (v === undefined || JSON.stringify(v) === JSON.stringify(defaultOf(spec, key, s))) continue;
    const flag = flagOf(key, s);
    if (s.kind === 'bool') words.push(v === true ? `--${flag}` : `--no-${flag}`);
    else words.push(`--${flag}`, v === null ? 'none' : shellWord(String(v)));
  }
  return words.join(' ');
}
