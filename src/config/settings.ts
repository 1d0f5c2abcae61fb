// The training settings table: every setting declared once — its config key, its flag, its type and
// range, its default and its help. The settings every training command takes are here; a task's own
// settings and its defaults for the common ones are in its folder's spec.ts (TaskSpec), so the
// commands that use a setting are the tasks whose spec holds it. The CLI options (with their defaults
// in --help), the config-file keys, the validation and the saved config.json all follow from these
// tables (resolve.ts, cli/train-command.ts). Pure data: the CLI reads it without loading the engine.
export const PRESET_NAMES = ['tiny', 'mini', 'small', 'base'] as const;

/** The learning recipes: how new layers are initialised (tasks/common/init-scale.ts, VQA's head biases). */
export const RECIPES = ['fast', 'official'] as const;
export type RecipeName = (typeof RECIPES)[number];

export const DEFAULT_PRETRAIN_DATA = 'shapes:train?n=20000&seed=1';

type Kind = 'int' | 'number' | 'string' | 'bool' | 'choice';

export interface Setting<T> {
  kind: Kind;
  help: string;
  /** the default (a task's spec may override it) */
  default: T;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** null is a value: given as `none` on the command line; `nullHelp` says what it means */
  nullable?: boolean;
  nullHelp?: string;
  /** the command-line spelling (default: the key in kebab case) */
  flag?: string;
  /** further config-file / command-line spellings */
  aliases?: readonly string[];
  /** metavar in --help */
  arg?: string;
}

const int = (help: string, min: number, d: number, o: Partial<Setting<number>> = {}): Setting<number> => ({ kind: 'int', help, min, default: d, arg: 'n', ...o });
const num = (help: string, min: number, max: number, d: number, o: Partial<Setting<number>> = {}): Setting<number> => ({ kind: 'number', help, min, max, default: d, arg: 'x', ...o });
const str = (help: string, d: string, o: Partial<Setting<string>> = {}): Setting<string> => ({ kind: 'string', help, default: d, arg: 'spec', ...o });
const optStr = (help: string, nullHelp: string, o: Partial<Setting<string | null>> = {}): Setting<string | null> =>
  ({ kind: 'string', help, default: null, nullable: true, nullHelp, arg: 'path', ...o });
const optNum = (help: string, min: number, max: number, nullHelp: string, o: Partial<Setting<number | null>> = {}): Setting<number | null> =>
  ({ kind: 'number', help, min, max, default: null, nullable: true, nullHelp, arg: 'x', ...o });
function optChoice<const C extends readonly string[]>(help: string, choices: C, nullHelp: string, o: Partial<Setting<C[number] | null>> = {}): Setting<C[number] | null> {
  return { kind: 'choice', help, choices, default: null, nullable: true, nullHelp, arg: 'name', ...o };
}
const bool = (help: string, d: boolean): Setting<boolean> => ({ kind: 'bool', help, default: d });
function choice<const C extends readonly string[]>(help: string, choices: C, d: C[number], o: Partial<Setting<C[number]>> = {}): Setting<C[number]> {
  return { kind: 'choice', help, choices, default: d, arg: 'name', ...o };
}


/** Settings of every training command (a task's spec adds its own). */
export const COMMON_SETTINGS = {
  from: optStr('start from: a run folder (its latest checkpoint), a checkpoint folder, a converted model (flm convert); pretraining also takes a .safetensors weights file; weights load by name', 'the preset\'s random init', { aliases: ['init'], arg: 'dir' }),
  preset: choice('model size (a fine-tune --from a run takes its source\'s)', PRESET_NAMES, 'small'),
  data: str('training data: a dataset spec (see `flm data --help`)', DEFAULT_PRETRAIN_DATA),
  valData: optStr('held-out data evaluated every --eval-every steps and at the end; the best checkpoint is kept by its metric', 'no evaluation', {
    aliases: ['evalData'], arg: 'spec',
  }),
  out: optStr('run folder: config.json, metrics.jsonl, curves, checkpoints/', 'runs/<objective>', { arg: 'dir' }),
  steps: int('optimiser steps', 1, 300),
  batchSize: int('effective batch: micro-batch x accumulation x processes', 1, 32),
  microBatch: { kind: 'int', help: 'examples per forward pass (gradient accumulation when smaller than the batch)', min: 1, default: null, nullable: true, nullHelp: 'the batch size', arg: 'n' } as Setting<number | null>,
  lr: num('base learning rate, above --end-lr (linear warmup, then polynomial decay to --end-lr)', 0, 10, 1e-4),
  endLr: num('learning rate at the last step', 0, 10, 0),
  decayPower: num('power of the polynomial decay (1: linear)', 0, 100, 1),
  warmup: num('warmup steps, or a fraction of the steps when < 1', 0, Number.MAX_SAFE_INTEGER, 0.1),
  weightDecay: num('AdamW weight decay (none on biases and LayerNorm weights)', 0, 10, 0.01),
  lrMultHead: num('learning-rate multiplier of the heads', 0, 1e6, 5),
  lrMultCrossModal: num('learning-rate multiplier of the cross-modal and reconstructor layers', 0, 1e6, 5),
  lrMultVision: num('learning-rate multiplier of the image tower (1: the official recipe, made for a pretrained CLIP)', 0, 1e6, 1),
  optimizer: choice('adamw (torch) | adamw-hf (transformers 4.6, as the official code)', ['adamw', 'adamw-hf'] as const, 'adamw'),
  clipNorm: num('global gradient-norm clipping (0: off, the official recipe)', 0, 1e9, 0),
  maxNonFinite: int('consecutive non-finite steps skipped before the run stops', 0, 10),
  dropRate: optNum('dropout in the text and fusion layers', 0, 0.99, 'the preset\'s or the source model\'s'),
  tokenizer: optStr('a Hugging Face tokenizer.json for a model built from scratch', 'the source run\'s, else a byte-level BPE trained on the data'),
  vocabSize: { kind: 'int', help: 'vocabulary size of a trained tokenizer', min: 16, default: null, nullable: true, nullHelp: 'the preset\'s (at least 384)', arg: 'n' } as Setting<number | null>,
  augment: bool('RandAugment on the training images (official clip_randaug)', false),
  workers: int('image decode worker threads (0: in the main thread)', 0, 1),
  seed: int('random seed (data order, initialisation, draws)', 0, 0),
  threads: int('intra-op threads (0: all cores, shared by the processes)', 0, 0),
  logEvery: int('log every n steps', 1, 10),
  tensorboard: bool('also write the logged numbers as TensorBoard scalars (events.out.tfevents.* in the run folder; `tensorboard --logdir runs/`)', true),
  saveEvery: int('checkpoint every n steps', 1, 100),
  evalEvery: int('evaluate --val-data (and checkpoint) every n steps', 1, 100),
  evalBatch: int('evaluation batch: texts per image pass (retrieval), examples or images per pass', 1, 64),
  evalLimit: int('evaluate only the first n images of --val-data (retrieval, captioning), or its first examples in whole evaluation batches (0: all)', 0, 0),
  keepLast: int('step checkpoints kept (the best one is kept besides)', 1, 2),
  timeBudgetS: num('stop after this many seconds of training (evaluations not counted; 0: no limit)', 0, 1e9, 0, { flag: 'time-budget', arg: 's' }),
  recipe: choice('how new layers start: fast (Linear weights at std max(0.02, 1/sqrt(fan_in)), a new VQA classifier\'s biases at the answers\' log-odds: narrow models learn from scratch in minutes) | official (N(0, 0.02) weights, zero biases)', RECIPES, 'fast'),
  precision: choice('fp32 | bf16 (bfloat16 autocast of the forward pass; parameters and optimiser stay float32)', ['fp32', 'bf16'] as const, 'fp32'),
};

