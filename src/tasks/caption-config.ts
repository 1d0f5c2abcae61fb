// Settings of a caption fine-tuning run (caption.ts), their defaults and their validation.
import { SettingChecks, checkCommonSettings, type CommonTrainSettings } from '../train/config-checks.js';
import type { PresetName } from '../models/index.js';

export interface CaptionFinetuneConfig extends CommonTrainSettings {
  /** pretrained FLM run or checkpoint folder; null: the preset's random init */
  init: string | null;
  /** model size without --init */
  preset: PresetName;
  /** 'official': loss on the reconstructor as released (H.12); null: on the forward stream */
  compat: 'official' | null;
  /** add <bos>/<eos> as new tokens (official); false: reuse <s> / </s> */
  newTokens: boolean;
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
  const ch = new SettingChecks<CaptionFinetuneConfig>({ ...input, precision: input.precision ?? 'fp32' });
  const c = ch.c;
  checkCommonSettings(ch, 'a caption dataset spec');
  if (c.init !== null && (typeof c.init !== 'string' || !c.init)) ch.fail('init must be a run or checkpoint folder, or null');
  ch.bool('newTokens');
  ch.bool('augment');
  if (c.compat !== null && c.compat !== 'official') ch.fail(`compat must be 'official' or null, got '${String(c.compat)}'`);
  ch.int('evalLimit', 0);
  ch.int('beam', 1);
  return ch.done('caption fine-tuning');
}
