// From the settings table to one validated run configuration: the command's defaults, then a config
// file (keys in the config spelling `batchSize`, the flag spelling `batch-size`, or an alias), then
// command-line values, then the checks — every problem found is reported at once.
import { warmupStepsOf } from './warmup.js';
import { camel, defaultOf, defaultOut, flagOf, kebab, settingsOf, type ConfigOf, type Setting, type TaskSpec } from './settings.js';

/** A setting that cannot work (named in the message), or a checkpoint that does not fit the run. */
export class TrainConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainConfigError';
  }
}

/** Every spelling a config file or caller may use for each key of the command: spelling -> key. */
export function spellings(spec: TaskSpec): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, s] of settingsOf(spec)) {
    const flag = flagOf(key, s);
    for (const name of [key, flag, camel(flag), ...(s.aliases ?? []), ...(s.aliases ?? []).map(kebab)]) m.set(name, key);
  }
  return m;
}

/** Parses one command-line value of a setting; null with a message in `bad` when it does not parse. */
function parseFlag(key: string, s: Setting<unknown>, raw: string | boolean, bad: string[]): unknown {
  const flag = `--${flagOf(key, s)}`;
  if (typeof raw === 'boolean') return raw;
  if (s.nullable && (raw === 'none' || raw === 'null')) return null;
  if (s.kind === 'int' || s.kind === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) {
      bad.push(`${flag} must be ${s.kind === 'int' ? 'an integer' : 'a number'}, got '${raw}'`);
      return undefined;
    }
    return n;
  }
  if (s.kind === 'bool') {
    if (raw === 'true' || raw === 'false') return raw === 'true';
    bad.push(`${flag} must be true or false, got '${raw}'`);
    return undefined;
  }
  return raw;
}

