// `flm finetune vqa`: the recipe; the answer vocabulary (`answers`) and the answer-prior baseline
// (`answer_prior`) are kept in every checkpoint.
import { finetuneRecipe } from '../common/finetune-recipe.js';
import { VQA } from './spec.js';
import { createVqaTask } from './task.js';
import { savedAnswerPrior } from './answer-prior.js';

export const recipe = finetuneRecipe(VQA, { loss: ['vqa'], val: ['vqa_score', 'vqa_prior_score'], sizes: ['n'] }, ({ c, train, saved }) => {
  const answers = saved && Array.isArray(saved.answers) ? (saved.answers as string[]) : undefined;
  // a saved run answers the way it was trained (evaluation gets the defaults, not the run's settings)
  const answerHead = saved ? (saved.answer_head === 'lm' ? 'lm' : 'classifier') : c.answerHead;
  return createVqaTask(train, { ...(answers ? { answers } : {}), prior: savedAnswerPrior(saved?.answer_prior), minAnswerCount: c.minAnswerCount, answerHead });
});
