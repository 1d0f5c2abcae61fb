// evaluate(): `flm eval <task>` as a function, with the same settings (src/cli/eval.ts and
// src/cli/caption.ts call it). The metrics are the field's (spec F): TR/IR recall@K, VQA score,
// NLVR2 accuracy, BLEU / CIDEr-D; zero-shot retrieval scores a pretraining run by its own loss.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setNumThreads } from '../tensor/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readModelFolderConfig } from '../train/model-folder.js';
import { evaluateCheckpoint, type EvalReport } from '../tasks/common/eval.js';
import { findCheckpoint } from '../tasks/common/inference-model.js';
import { FINETUNE_TASKS } from '../tasks/registry.js';

export type EvaluateTask = 'retrieval' | 'vqa' | 'nlvr2' | 'caption';

/** The settings of `flm eval <task>`, by their camelCase names. */
export interface EvaluateSettings {
  /** what to evaluate (default: the folder's task; a pretraining run needs task 'retrieval' with zeroShot) */
  task?: EvaluateTask;
  /** a dataset spec (default: the task's test data, as `flm eval`) */
  data?: string;
  /** in a run folder: 'best', 'latest' or a step folder name (default: best when the run has one, else latest) */
  which?: string;
  /** retrieval only: score pairs by the pretraining objective's loss (no fine-tuning) */
  zeroShot?: boolean;
  /** texts per image pass (retrieval), examples (VQA, NLVR2) or images (caption) per pass */
  batchSize?: number;
  /** the first n images (retrieval, caption) or examples only */
  limit?: number;
  /** image decode worker threads */
  workers?: number;
  /** libtorch intra-op threads for the process */
  threads?: number;
  /** caption only: beam size (1: greedy), length penalty, generated tokens at most */
  beam?: number;
  lengthPenalty?: number;
  maxSteps?: number;
  /** write the predictions there as JSON (VQA: [{question_id, answer}]; NLVR2: [{identifier, prediction, sentence, label, statement_type?}]; caption: captions with their references; retrieval: each query's rank of its first correct item) */
  predictions?: string;
  /** progress messages; none when absent */
  progress?: (message: string) => void;
}

/**
 * What evaluate() returns: the task, checkpoint, step and data, the metrics and the checkpoint-selection
 * value, the VQA predictions or (caption) every caption with the detailed scores.
 */
export type EvaluateResult = EvalReport;

const KEYS = new Set(['task', 'data', 'which', 'zeroShot', 'batchSize', 'limit', 'workers', 'threads', 'beam', 'lengthPenalty', 'maxSteps', 'predictions', 'progress']);
const CAPTION_ONLY = ['beam', 'lengthPenalty', 'maxSteps'] as const;

function positiveInt(name: string, v: number | undefined, min = 1): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new RangeError(`evaluate: ${name} must be an integer >= ${min}, got ${v}`);
}

/** The task a folder was trained for, read without loading the weights. */
function folderTask(dir: string, which: string | undefined): string {
  const { dir: ck } = findCheckpoint(dir, which ?? 'auto');
  const folder = readModelFolderConfig(ck);
  if (folder) return folder.task;
  const state = JSON.parse(readFileSync(join(ck, 'state.json'), 'utf8')) as { task?: unknown };
  return typeof state.task === 'string' ? state.task : 'pretrain';
}

/** Evaluates a model, checkpoint or run folder on a dataset, as `flm eval <task>` does. */
export async function evaluate(dir: string, settings: EvaluateSettings = {}): Promise<EvaluateResult> {
  const unknown = Object.keys(settings).filter((k) => !KEYS.has(k));
  if (unknown.length) throw new TypeError(`evaluate: unknown setting(s) ${unknown.join(', ')} (known: ${[...KEYS].join(', ')})`);
  for (const k of ['batchSize', 'limit', 'beam', 'maxSteps', 'threads'] as const) positiveInt(k, settings[k]);
  positiveInt('workers', settings.workers, 0);
  const task = settings.task ?? folderTask(dir, settings.which);
  const entry = FINETUNE_TASKS.find((t) => t.spec.name === task);
  if (!entry) {
    const hint = task === 'pretrain' ? ': a pretraining model is evaluated by zero-shot retrieval (task: \'retrieval\', zeroShot: true)' : '';
    throw new TypeError(`evaluate: task must be one of ${FINETUNE_TASKS.map((t) => t.spec.name).join(', ')}, got '${task}'${hint}`);
  }
  const misplaced = task === 'caption' ? [] : CAPTION_ONLY.filter((k) => settings[k] !== undefined);
  if (misplaced.length) throw new TypeError(`evaluate: ${misplaced.join(', ')} ${misplaced.length > 1 ? 'are caption settings' : 'is a caption setting'} (task is ${task})`);
  if (settings.threads) setNumThreads(settings.threads);
  const s = settings;
  const r = await evaluateCheckpoint({
    task, checkpoint: dir, data: s.data ?? entry.spec.testData ?? '', zeroShot: s.zeroShot ?? false,
    ...(s.which !== undefined ? { which: s.which } : {}), ...(s.batchSize !== undefined ? { batchSize: s.batchSize } : {}),
    ...(s.limit !== undefined ? { limit: s.limit } : {}), ...(s.workers !== undefined ? { workers: s.workers } : {}),
    ...(s.progress ? { progress: s.progress } : {}),
    ...(task === 'caption' ? {
      decode: { ...(s.beam !== undefined ? { beam: s.beam } : {}), ...(s.lengthPenalty !== undefined ? { lengthPenalty: s.lengthPenalty } : {}), ...(s.maxSteps !== undefined ? { maxSteps: s.maxSteps } : {}) },
    } : {}),
  });
  if (s.predictions) {
    // VQA: only the EvalAI submission keys (the evaluation also carries each question and its expected answer)
    const predictions = r.captions?.predictions ?? r.ranks ?? r.judgements ?? r.predictions?.map(({ question_id, answer }) => ({ question_id, answer }));
    if (predictions) writeFileAtomic(s.predictions, JSON.stringify(predictions, null, r.captions ? 1 : undefined));
  }
  return r;
}
