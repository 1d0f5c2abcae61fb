// Fine-tuning for retrieval, VQA and NLVR2, one trainer for the three tasks (task.ts says what differs).
//
//   run dir (--out)/
//     config.json     the resolved settings
//     tokenizer.json  the source run's tokenizer (or one trained on the data from scratch)
//     init.json       what was loaded from --from: missing / unexpected keys
//     metrics.jsonl   per logged step: loss, task terms, lr, ...; `split: "val"` records with the metrics
//     loss.svg, val.svg
//     checkpoints/    step-N folders, `latest`, `best` (by the task's selection metric, spec F); state.json
//                     holds task, modelConfig (and the VQA answers), which `flm eval` / `flm vqa` read
//
// Recipe (spec E.1-E.3): AdamW (0.9, 0.98), eps 1e-8, weight decay 0.01 without biases / LayerNorm
// weights, lr multipliers for the heads and the cross-modal layers, linear warmup then linear decay.
// Exact resume as in pretraining: weights, optimiser moments, schedule position, libtorch generator
// state (dropout, ITM draws) and loader position are saved; retrieval negatives are a pure function of
// (seed, step); evaluation does not disturb the generator.
import { join, resolve } from 'node:path';
import { getRngState, manualSeed, setRngState, tidy } from '../tensor/index.js';
import { DistributedDataParallel } from '../dist/ddp.js';
import type { ProcessGroup } from '../dist/process-group.js';
import { dataParallelLoopHooks } from '../dist/agree.js';
import { b64, openRun, restoreTrainingState, trainerGroup, type RankState } from '../train/resume.js';
import { FLMModel, createModel, validateConfig, type FLMConfig } from '../models/index.js';
import { AdamW, flmParamGroups, FLM_GROUPING } from '../optim/index.js';
import { openDataset } from '../data/spec.js';
import { DataLoader, type Batch, type LoaderState } from '../data/loader.js';
import { TextTokenizer } from '../data/tokenizer.js';
import type { ScheduleConfig } from '../train/schedule.js';
import { BatchFeed, cleanUp, TrainLoop, type TrainLoopStart } from '../train/loop.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { MetricsLog, logRecorder, type MetricsRecord } from '../train/metrics-log.js';
import { writeLineChart } from '../train/plot.js';
import { writeFileAtomic } from '../io/atomic.js';
import { validateFinetuneConfig, type FinetuneConfig } from './finetune-config.js';
import { formatInitReport, initFinetuneModel } from './finetune-init.js';
import { createTask } from './registry.js';
import type { FinetuneTask, TaskEvaluation, TaskMetrics } from './task.js';

export interface FinetuneResult {
  task: string;
  steps: number;
  finalLoss: number | null;
  elapsedS: number;
  stopped: 'done' | 'interrupted' | 'time-budget';
  skippedNonFinite: number;
  runDir: string;
  /** the best evaluation so far (null without valData) */
  best: { step: number; selection: number; metrics: TaskMetrics } | null;
  lastEval: { step: number; selection: number; metrics: TaskMetrics } | null;
}

export interface FinetuneHooks {
  onLog?(rec: MetricsRecord): void;
  onEval?(step: number, e: TaskEvaluation): void;
}

interface SavedState {
  step: number;
  task: string;
  config: FinetuneConfig;
  modelConfig: FLMConfig;
  rng: string;
  loader: LoaderState;
  elapsedS: number;
  skippedNonFinite: number;
  lastLoss: number | null;
  best: FinetuneResult['best'];
  lastEval: FinetuneResult['lastEval'];
  answers?: string[];
  /** data parallelism: every rank's data position and generator (rank 0's are `rng` / `loader` too) */
  ranks?: RankState[];
}



function scheduleOf(c: FinetuneConfig): ScheduleConfig {
  return { kind: 'polynomial', totalSteps: c.steps, warmup: c.warmup, lrInit: c.lr, lrEnd: c.endLr, power: c.decayPower };
}

/** Runs the task's evaluation with the model in eval mode, leaving the training generator untouched. */
async function evaluateQuietly(task: FinetuneTask, model: FLMModel, tok: TextTokenizer, c: FinetuneConfig, pg: ProcessGroup | null, progress?: (m: string) => void): Promise<TaskEvaluation> {
  const rng = getRngState();
  model.eval();
  try {
    return await task.evaluate(model, tok, c.valData!, {
      batchSize: c.evalBatch, workers: c.workers, pg, ...(c.evalLimit > 0 ? { limit: c.evalLimit } : {}), ...(progress ? { progress } : {}),
    });
  } finally {
    model.train();
    setRngState(rng);
  }
}

