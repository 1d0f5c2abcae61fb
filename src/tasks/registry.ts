// The training commands, one line each: the spec (pure data: name, settings, defaults — what the CLI
// needs for --help without loading the engine) and the recipe module, loaded on use. A new task is a
// folder with spec.ts and recipe.ts (exporting `recipe`) plus its import and its line here.
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

/** An entry: the spec and its recipe module (whose `recipe` is typed by that spec). */
function task<S extends TaskSpec>(spec: S, load: () => Promise<{ recipe: Recipe<S> }>): TaskEntry {
  return { spec, load: load as unknown as TaskEntry['load'] };
}

export const TASKS: readonly TaskEntry[] = [
  task(PRETRAIN, () => import('./pretrain/recipe.js')),
  task(RETRIEVAL, () => import('./retrieval/recipe.js')),
  task(VQA, () => import('./vqa/recipe.js')),
  task(NLVR2, () => import('./nlvr2/recipe.js')),
  task(CAPTION, () => import('./caption/recipe.js')),
];

/** The fine-tuning tasks (`flm finetune <task>`): every entry but pretraining. */
export const FINETUNE_TASKS: readonly TaskEntry[] = TASKS.filter((t) => t.spec.name !== 'pretrain');

export function taskEntry(name: string): TaskEntry {
  const t = TASKS.find((x) => x.spec.name === name);
  if (!t) throw new Error(`unknown task '${name}' (known: ${TASKS.map((x) => x.spec.name).join(', ')})`);
  return t;
}
