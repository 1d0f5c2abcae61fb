// Validation shared by the trainers' settings (pretraining, task fine-tuning, caption fine-tuning):
// every problem is collected, then one TrainConfigError lists them all.
import { PRESETS } from '../models/index.js';
import { TrainConfigError } from './errors.js';
import { resolveWarmupSteps } from './schedule.js';
import { PRECISIONS, type Precision } from './loop.js';

/** The settings every trainer has (pretraining, task and caption fine-tuning). */
export interface CommonTrainSettings {
  /** model size (a fine-tune from a checkpoint takes the source run's) */
  preset: string;
  /** training data: a dataset spec (see `flm --help`): shapes:train?n=20000, karpathy:..., wds:..., arrow:... */
  data: string;
  /** the run folder */
  out: string;
  steps: number;
  /** effective batch (micro-batch x accumulation x processes) */
  batchSize: number;
  /** examples per forward pass, batchSize a multiple of it; null (captioning): the whole batch */
  microBatch: number | null;
  lr: number;
  /** warmup steps, or a fraction of `steps` when < 1 */
  warmup: number;
  endLr: number;
  decayPower: number;
  weightDecay: number;
  lrMultHead: number;
  lrMultCrossModal: number;
  optimizer: 'adamw' | 'adamw-hf';
  /** global gradient-norm clipping (0: off, as the official recipe) */
  clipNorm: number;
  /** dropout of the text and fusion layers (null: the preset's or the source model's) */
  dropRate: number | null;
  /** a tokenizer.json for a model built from scratch; null: train a byte-level BPE on the data's captions */
  tokenizer: string | null;
  vocabSize: number | null;
  /** RandAugment on the training images */
  augment: boolean;
  /** image decode worker threads */
  workers: number;
  seed: number;
  /** intra-op threads (0: all cores) */
  threads: number;
  logEvery: number;
  saveEvery: number;
  keepLast: number;
  /** consecutive non-finite losses tolerated before the run stops */
  maxNonFinite: number;
  /** stop after this many seconds of training (0: no limit) */
  timeBudgetS: number;
  /** 'bf16': bfloat16 autocast of the forward pass (CPU); 'fp32': float32 throughout */
  precision: Precision;
}

export class SettingChecks<C extends object> {
  readonly bad: string[] = [];
  constructor(readonly c: C) {}

  fail(message: string): void {
    this.bad.push(message);
  }

  int(k: keyof C & string, min: number): void {
    const v = this.c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(`${k} must be an integer >= ${min}, got ${String(v)}`);
  }

  num(k: keyof C & string, min: number, max = Infinity): void {
    const v = this.c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) this.fail(`${k} must be a number in [${min}, ${max}], got ${String(v)}`);
  }

  bool(k: keyof C & string): void {
    if (typeof this.c[k] !== 'boolean') this.fail(`${k} must be true or false, got ${String(this.c[k])}`);
  }

  /** Throws one error listing every problem found ("invalid <what> config"). */
  done(what: string): C {
    if (this.bad.length) throw new TrainConfigError(`invalid ${what} config:\n  - ${this.bad.join('\n  - ')}`);
    return this.c;
  }
}

/** Checks the settings every trainer has; `dataLabel` names the data the trainer wants. */
export function checkCommonSettings<C extends CommonTrainSettings>(ch: SettingChecks<C>, dataLabel = 'a dataset spec'): void {
  const c = ch.c;
  if (!PRECISIONS.includes(c.precision)) ch.fail(`precision must be one of ${PRECISIONS.join(', ')}, got '${String(c.precision)}'`);
  if (!(c.preset in PRESETS)) ch.fail(`preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${String(c.preset)}'`);
  if (typeof c.data !== 'string' || !c.data) ch.fail(`data (${dataLabel}) is required`);
  if (typeof c.out !== 'string' || !c.out) ch.fail('out (the run folder) is required');
  for (const k of ['steps', 'batchSize', 'logEvery', 'saveEvery', 'keepLast'] as const) ch.int(k, 1);
  for (const k of ['seed', 'threads', 'workers', 'maxNonFinite'] as const) ch.int(k, 0);
  ch.num('lr', 0, 10); ch.num('warmup', 0, Number.MAX_SAFE_INTEGER); ch.num('endLr', 0, 10); ch.num('decayPower', 0, 100); ch.num('weightDecay', 0, 10);
  ch.num('lrMultHead', 0, 1e6); ch.num('lrMultCrossModal', 0, 1e6); ch.num('clipNorm', 0, 1e9); ch.num('timeBudgetS', 0, 1e9);
  if (c.dropRate !== null) ch.num('dropRate', 0, 0.99);
  if (c.vocabSize !== null) ch.int('vocabSize', 16);
  if (c.optimizer !== 'adamw' && c.optimizer !== 'adamw-hf') ch.fail(`optimizer must be 'adamw' or 'adamw-hf', got '${String(c.optimizer)}'`);
  if (c.microBatch !== null) {
    ch.int('microBatch', 1);
    if (Number.isInteger(c.batchSize) && Number.isInteger(c.microBatch) && c.batchSize % c.microBatch !== 0) {
      ch.fail(`batchSize (${c.batchSize}) must be a multiple of microBatch (${c.microBatch})`);
    }
  }
  if (c.lr <= c.endLr) ch.fail(`lr (${c.lr}) must be larger than endLr (${c.endLr})`);
  if (Number.isFinite(c.warmup) && c.warmup >= 0 && Number.isInteger(c.steps) && c.steps >= 1) {
    try {
      const w = resolveWarmupSteps(c.warmup, c.steps);
      if (w >= c.steps) ch.fail(`warmup (${w} steps) must be shorter than steps (${c.steps})`);
    } catch (e) {
      ch.fail((e as Error).message);
    }
  }
}