/** Type and range of one value against its table entry; a message or null. */
export function checkValue(key: string, s: Setting<unknown>, v: unknown): string | null {
  if (v === null) return s.nullable ? null : `${key} must not be null`;
  const range = `${s.min ?? '-inf'}, ${s.max ?? 'inf'}`;
  switch (s.kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= (s.min ?? -Infinity) && v <= (s.max ?? Infinity) ? null : `${key} must be an integer in [${range}], got ${JSON.stringify(v)}`;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && v >= (s.min ?? -Infinity) && v <= (s.max ?? Infinity) ? null : `${key} must be a number in [${range}], got ${JSON.stringify(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? null : `${key} must be true or false, got ${JSON.stringify(v)}`;
    case 'choice':
      return typeof v === 'string' && s.choices!.includes(v) ? null : `${key} must be one of ${s.choices!.join(', ')}${s.nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`;
    case 'string':
      return typeof v === 'string' && v.length > 0 ? null : `${key} must be a non-empty string${s.nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`;
  }
}

/** Checks that involve several settings; messages appended to `bad`. */
function crossChecks(c: Record<string, unknown>, bad: string[]): void {
  const n = (k: string): number => c[k] as number;
  if (typeof c.lr === 'number' && typeof c.endLr === 'number' && n('lr') >= 0 && n('endLr') >= 0 && n('lr') <= n('endLr')) bad.push(`lr (${n('lr')}) must be larger than endLr (${n('endLr')})`);
  const mb = c.microBatch;
  if (typeof mb === 'number' && Number.isInteger(mb) && Number.isInteger(c.batchSize) && n('batchSize') % mb !== 0) {
    bad.push(`batchSize (${n('batchSize')}) must be a multiple of microBatch (${mb})`);
  }
  if (typeof c.warmup === 'number' && Number.isFinite(c.warmup) && c.warmup >= 0 && Number.isInteger(c.steps) && n('steps') >= 1) {
    const w = warmupStepsOf(n('warmup'), n('steps'));
    if ('error' in w) bad.push(w.error);
    else if (w.steps >= n('steps')) bad.push(`warmup (${w.steps} steps) must be shorter than steps (${n('steps')})`);
  }
  // pretraining: the contrastive term reads the FLM model's unimodal embeddings
  if (typeof c.itcWeight === 'number' && c.itcWeight > 0 && typeof c.objective === 'string' && c.objective !== 'flm') {
    bad.push(`itcWeight (${n('itcWeight')}) applies to the flm objective only, not ${c.objective}`);
  }
  const micro = typeof mb === 'number' ? mb : c.batchSize;
  if (typeof c.itcWeight === 'number' && c.itcWeight > 0 && typeof micro === 'number' && micro < 2) {
    bad.push(`itcWeight (${n('itcWeight')}) needs micro-batches of at least 2 examples (the others are each example's negatives), got ${micro}`);
  }
}

export interface SettingsInput {
  /** a config file's object and its name (for messages) */
  file?: { values: Record<string, unknown>; name: string };
  /** command-line values by config key: strings as typed, booleans for switches */
  flags?: Record<string, string | boolean>;
  /** typed values (library callers); applied after the file and before the flags */
  values?: Record<string, unknown>;
}

/** The command's defaults overlaid with a file, values and flags, checked; throws TrainConfigError listing every problem. */
export function resolveSettings<S extends TaskSpec>(spec: S, input: SettingsInput = {}): ConfigOf<S> {
  const table = new Map(settingsOf(spec));
  const names = spellings(spec);
  const bad: string[] = [];
  const c: Record<string, unknown> = {};
  const fromFlags = new Set<string>();
  for (const [k, s] of table) c[k] = defaultOf(spec, k, s);
  const overlay = (values: Record<string, unknown>, where: string): void => {
    const seen = new Map<string, string>();
    for (const [name, v] of Object.entries(values)) {
      const key = names.get(name);
      if (key === undefined) bad.push(`${where}: unknown setting '${name}' for ${commandTitle(spec)}`);
      else if (v !== undefined) {
        const other = seen.get(key);
        if (other !== undefined && JSON.stringify(values[other]) !== JSON.stringify(v)) bad.push(`${where}: '${other}' and '${name}' are the same setting with different values`);
        seen.set(key, name);
        c[key] = v;
      }
    }
  };
  if (input.file) overlay(input.file.values, `config file ${input.file.name}`);
  if (input.values) overlay(input.values, 'settings');
  for (const [key, raw] of Object.entries(input.flags ?? {})) {
    const s = table.get(key);
    if (!s) bad.push(`unknown option for ${commandTitle(spec)}: ${key}`);
    else {
      const v = parseFlag(key, s, raw, bad);
      if (v !== undefined) {
        c[key] = v;
        fromFlags.add(key);
      }
    }
  }
  return finishSettings(spec, c, bad, fromFlags);
}

/** The keys an input sets explicitly (file, values, flags), in their canonical spelling. */
export function givenKeys(spec: TaskSpec, input: SettingsInput): Set<string> {
  const names = spellings(spec);
  const out = new Set<string>();
  for (const name of [...Object.keys(input.file?.values ?? {}), ...Object.keys(input.values ?? {}), ...Object.keys(input.flags ?? {})]) {
    const key = names.get(name);
    if (key !== undefined) out.add(key);
  }
  return out;
}

/** Checks a complete settings object of a command (a saved config.json, a library caller's object). */
export function validateSettings<S extends TaskSpec>(spec: S, values: Record<string, unknown>): ConfigOf<S> {
  return resolveSettings(spec, { values });
}

function finishSettings<S extends TaskSpec>(spec: S, c: Record<string, unknown>, bad: string[], fromFlags: ReadonlySet<string>): ConfigOf<S> {
  c.out ??= defaultOut(spec, c);
  for (const [k, s] of settingsOf(spec)) {
    // a value typed on the command line is named by its flag, one from a file or caller by its key
    const m = checkValue(fromFlags.has(k) ? `--${flagOf(k, s)}` : k, s, c[k]);
    if (m) bad.push(m);
  }
  crossChecks(c, bad);
  if (bad.length) throw new TrainConfigError(`invalid ${commandTitle(spec)} settings:\n  - ${bad.join('\n  - ')}`);
  return c as ConfigOf<S>;
}

/** `pretrain`, or `finetune <task>`. */
export function commandTitle(spec: TaskSpec): string {
  return spec.name === 'pretrain' ? 'pretrain' : `finetune ${spec.name}`;
}

/** Old saved configs (earlier versions): renamed keys mapped to today's; keys no longer known dropped. */
export function upgradeSavedSettings(spec: TaskSpec, saved: Record<string, unknown>): Record<string, unknown> {
  const names = spellings(spec);
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(saved)) {
    const key = names.get(name);
    if (key !== undefined && (out[key] === undefined || name === key)) out[key] = v;
  }
  return out;
}
