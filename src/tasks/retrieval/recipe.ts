// `flm finetune retrieval`: the recipe (the task is task.ts; evaluation eval.ts; inference infer.ts).
import { finetuneRecipe } from '../common/finetune-recipe.js';
import { RETRIEVAL } from './spec.js';
import { createRetrievalTask } from './task.js';

export const recipe = finetuneRecipe(RETRIEVAL, { loss: ['irtr', 'irtr_img', 'itm', 'lm'], val: ['tr_r1', 'ir_r1'], sizes: ['n_images', 'n_texts', 'elapsed_s'] }, async ({ c, train }) => ({
  task: await createRetrievalTask(train?.source ?? null, { negatives: c.negatives, hardNegatives: c.hardNegatives, imageNegatives: c.imageNegatives, scorer: c.scorer, lmWeight: c.lmWeight, itmWeight: c.itmWeight }), source: train?.source ?? null,
}));
