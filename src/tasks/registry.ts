// The training commands, one line each: the spec (pure data: name, settings, defaults — what the CLI
// needs for --help without loading the engine) and the recipe module, loaded on use. A new task is a
// folder with spec.ts and recipe.ts (exporting `recipe`) plus its line here.
import type { TaskSpec } from '../config/settings.js';
import type { Recipe } from '../train/recipe.js';
import { PRETRAIN } from './pretrain/spec.js';
import { RETRIEVAL } from './retrieval/spec.js';
import { VQA } from './vqa/spec.js';
import { NLVR2 } from './nlvr2/spec.js';
import { CAPTION } from './caption/spec.js';

export interface TaskEntry {
  spec: TaskSpec;
  load(): Promise<{ recipe: Recipe<TaskSpec> }>;
}

export const TASKS: readonly TaskEntry[] = [
  { spec: PRETRAIN, load: () => import('./pretrain/recipe.js') as Promise<{ recipe: Recipe<TaskSpec> }> },
  { spec: RETRIEVAL, load: () => import('./retrieval/recipe.js') as Promise<{ recipe: Recipe<TaskSpec> }> },
  { spec: VQA, load: () => import('./vqa/recipe.js') as Promise<{ recipe: Recipe<TaskSpec> }> },
  { spec: NLVR2, load: () => import('./nlvr2/recipe.js') as Promise<{ recipe: Recipe<TaskSpec> }> },
  { spec: CAPTION, load: () => import('./caption/recipe.js') as Promise<{ recipe: Recipe<TaskSpec> }> },
];

/** The fine-tuning tasks (`flm finetune <task>`): every entry but pretraining. */
export const FINETUNE_TASKS: readonly TaskEntry[] = TASKS.filter((t) => t.spec.name !== 'pretrain');

export function taskEntry(name: string): TaskEntry {
  const t = TASKS.find((x) => x.spec.name === name);
  if (!t) throw new Error(`unknown task '${name}' (known: ${TASKS.map((x) => x.spec.name).join(', ')})`);
  return t;
}
