// Task construction by name, for the trainer and `flm eval`.
import type { DatasetSource } from '../data/types.js';
import { createNlvr2Task } from './nlvr2.js';
import { createRetrievalTask } from './retrieval.js';
import { createVqaTask } from './vqa.js';
import type { FinetuneTask, TaskName } from './task.js';

export interface TaskSetup {
  /** the training data (null: evaluation only) */
  train: { spec: string; source: DatasetSource } | null;
  /** VQA: the saved answer vocabulary (resume, evaluation) */
  answers?: readonly string[];
  negatives: number;
  itmWeight: number;
  minAnswerCount: number;
}

/** The task and the source to train on (VQA drops unanswerable questions; others train on the data as is). */
export async function createTask(name: TaskName, s: TaskSetup): Promise<{ task: FinetuneTask; source: DatasetSource | null }> {
  switch (name) {
    case 'retrieval':
      return { task: await createRetrievalTask(s.train?.source ?? null, { negatives: s.negatives, itmWeight: s.itmWeight }), source: s.train?.source ?? null };
    case 'vqa':
      return createVqaTask(s.train, { ...(s.answers ? { answers: s.answers } : {}), minAnswerCount: s.minAnswerCount });
    case 'nlvr2':
      return { task: createNlvr2Task(), source: s.train?.source ?? null };
  }
}
