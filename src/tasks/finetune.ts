// Fine-tuning by task name for library callers (the demo, the tests): `finetune({ task, ...settings })`
// runs that task's recipe through the one trainer; settings of the other tasks are ignored.
import { defaultsOf, settingsOf, type ConfigOf, type TrainSettings } from '../config/settings.js';
import { train, type TrainOptions, type TrainResult } from '../train/trainer.js';
import { RETRIEVAL } from './retrieval/spec.js';
import { VQA } from './vqa/spec.js';
import { NLVR2 } from './nlvr2/spec.js';
import { taskEntry } from './registry.js';
import { TASK_NAMES, type TaskName } from './common/task.js';

/** Settings of a retrieval, VQA or NLVR2 run (the union of their own settings). */
export type FinetuneConfig = TrainSettings & ConfigOf<typeof RETRIEVAL> & ConfigOf<typeof VQA> & { task: TaskName };
export type FinetuneResult = TrainResult;

const SPECS = { retrieval: RETRIEVAL, vqa: VQA, nlvr2: NLVR2 } as const;

/** The default settings of a task (its recipe's), with the other tasks' own settings at their defaults. */
export function finetuneDefaults(task: TaskName): FinetuneConfig {
  return { ...defaultsOf(RETRIEVAL), ...defaultsOf(VQA), ...defaultsOf(SPECS[task]), task } as FinetuneConfig;
}

/** Runs (or resumes) a fine-tuning run of `c.task`. */
export async function finetune(c: FinetuneConfig, o: TrainOptions = {}): Promise<TrainResult> {
  if (!(TASK_NAMES as readonly string[]).includes(c.task)) throw new Error(`task must be one of ${TASK_NAMES.join(', ')}, got '${String(c.task)}'`);
  const { recipe } = await taskEntry(c.task).load();
  const keys = new Set(settingsOf(recipe.spec).map(([k]) => k));
  const own = Object.fromEntries(Object.entries(c).filter(([k]) => keys.has(k)));
  return train(recipe, own as ConfigOf<typeof recipe.spec>, o);
}
