// Fine-tuning by task name for library callers (the demo, the tests): `finetune({ task, ...settings })`
// runs that task's recipe through the one trainer. Keys may be any task's settings (the other tasks'
// own settings are ignored, so one object can serve several tasks) in any accepted spelling; a key no
// fine-tuning task knows is an error, as in a config file.
import { defaultsOf, type TrainSettings } from '../config/settings.js';
import { spellings, TrainConfigError, upgradeSavedSettings } from '../config/resolve.js';
import { train, type TrainOptions, type TrainResult } from '../train/trainer.js';
import { FINETUNE_TASKS, taskEntry } from './registry.js';

/** Settings of a fine-tuning run: the common ones, the task's own, and the task's name. */
export type FinetuneConfig = TrainSettings & { task: string; [own: string]: unknown };
export type FinetuneResult = TrainResult;

/** The default settings of a task (its recipe's), with every other fine-tuning task's own settings at their defaults. */
export function finetuneDefaults(task: string): FinetuneConfig {
  const others = FINETUNE_TASKS.map((t) => defaultsOf(t.spec) as Record<string, unknown>);
  return { ...Object.assign({}, ...others), ...defaultsOf(taskEntry(task).spec), task } as FinetuneConfig;
}

/** Runs (or resumes) a fine-tuning run of `c.task`. */
export async function finetune(c: FinetuneConfig, o: TrainOptions = {}): Promise<TrainResult> {
  const entry = FINETUNE_TASKS.find((t) => t.spec.name === c.task);
  if (!entry) throw new TrainConfigError(`task must be one of ${FINETUNE_TASKS.map((t) => t.spec.name).join(', ')}, got '${String(c.task)}'`);
  const known = new Set(FINETUNE_TASKS.flatMap((t) => [...spellings(t.spec).keys()]));
  const unknown = Object.keys(c).filter((k) => k !== 'task' && !known.has(k));
  if (unknown.length) throw new TrainConfigError(`unknown setting(s) for finetune ${c.task}: ${unknown.join(', ')}`);
  const { recipe } = await entry.load();
  const { task: _t, ...settings } = c;
  return train(recipe, upgradeSavedSettings(recipe.spec, settings) as TrainSettings, o);
}