/** Runs (or resumes) a fine-tuning run to completion, interruption or the time budget. */
export async function finetune(input: FinetuneConfig, o: { resume?: boolean; quiet?: boolean; hooks?: FinetuneHooks } = {}): Promise<FinetuneResult> {
  let c = validateFinetuneConfig({ ...input, out: resolve(input.out) });
  const { pg, rank, world, main } = trainerGroup(c.batchSize, c.microBatch);
  const say = (m: string): void => {
    if (!o.quiet && main) console.error(`flm finetune ${c.task}: ${m}`);
  };
  const run = openRun<FinetuneConfig, SavedState>(c, { resume: o.resume ?? false, pg, validate: validateFinetuneConfig, say });
  c = run.c;
  const { saved, ckptDir } = run;

  const raw = await openDataset(c.data);
  const { task, source } = await createTask(c.task, {
    train: { spec: c.data, source: raw }, ...(saved?.answers ? { answers: saved.answers } : {}),
    negatives: c.negatives, itmWeight: c.itmWeight, minAnswerCount: c.minAnswerCount,
  });
  const src = source ?? raw;

  let model: FLMModel;
  let modelConfig: FLMConfig;
  let tokenizer: TextTokenizer;
  if (saved && ckptDir) {
    modelConfig = validateConfig(saved.modelConfig, `${ckptDir}: modelConfig`);
    model = tidy(() => createModel(modelConfig)) as FLMModel;
    tokenizer = await TextTokenizer.fromFile(join(c.out, 'tokenizer.json'), { maxLength: modelConfig.max_text_len });
  } else {
    // rank 0 writes the run's tokenizer (copied, or trained on the data); the other ranks then read it
    if (!main) pg!.barrier();
    const init = await initFinetuneModel(c, raw, task.modelOverrides());
    if (main) pg?.barrier();
    ({ model, config: modelConfig, tokenizer } = init);
    if (main) writeFileAtomic(join(c.out, 'init.json'), JSON.stringify(init.report, null, 1));
    for (const line of formatInitReport(init.report)) say(line);
  }
  model.train();
  // DDP broadcasts rank 0's weights; each rank then draws its own dropout, ITM pairs and negatives
  const ddp = pg ? new DistributedDataParallel(model, { pg, findUnusedParameters: true }) : null;
  if (pg) manualSeed(c.seed * 1000 + rank + 1);
  const drawSeed = pg ? c.seed * 1000 + rank + 1 : c.seed;
  const groups = flmParamGroups(model.namedParameters(), { ...FLM_GROUPING, lrMultHead: c.lrMultHead, lrMultCrossModal: c.lrMultCrossModal, weightDecay: c.weightDecay });
  const opt = new AdamW(groups, { lr: c.lr, betas: [0.9, 0.98], eps: 1e-8, weightDecay: c.weightDecay, style: c.optimizer === 'adamw-hf' ? 'hf' : 'torch' });
  const loader = new DataLoader(src, {
    batchSize: c.microBatch, imageSize: modelConfig.image_size, tokenizer, maxTextLength: modelConfig.max_text_len, seed: c.seed,
    workers: c.workers, augment: c.augment, dropLast: true, rank, worldSize: world,
  });
  const log = new MetricsLog(join(c.out, 'metrics.jsonl'));
  let start: TrainLoopStart | undefined;
  let best: FinetuneResult['best'] = null;
  let lastEval: FinetuneResult['lastEval'] = null;
  if (saved && ckptDir) {
    restoreTrainingState(ckptDir, model, opt, loader, saved, rank, world);
    ({ best, lastEval } = saved);
    start = { step: saved.step, elapsedS: saved.elapsedS, skippedNonFinite: saved.skippedNonFinite, lastLoss: saved.lastLoss };
    if (main) log.truncateAfter(saved.step);
    say(`resumed from ${ckptDir} at step ${saved.step}`);
  }

  const feed = new BatchFeed(loader.batches(), loader.state());
  const loop: TrainLoop<Batch> = new TrainLoop<Batch>({
    steps: c.steps, accum: c.batchSize / c.microBatch, schedule: scheduleOf(c), clipNorm: c.clipNorm, maxNonFinite: c.maxNonFinite,
    logEvery: c.logEvery, timeBudgetS: c.timeBudgetS, opt, quiet: (o.quiet ?? false) || !main, start, precision: c.precision,
    clipParams: () => model.parameters().filter((p) => p.requiresGrad),
    ...dataParallelLoopHooks(pg, ddp),
    nextBatch: () => feed.next(),
    loss: (b, at) => ({
      ...task.loss(model, b, tokenizer, { step: at.step, micro: at.micro, seed: drawSeed }),
      tokens: b.text ? b.text.lengths.reduce((a, n) => a + n, 0) : 0, images: b.size * b.images.length,
    }),
    onLog: logRecorder(log, (recs) => writeCurves(c.out, recs), o.hooks?.onLog, main),
    afterStep: async (step) => {
      if (step < c.steps && step % c.evalEvery === 0 && c.valData !== null) checkpoint(await evaluate());
      else if (step < c.steps && step % c.saveEvery === 0) checkpoint();
    },
  });

  const checkpoint = (isBest = false): void => {
    const mineNow: RankState = { rng: b64(getRngState()), loader: feed.state };
    const ranks = pg ? pg.allGatherObject(mineNow) : [mineNow];
    if (!main) return;
    const state: SavedState = {
      step: loop.step, task: c.task, config: c, modelConfig, rng: mineNow.rng, loader: feed.state, ranks, elapsedS: loop.elapsed(),
      skippedNonFinite: loop.skippedNonFinite, lastLoss: loop.lastLoss, best, lastEval, ...(task.stateExtras as { answers?: string[] }),
    };
    saveCheckpoint(c.out, model.stateDict(), opt.stateDict(), state as unknown as { step: number }, { keepLast: c.keepLast, isBest });
  };
  /** Evaluates off the training clock (a time budget counts training alone); true when this is the best so far. */
  const evaluate = (): Promise<boolean> => loop.clock.paused(async () => {
    if (c.valData === null) return false;
    const step = loop.step;
    const e = await evaluateQuietly(task, model, tokenizer, c, pg, o.quiet || !main ? undefined : (m) => loop.status.note(m));
    lastEval = { step, selection: e.selection, metrics: e.metrics };
    const isBest = best === null || e.selection > best.selection;
    if (isBest) best = { ...lastEval };
    if (main) {
      log.append({ step, split: 'val', ...e.metrics, selection: e.selection });
      writeCurves(c.out, log.read());
    }
    o.hooks?.onEval?.(step, e);
    loop.status.note(`step ${step} val: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ')}${isBest ? ' (best)' : ''}`);
    return isBest;
  });

  let stopped: FinetuneResult['stopped'] = 'done';
  try {
    stopped = await loop.run();
    // the final evaluation (none after Ctrl-C, nor when this step was evaluated already, e.g. on a resumed finished run)
    const isBest = stopped !== 'interrupted' && loop.step > 0 && lastEval?.step !== loop.step ? await evaluate() : false;
    checkpoint(isBest);
  } finally {
    await cleanUp(() => loop.close(), () => feed.close(), () => loader.close(), () => raw.close?.(), () => ddp?.release(), () => model.dispose(),
      () => opt.dispose(), () => pg?.destroy());
  }
  return {
    task: c.task, steps: loop.step, finalLoss: loop.lastLoss, elapsedS: loop.elapsed(), stopped, skippedNonFinite: loop.skippedNonFinite,
    runDir: c.out, best, lastEval,
  };
}

function writeCurves(dir: string, recs: MetricsRecord[]): void {
  const train = recs.filter((r) => r.split !== 'val');
  const val = recs.filter((r) => r.split === 'val');
  const series = (rs: MetricsRecord[], key: string): [number, number][] => rs.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
  const lossKeys = ['loss', 'irtr', 'itm', 'vqa', 'nlvr2'].filter((k) => train.some((r) => typeof r[k] === 'number'));
  writeLineChart(join(dir, 'loss.svg'), 'training loss', 'step', 'loss', lossKeys.map((k) => ({ name: k, points: series(train, k) })));
  if (val.length) {
    const keys = ['tr_r1', 'ir_r1', 'vqa_score', 'accuracy'].filter((k) => val.some((r) => typeof r[k] === 'number'));
    writeLineChart(join(dir, 'val.svg'), 'validation', 'step', 'metric', keys.map((k) => ({ name: k, points: series(val, k) })));
  }
}
