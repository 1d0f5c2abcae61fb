// `flm pretrain`: its own settings and its defaults (pure data, read by the CLI without the engine).
import { setting, DEFAULT_PRETRAIN_DATA, type TaskSpec } from '../../config/settings.js';

export const PRETRAIN_OBJECTIVES = ['flm', 'mlm', 'ar', 'prefixlm'] as const;
export type PretrainObjective = (typeof PRETRAIN_OBJECTIVES)[number];

export const PRETRAIN = {
  name: 'pretrain',
  description: 'pretrain a vision-language model with FLM (or the MLM / AR / PrefixLM baselines)',
  settings: {
    objective: setting.choice('pretraining objective', PRETRAIN_OBJECTIVES, 'flm'),
    spanCorruptionRate: setting.optNum('FLM corruption rate r', 0, 1, 'the preset\'s', { arg: 'r' }),
    mlmRate: setting.num('MLM masking rate', 0, 1, 0.15, { arg: 'r' }),
    itcWeight: setting.num('flm: weight of an image-text contrastive term beside the LM losses: InfoNCE between each caption and each image before fusion, the other examples of the micro-batch (on this process) as negatives (0: none, the official recipe; not in the held-out loss)', 0, 1000, 0, { arg: 'w' }),
    itcTemperature: setting.num('the contrastive term\'s softmax temperature (fixed; CLIP\'s range)', 0.01, 1, 0.07, { arg: 't' }),
  },
  defaults: { data: DEFAULT_PRETRAIN_DATA },
  help: {
    valData: 'held-out data whose pretraining loss (without the --itc-weight term) is evaluated every --eval-every steps and at the end (best checkpoint: lowest loss)',
    from: 'start from these weights, loaded by name: a .safetensors file, a converted model (flm convert), a run or checkpoint folder (its tokenizer too); --preset must be the source\'s size',
  },
  defaultOut: (c) => `runs/${String(c.objective)}`,
} as const satisfies TaskSpec;
