// `flm finetune nlvr2`: the recipe.
import { finetuneRecipe } from '../common/finetune-recipe.js';
import { NLVR2 } from './spec.js';
import { createNlvr2Task } from './task.js';

export const recipe = finetuneRecipe(NLVR2, { loss: ['nlvr2'], val: ['accuracy'], sizes: ['n'] }, async ({ train }) => ({ task: createNlvr2Task(), source: train?.source ?? null }));
