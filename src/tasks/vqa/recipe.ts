// `flm finetune vqa`: the recipe; the answer vocabulary is kept in every checkpoint (`answers`).
import { finetuneRecipe } from '../common/finetune-recipe.js';
import { VQA } from './spec.js';
import { createVqaTask } from './task.js';

export const recipe = finetuneRecipe(VQA, { loss: ['vqa'], val: ['vqa_score'], sizes: ['n'] }, ({ c, train, saved }) => {
  const answers = saved && Array.isArray(saved.answers) ? (saved.answers as string[]) : undefined;
  return createVqaTask(train, { ...(answers ? { answers } : {}), minAnswerCount: c.minAnswerCount });
});
