// `flm finetune vqa`: answer classifier on cls_feats, BCE on soft scores (spec D.8), or (--answer-head lm)
// answers scored by the forward stream's language model.
import { setting, type TaskSpec } from '../../config/settings.js';

/** Official recipe (E.7): lr 5e-6, head x50, cross-modal x5, batch 512; here lr 5e-5, batch 32 for a CPU. */
export const VQA = {
  name: 'vqa',
  description: 'VQA: answer classifier on cls_feats, BCE on soft scores (spec D.8)',
  settings: {
    minAnswerCount: setting.int('non-shapes data: answers seen at least n times form the vocabulary (official 9)', 1, 9),
    answerHead: setting.choice('what answers: classifier = a new answer classifier on cls_feats, BCE on soft scores (official); lm = the forward stream\'s language model, each answer scored by its log-likelihood after the question, a softmax over the answers (from a pretraining or captioning run; --lr-mult-head applies to the pretrained LM head, 1 suits it; at most 256 distinct answer prefixes)', ['classifier', 'lm'], 'classifier'),
  },
  defaults: {
    data: 'shapes:train?n=2000&seed=1&task=vqa', valData: 'shapes:val?n=50&seed=1&task=vqa', steps: 150, evalEvery: 50, batchSize: 32, lr: 5e-5, lrMultHead: 50, lrMultCrossModal: 5,
  },
  evaluation: { description: 'VQA score: argmax answer scored by its soft target (spec F)' },
  testData: 'shapes:test?n=200&seed=1&task=vqa',
} as const satisfies TaskSpec;
