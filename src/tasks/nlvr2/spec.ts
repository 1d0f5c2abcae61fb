// `flm finetune nlvr2`: a statement about two images, classifier on cat(cls0, cls1) (spec D.9).
import type { TaskSpec } from '../../config/settings.js';

/** Official recipe (E.7): lr 1e-5, head x10, cross-modal x5, batch 256; here lr 5e-5, batch 16 for a CPU. */
export const NLVR2 = {
  name: 'nlvr2',
  description: 'NLVR2-style reasoning over two images: classifier on cat(cls0, cls1) (spec D.9)',
  settings: {},
  defaults: {
    data: 'shapes:train?n=4000&seed=1&task=nlvr2', valData: 'shapes:val?n=100&seed=1&task=nlvr2', steps: 150, evalEvery: 50, batchSize: 16, lr: 5e-5, lrMultHead: 10, lrMultCrossModal: 5,
  },
  evaluation: { description: 'NLVR2 accuracy (spec F), and per statement type on data that names them (the shapes world)' },
  testData: 'shapes:test?n=400&seed=1&task=nlvr2',
} as const satisfies TaskSpec;
