// The recipe of a classification-style fine-tuning task (retrieval, VQA, NLVR2): the task model built
// from --from (or a preset) with the task's heads, the task's loss and evaluation (task.ts), and the
// task's extra checkpoint state. Each task folder makes its recipe with `finetuneRecipe`.
//
// Recipe (spec E.1-E.3): AdamW (0.9, 0.98), eps 1e-8, weight decay 0.01 without biases / LayerNorm
// weights, lr multipliers for the heads and the cross-modal layers, linear warmup then linear decay —
// all the trainer's. Retrieval negatives are a pure function of (seed, step), so resume stays exact.
import { FLMModel } from '../../models/index.js';
import { openDataset } from '../../data/spec.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import type { DatasetSource } from '../../data/types.js';
import type { Batch } from '../../data/loader.js';
import { defaultsOf, type ConfigOf, type TaskSpec, type TrainSettings } from '../../config/settings.js';
import { TrainConfigError } from '../../train/errors.js';
import type { Evaluation, EvalRequest, PreparedRun, Recipe, SavedRun } from '../../train/recipe.js';
import { formatInitReport, initFinetuneModel } from './finetune-init.js';
import { resumedModel, type RunFolderModel } from './run-folder-model.js';
import type { FinetuneTask } from './task.js';

export interface TaskFactoryInput<C> {
  c: C;
  /** the training data as opened (null: evaluation of a saved model) */
  train: { spec: string; source: DatasetSource } | null;
  /** the checkpoint being resumed (its extras: VQA answers) */
  saved: SavedRun | null;
}

/** Text and image counts of a loader batch (throughput figures). */
export function batchCounts(b: Batch): { tokens: number; images: number } {
  return { tokens: b.text ? b.text.lengths.reduce((a, n) => a + n, 0) : 0, images: b.size * b.images.length };
}

/**
 * A fine-tuning recipe from a task factory: `makeTask` builds the task (and the source to train on:
 * VQA drops unanswerable questions) for a new or resumed run.
 */
export function finetuneRecipe<S extends TaskSpec>(
  spec: S, curves: Recipe['curves'],
  makeTask: (i: TaskFactoryInput<ConfigOf<S>>) => Promise<{ task: FinetuneTask; source: DatasetSource | null }>,
): Recipe<S> {
  return {
    spec, curves,
    async prepare({ c, saved, main, barrier }): Promise<PreparedRun> {
      const raw = await openDataset(c.data);
      const { task, source } = await makeTask({ c, train: { spec: c.data, source: raw }, saved });
      let built: RunFolderModel;
      let init: PreparedRun['init'];
      let decided: PreparedRun['decided'];
      if (saved) built = await resumedModel(saved, c.out);
      else {
        // rank 0 writes the run's tokenizer (copied, or trained on the data); the other ranks then read it
        if (!main) barrier();
        const r = await initFinetuneModel(c, raw, task.modelOverrides(), { reuseTokenizer: !main });
        if (main) barrier();
        built = { model: r.model, modelConfig: r.config, tokenizer: r.tokenizer };
        const fresh = r.report.loaded === 0 ? null : r.report.missing;
        const absent = fresh?.filter((k) => task.loadFromSource?.some((p) => k.startsWith(p))) ?? [];
        if (absent.length > 0) {
          r.model.dispose();
          throw new TrainConfigError(`from: ${r.report.source} has no ${absent.join(', ')}: the ${task.name} task reads them pretrained (fine-tune from a pretraining or captioning run)`);
        }
        // the official recipe keeps the zero biases of a new head
        const headLine = c.recipe === 'fast' ? task.initHeads?.(r.model, fresh) ?? null : null;
        init = { lines: [...formatInitReport(r.report), ...(headLine ? [headLine] : [])], report: r.report };
        if (r.report.sourcePreset) decided = { preset: r.report.sourcePreset as TrainSettings['preset'] };
      }
      const { model, tokenizer } = built;
      return {
        ...built, source: source ?? raw, tokenizeInLoader: true, ...(init ? { init } : {}), ...(decided ? { decided } : {}),
        loss: (b, at) => ({ ...task.loss(model, b, tokenizer, at), ...batchCounts(b) }),
        evaluate: (r) => evaluateTask(task, model, tokenizer, r),
        stateExtras: () => task.stateExtras,
      };
    },
    async evaluateSaved(run, r) {
      if (!(run.model instanceof FLMModel)) throw new TrainConfigError(`${run.dir}: fine-tuned models are three-stream FLM models`);
      const { task } = await makeTask({ c: defaultsOf(spec), train: null, saved: { ...run.state, dir: run.dir, step: Number(run.state.step) } });
      return evaluateTask(task, run.model, run.tokenizer, r);
    },
  };
}

async function evaluateTask(task: FinetuneTask, model: FLMModel, tokenizer: TextTokenizer, r: EvalRequest): Promise<Evaluation> {
  const e = await task.evaluate(model, tokenizer, r.spec, {
    batchSize: r.batchSize, workers: r.workers, pg: r.pg, ...(r.limit > 0 ? { limit: r.limit } : {}), ...(r.progress ? { progress: r.progress } : {}),
  });
  return { metrics: e.metrics, selection: e.selection, ...(e.predictions || e.ranks || e.judgements ? { details: e.predictions ?? e.ranks ?? e.judgements } : {}), ...(e.items ? { items: e.items } : {}) };
}
