// `flm eval retrieval|vqa|nlvr2|caption` (and the library's evaluate()): a fine-tuned checkpoint's
// metrics on a dataset (spec F), or zero-shot retrieval from a pretraining run (zero-shot.ts).
import { CheckpointError } from '../../train/checkpoint.js';
import { findCheckpoint, loadRunModel, type RunModel } from './inference-model.js';
import { loadRetrievalSet } from '../retrieval/data.js';
import { evaluateRetrieval } from '../retrieval/eval.js';
import { zeroShotObjective, zeroShotScorer } from '../retrieval/zero-shot.js';
import { taskEntry } from '../registry.js';
import { captionModelOf } from '../caption/infer.js';
import { captionMetrics, evaluateCaptions, type CaptionEvalResult } from '../caption/eval.js';
import type { DecodeOptions } from '../caption/decode.js';
import { vqaBreakdown, type VqaBreakdown } from '../vqa/breakdown.js';
import { nlvr2Breakdown, type Nlvr2Breakdown } from '../nlvr2/breakdown.js';
import type { VqaPrediction } from '../vqa/task.js';
import type { EvalOptions, Nlvr2Judgement, RetrievalRankList, TaskMetrics } from './task.js';

export interface EvalRequest extends EvalOptions {
  task: string;
  /** run folder (its best checkpoint, else the latest) or checkpoint folder */
  checkpoint: string;
  data: string;
  /** retrieval only: score pairs by the pretraining loss (no fine-tuning) */
  zeroShot?: boolean;
  /** 'best', 'latest' or a step folder name (default: best when the run has one, else latest) */
  which?: string;
  /** caption only: beam size, length penalty, generated tokens at most */
  decode?: DecodeOptions;
}

export interface EvalReport {
  task: string;
  checkpoint: string;
  step: number;
  data: string;
  /** zero-shot: the pretraining objective whose loss scored the pairs */
  zeroShotObjective?: string;
  metrics: TaskMetrics;
  selection: number;
  /** VQA: each question's answer (the EvalAI submission keys {question_id, answer}, then the question, its types and its score) */
  predictions?: VqaPrediction[];
  /** VQA: the score per question type and per answer type, the answer prior's beside it */
  breakdown?: VqaBreakdown;
  /** caption: the scores in detail with every generated caption and its references */
  captions?: CaptionEvalResult;
  /** retrieval: where each query's first correct item ranks */
  ranks?: RetrievalRankList;
  /** NLVR2: the verdict on each statement */
  judgements?: Nlvr2Judgement[];
  /** NLVR2: the accuracy per kind of statement, where the data names the kinds */
  statementBreakdown?: Nlvr2Breakdown;
}

async function openRun(path: string, which: string | undefined): Promise<RunModel> {
  if (which !== undefined) return loadRunModel(path, { which });
  try {
    findCheckpoint(path, 'best');
    return await loadRunModel(path, { which: 'best' });
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    return loadRunModel(path, { which: 'latest' });
  }
}

export async function evaluateCheckpoint(r: EvalRequest): Promise<EvalReport> {
  if (r.zeroShot && r.task !== 'retrieval') throw new Error(`--zero-shot is for retrieval only (got ${r.task})`);
  const run = await openRun(r.checkpoint, r.which);
  const base = { task: r.task, checkpoint: run.dir, step: run.state.step, data: r.data };
  const opts: EvalOptions = {
    ...(r.batchSize !== undefined ? { batchSize: r.batchSize } : {}), ...(r.limit !== undefined ? { limit: r.limit } : {}),
    ...(r.workers !== undefined ? { workers: r.workers } : {}), ...(r.progress ? { progress: r.progress } : {}),
  };
  try {
    run.model.eval();
    if (r.zeroShot) {
      const cfg = run.state.config as { objective?: unknown } | undefined;
      const objective = zeroShotObjective(run.model, cfg?.objective);
      const set = await loadRetrievalSet(r.data, run.config.image_size, { ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.workers !== undefined ? { workers: opts.workers } : {}) });
      const scorer = zeroShotScorer(run.model, objective);
      try {
        const { metrics: m, ranks } = evaluateRetrieval(set, scorer, run.tokenizer, { ...(opts.batchSize ? { textBatch: opts.batchSize } : {}), ...(opts.progress ? { progress: opts.progress } : {}) });
        return { ...base, zeroShotObjective: objective, metrics: { ...m }, selection: m.r1_sum, ranks };
      } finally {
        scorer.restore();
      }
    }
    if (run.task !== r.task) {
      const hint = r.task === 'retrieval' && run.task === 'pretrain' ? ' (for a pretrained model use --zero-shot)' : ` (fine-tune it with \`flm finetune ${r.task}\`)`;
      throw new CheckpointError(`${run.dir} is a ${run.task} checkpoint, not a ${r.task} one${hint}`);
    }
    if (r.task === 'caption') {
      const { model, tokens } = captionModelOf(run);
      const e = await evaluateCaptions(model, run.tokenizer, tokens, r.data, {
        ...r.decode, ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      });
      return { ...base, metrics: captionMetrics(e), selection: e.cider, captions: e };
    }
    const { recipe } = await taskEntry(r.task).load();
    if (!recipe.evaluateSaved) throw new Error(`flm eval has no evaluation for ${r.task}`);
    const e = await recipe.evaluateSaved(run, {
      spec: r.data, batchSize: opts.batchSize ?? 64, limit: opts.limit ?? 0, workers: opts.workers ?? 1, pg: null, ...(opts.progress ? { progress: opts.progress } : {}),
    });
    if (r.task === 'retrieval') return { ...base, metrics: e.metrics, selection: e.selection, ...(e.details ? { ranks: e.details as RetrievalRankList } : {}) };
    if (r.task === 'nlvr2') {
      const judgements = e.details as Nlvr2Judgement[] | undefined;
      const breakdown = judgements ? nlvr2Breakdown(judgements) : null;
      return { ...base, metrics: e.metrics, selection: e.selection, ...(judgements ? { judgements } : {}), ...(breakdown ? { statementBreakdown: breakdown } : {}) };
    }
    const predictions = e.details as VqaPrediction[] | undefined;
    return { ...base, metrics: e.metrics, selection: e.selection, ...(predictions ? { predictions, breakdown: vqaBreakdown(predictions) } : {}) };
  } finally {
    run.model.dispose();
  }
}
