// `flm finetune retrieval`: ITM + rank loss over the true caption and random negatives (spec D.10).
import { setting, type TaskSpec } from '../../config/settings.js';

/** --scorer loss: the weight of the true captions' own pretraining loss (README: 1 erodes the zero-shot image ranking, 4 keeps it). */
export const DEFAULT_LM_WEIGHT = 4;

/**
 * Official recipe (E.7): lr 5e-6, head x5, cross-modal x5, batch 512, 15 negatives (a 16-way softmax).
 * Scaled to the shapes world on a CPU: lr 5e-5 (3e-4 collapsed to a constant score from a short
 * small-preset FLM pretrain, 1e-4 learned least), batch 8, 3 negatives (--negatives 15: the official).
 */
export const RETRIEVAL = {
  name: 'retrieval',
  description: 'image-text retrieval: rank_output over the true caption and random negatives, plus ITM (spec D.10)',
  settings: {
    negatives: setting.int('captions per image besides the true one (official 15)', 1, 3),
    hardNegatives: setting.int('how many of the negatives are hard: the captions sharing most words with the true one among max(32, 8 x that many) random draws (0: all random, as the official code)', 0, 0),
    itmWeight: setting.num('weight of the ITM term (official 0.5; 0: off)', 0, 1e3, 0.5),
    scorer: setting.choice('what scores a pair: rank = a new rank head on cls_feats (official); loss = minus the FLM pretraining loss of the caption given the image, fine-tuned by the same ranking softmaxes (from an FLM pretraining run)', ['rank', 'loss'], 'rank'),
    lmWeight: setting.num('--scorer loss: weight of the true captions\' own pretraining loss beside the ranking terms (0: off; 4 keeps the zero-shot image ranking, which 1 erodes: README)', 0, 1e3, DEFAULT_LM_WEIGHT),
    imageNegatives: setting.int('other images of the batch each true caption is also ranked against, a second softmax for text-to-image retrieval (0: none, as the official code; a smaller micro-batch uses all its other images)', 0, 0),
  },
  defaults: {
    data: 'shapes:train?n=2000&seed=1', valData: 'shapes:val?n=20&seed=1', steps: 100, evalEvery: 50, batchSize: 8, lr: 5e-5, lrMultHead: 5, lrMultCrossModal: 5,
  },
  evaluation: { description: 'image-text retrieval: TR / IR recall@1/5/10 from the full score matrix of the split (spec F)' },
  testData: 'shapes:test?n=40&seed=1',
  help: { batchSize: 'images per step (each with 1 + negatives captions)', evalBatch: 'texts per image pass in evaluation' },
} as const satisfies TaskSpec;