/** A setting table: config key -> setting. */
export type SettingsTable = Record<string, Setting<unknown>>;

type ValueOf<S> = S extends Setting<infer T> ? T : never;
export type SettingsOf<G> = { [K in keyof G]: ValueOf<G[K]> };

/** Resolved settings every training command has (what config.json holds); `out` is always set. */
export type TrainSettings = Omit<SettingsOf<typeof COMMON_SETTINGS>, 'out'> & { out: string };

/**
 * A training command as data: its name (`pretrain`, or the task of `flm finetune <task>`), its own
 * settings, its defaults for the common ones, and its evaluation data. Each task folder has one.
 */
export interface TaskSpec<G extends SettingsTable = SettingsTable> {
  readonly name: string;
  readonly description: string;
  /** settings only this command has */
  readonly settings: G;
  /** this command's defaults of common settings (its recipe) */
  readonly defaults: Partial<TrainSettings>;
  /** default data of `flm eval <task>` */
  readonly testData?: string;
  /** `flm eval <task>`: what it reports; `ownCommand`: the task registers a richer one itself (captioning) */
  readonly evaluation?: { readonly description: string; readonly ownCommand?: boolean };
  /** help of common settings where the meaning narrows for this command */
  readonly help?: Partial<Record<keyof TrainSettings, string>>;
  /** the default run folder given the other settings */
  defaultOut?(c: Record<string, unknown>): string;
  /** a checkpoint's state.json (its `config` included) written by an earlier version, in today's terms */
  upgradeSaved?(state: Record<string, unknown>): Record<string, unknown>;
}

/** Resolved settings of a command. */
export type ConfigOf<S extends TaskSpec> = TrainSettings & SettingsOf<S['settings']>;

/** The settings table of a command, as [key, setting] pairs (common first). */
export function settingsOf(spec: TaskSpec): [string, Setting<unknown>][] {
  return [...Object.entries(COMMON_SETTINGS), ...Object.entries(spec.settings)] as [string, Setting<unknown>][];
}

export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function flagOf(key: string, s: Setting<unknown>): string {
  return s.flag ?? kebab(key);
}

export function defaultOf(spec: TaskSpec, key: string, s: Setting<unknown>): unknown {
  const d = (spec.defaults as Record<string, unknown>)[key];
  return d !== undefined ? d : s.default;
}

/** The default settings of a command (out resolved). */
export function defaultsOf<S extends TaskSpec>(spec: S): ConfigOf<S> {
  const d: Record<string, unknown> = {};
  for (const [k, s] of settingsOf(spec)) d[k] = defaultOf(spec, k, s);
  d.out = defaultOut(spec, d);
  return d as ConfigOf<S>;
}

export function defaultOut(spec: TaskSpec, c: Record<string, unknown>): string {
  return spec.defaultOut ? spec.defaultOut(c) : `runs/${spec.name}`;
}

/** The default as --help shows it. */
export function defaultText(spec: TaskSpec, key: string, s: Setting<unknown>): string {
  if (key === 'out') return spec.defaultOut ? (s.nullHelp ?? '') : `runs/${spec.name}`;
  const d = defaultOf(spec, key, s);
  if (d === null) return s.nullHelp ?? 'none';
  if (s.kind === 'bool') return d ? 'on' : 'off';
  return String(d);
}

/** Help of a setting for a command. */
export function helpOf(spec: TaskSpec, key: string, s: Setting<unknown>): string {
  return (spec.help as Record<string, string> | undefined)?.[key] ?? s.help;
}

/** Builders for task folders' own settings. */
export const setting = { int, num, str, optStr, optNum, bool, choice, optChoice };
