// Settings of a caption fine-tuning run (caption.ts), their defaults and their validation.
import { PRECISIONS, type Precision } from '../train/loop.js';
import { PRESETS, type PresetName } from '../models/index.js';
import { TrainConfigError } from '../train/pretrain.js';

export interface CaptionFinetuneConfig {
  /** pretrained FLM run or checkpoint folder; null: the preset's random init */
  init: string | null;
  /** model size without --init */
  preset: PresetName;
  /** training data: a caption dataset spec */
  data: string;
  out: string;
  steps: number;
  /** images per optimiser step (microBatch x accumulation) */
  batchSize: number;
  /** images per forward pass; null: the whole batch at once */
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
  clipNorm: number;
  /** 'official': loss on the reconstructor as released (H.12); null: on the forward stream */
  compat: 'official' | null;
  /** add <bos>/<eos> as new tokens (official); false: reuse <s> / </s> */
  newTokens: boolean;
  /** without --init: a tokenizer.json, or null to train a BPE vocabulary on the data */
  tokenizer: string | null;
  vocabSize: number | null;
  dropRate: number | null;
  augment: boolean;
  workers: number;
  seed: number;
  threads: number;
  logEvery: number;
  saveEvery: number;
  keepLast: number;
  maxNonFinite: number;
  timeBudgetS: number;
  /** 'bf16': bfloat16 autocast of the forward pass (CPU); 'fp32': float32 throughout */
  precision: Precision;
  /** caption dataset evaluated at every save and at the end (best checkpoint = best CIDEr); null: none */
  evalData: string | null;
  /** images evaluated (0: all) */
  evalLimit: number;
  /** beam size of the evaluation decoding (1: greedy) */
  beam: number;
}

export const CAPTION_DEFAULTS: Omit<CaptionFinetuneConfig, 'data' | 'out'> = {
  init: null, preset: 'small', steps: 300, batchSize: 32, microBatch: null, lr: 1e-4, warmup: 0.1, endLr: 0, decayPower: 1, weightDecay: 0.01,
  lrMultHead: 5, lrMultCrossModal: 5, optimizer: 'adamw', clipNorm: 0, compat: null, newTokens: true, tokenizer: null,
  vocabSize: null, dropRate: null, augment: false, workers: 1, seed: 0, threads: 0, logEvery: 10, saveEvery: 100, keepLast: 2,
  maxNonFinite: 10, timeBudgetS: 0, precision: 'fp32', evalData: null, evalLimit: 0, beam: 1,
};

export function validateCaptionConfig(input: CaptionFinetuneConfig): CaptionFinetuneConfig {
  const c: CaptionFinetuneConfig = { ...input, precision: input.precision ?? 'fp32' };
  const bad: string[] = [];
  if (!PRECISIONS.includes(c.precision)) bad.push(`precision must be one of ${PRECISIONS.join(', ')}, got '${String(c.precision)}'`);
  const int = (k: keyof CaptionFinetuneConfig, min: number): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad.push(`${k} must be an integer >= ${min}, got ${String(v)}`);
  };
  const num = (k: keyof CaptionFinetuneConfig, min: number, max = Infinity): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad.push(`${k} must be a number in [${min}, ${max}], got ${String(v)}`);
  };
  if (!(c.preset in PRESETS)) bad.push(`preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${c.preset}'`);
  if (typeof c.data !== 'string' || !c.data) bad.push('data (a caption dataset spec) is required');
  if (typeof c.out !== 'string' || !c.out) bad.push('out (the run folder) is required');
  if (c.init !== null && (typeof c.init !== 'string' || !c.init)) bad.push('init must be a run or checkpoint folder, or null');
  for (const k of ['newTokens', 'augment'] as const) if (typeof c[k] !== 'boolean') bad.push(`${k} must be true or false, got ${String(c[k])}`);
  if (c.compat !== null && c.compat !== 'official') bad.push(`compat must be 'official' or null, got '${String(c.compat)}'`);
  if (c.optimizer !== 'adamw' && c.optimizer !== 'adamw-hf') bad.push(`optimizer must be 'adamw' or 'adamw-hf', got '${String(c.optimizer)}'`);
  int('steps', 1); int('batchSize', 1); int('seed', 0); int('threads', 0); int('logEvery', 1); int('saveEvery', 1); int('keepLast', 1);
  int('workers', 0); int('maxNonFinite', 0); int('evalLimit', 0); int('beam', 1);
  num('lr', 0, 10); num('warmup', 0, Number.MAX_SAFE_INTEGER); num('endLr', 0, 10); num('decayPower', 0, 100); num('weightDecay', 0, 10);
  num('lrMultHead', 0, 1e6); num('lrMultCrossModal', 0, 1e6); num('clipNorm', 0, 1e9); num('timeBudgetS', 0, 1e9);
  if (c.dropRate !== null) num('dropRate', 0, 0.99);
  if (c.vocabSize !== null) int('vocabSize', 16);
  if (c.microBatch !== null) {
    int('microBatch', 1);
    if (Number.isInteger(c.batchSize) && Number.isInteger(c.microBatch) && c.batchSize % c.microBatch !== 0) {
      bad.push(`batchSize (${c.batchSize}) must be a multiple of microBatch (${c.microBatch})`);
    }
  }
  const w = c.warmup < 1 ? Math.floor(c.steps * c.warmup) : c.warmup;
  if (Number.isFinite(w) && w >= c.steps) bad.push(`warmup (${w} steps) must be shorter than steps (${c.steps})`);
  if (bad.length) throw new TrainConfigError(`invalid caption fine-tuning config:\n  - ${bad.join('\n  - ')}`);
  return c;
}
