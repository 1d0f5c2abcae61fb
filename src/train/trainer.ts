// The one trainer: a recipe (recipe.ts) says how a run's model, data and loss are made and how it is
// evaluated; everything else happens here, the same way for every recipe — the run folder and exact
// resume, data parallelism, the optimiser and its parameter groups, accumulation, schedule, clipping,
// non-finite skips, time budget and Ctrl-C (loop.ts), evaluations off the training clock with the best
// checkpoint kept, atomic checkpoints, the metrics log and its curves.
//
//   run dir (--out)/
//     config.json     the resolved settings (also in every checkpoint's state.json)
//     tokenizer.json  the run's tokenizer (trained on the data, or the source run's)
//     init.json       what a new run loaded from --from: loaded / missing / unexpected tensors
//     metrics.jsonl   one object per logged step (loss, its terms, lr, elapsed_s, tokens_per_s, ...);
//                     `split: "val"` records hold the evaluations
//     events.out.tfevents.*  the same numbers as TensorBoard scalars (one file per session; --no-tensorboard: none)
//     loss.svg, lr.svg, val.svg (every evaluation metric)
//     checkpoints/    step-N folders (model.safetensors with the official PyTorch names, optimiser
//                     moments, state.json with RNG and loader positions), `latest`, `best`; each is also a
//                     model folder usable on its own (config.json + tokenizer.json, model-folder.ts)
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getRngState, manualSeed, setRngState } from '../tensor/index.js';
import type { AnyFLMModel } from '../models/index.js';
import { AdamW, flmParamGroups, FLM_GROUPING } from '../optim/index.js';
import { DataLoader, type Batch } from '../data/loader.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { DistributedDataParallel } from '../dist/ddp.js';
import { anyRank as anyRankOf, dataParallelLoopHooks } from '../dist/agree.js';
import { writeFileAtomic } from '../io/atomic.js';
import { validateSettings } from '../config/resolve.js';
import type { ConfigOf, TaskSpec } from '../config/settings.js';
import { BatchFeed, cleanUp, TrainLoop, type StopReason, type TrainLoopStart } from './loop.js';
import { b64, openRun, restoreTrainingState, trainerGroup, type RankState } from './resume.js';
import { saveCheckpoint } from './checkpoint.js';
import { modelFolderConfig, MODEL_CONFIG_FILE, TOKENIZER_FILE } from './model-folder.js';
import { MetricsLog, logRecorder, openMetricsLog, type MetricsRecord } from './metrics-log.js';
import { writeChartGrid, writeLineChart } from './plot.js';
import type { Evaluation, Metrics, PreparedRun, Recipe, SavedRun } from './recipe.js';

export interface EvalRecord {
  step: number;
  selection: number;
  metrics: Metrics;
}

export interface TrainResult {
  /** the recipe: pretrain, retrieval, vqa, nlvr2, caption */
  task: string;
  steps: number;
  finalLoss: number | null;
  elapsedS: number;
  stopped: StopReason;
  skippedNonFinite: number;
  runDir: string;
  /** the best evaluation of the run (null without --val-data) */
  best: EvalRecord | null;
  /** the last evaluation, with the recipe's details (caption predictions, VQA answers) and per-example scores */
  lastEval: (EvalRecord & { details?: unknown; items?: Record<string, number[]> }) | null;
}

/** What a caller can watch. */
export interface TrainHooks {
  onLog?(rec: MetricsRecord): void;
  onEval?(step: number, e: Evaluation): void;
  /**
   * Asked after every step (and once before the first step of a new run, with step 0): whether to save
   * a checkpoint now besides the `saveEvery` ones, off the training clock. The race saves at fixed
   * training times this way.
   */
  checkpointDue?(elapsedS: number, step: number): boolean;
  /** Runs with the training clock paused: its time is not charged to the run or its time budget. */
  onCheckpoint?(info: { step: number; dir: string; model: AnyFLMModel; tokenizer: TextTokenizer; elapsedS: number }): Promise<void> | void;
}

export interface TrainOptions {
  resume?: boolean;
  /** a new run (no resume) in a folder with checkpoints deletes them instead of stopping with an error */
  overwrite?: boolean;
  /** the settings the caller set explicitly (the CLI: flags and config file); on --resume only these may change steps, time budget, threads and TensorBoard logging */
  explicit?: ReadonlySet<string>;
  quiet?: boolean;
  hooks?: TrainHooks;
}

/** state.json of a checkpoint: the trainer's fields, then the recipe's extras. */
interface SavedState extends RankState {
  step: number;
  task: string;
  config: unknown;
  modelConfig: unknown;
  ranks?: RankState[];
  elapsedS: number;
  skippedNonFinite: number;
  lastLoss: number | null;
  best: EvalRecord | null;
  lastEval: EvalRecord | null;
  [extra: string]: unknown;
}

/**
 * Runs (or resumes) a run of `recipe` to completion, interruption or the time budget. Started by
 * `flm launch` / `--nproc N` (RANK / WORLD_SIZE set), it trains data-parallel: each rank reads its shard
 * of every epoch, gradients are averaged as DDP does, and rank 0 alone writes logs and checkpoints
 * (which hold every rank's data position and RNG state, so a resumed run continues exactly).
 * `batchSize` is the global batch: microBatch x accumulation x world size.
 */
export async function train<S extends TaskSpec>(recipe: Recipe<S>, input: ConfigOf<S>, o: TrainOptions = {}): Promise<TrainResult> {
  const spec = recipe.spec;
  const command = spec.name;
  let c = validateSettings(spec, { ...input, out: resolve(input.out) });
  const { pg, rank, world, main } = trainerGroup(c.batchSize, c.microBatch ?? c.batchSize);
  const title = command === 'pretrain' ? 'flm pretrain' : `flm finetune ${command}`;
  const say = (m: string): void => {
    if (!o.quiet && main) console.error(`${title}: ${m}`);
  };
  const run = openRun<ConfigOf<S>, SavedState>(c, { spec, resume: o.resume ?? false, overwrite: o.overwrite ?? false, pg, say, ...(o.explicit ? { explicit: o.explicit } : {}) });
  c = run.c;
  const { saved, ckptDir } = run;
  const microBatch = c.microBatch ?? c.batchSize;

  const savedRun: SavedRun | null = saved && ckptDir ? { ...saved, dir: ckptDir, modelConfig: saved.modelConfig as SavedRun['modelConfig'] } : null;
  const share = <T>(value: T | null): T => (pg ? pg.broadcastObject(value) : value) as T;
  const prep: PreparedRun = await recipe.prepare({ c, saved: savedRun, main, barrier: () => pg?.barrier(), share, say });
  const { model, tokenizer, modelConfig } = prep;
  if (prep.decided && Object.keys(prep.decided).length > 0) {
    c = { ...c, ...prep.decided };
    if (main) writeFileAtomic(join(c.out, 'config.json'), JSON.stringify(c, null, 1));
  }
  if (!saved && prep.init) {
    if (main) writeFileAtomic(join(c.out, 'init.json'), JSON.stringify(prep.init.report, null, 1));
    for (const line of prep.init.lines) say(line);
  }
  model.train();
  // DDP broadcasts rank 0's weights; each rank then draws its own dropout, corruption, masking, negatives
  const ddp = pg ? new DistributedDataParallel(model, { pg, findUnusedParameters: true }) : null;
  if (pg) manualSeed(c.seed * 1000 + rank + 1);
  const drawSeed = pg ? c.seed * 1000 + rank + 1 : c.seed;
  const groups = flmParamGroups(model.namedParameters(), { ...FLM_GROUPING, lrMultHead: c.lrMultHead, lrMultCrossModal: c.lrMultCrossModal, lrMultVision: c.lrMultVision, weightDecay: c.weightDecay });
  const opt = new AdamW(groups, { lr: c.lr, betas: [0.9, 0.98], eps: 1e-8, weightDecay: c.weightDecay, style: c.optimizer === 'adamw-hf' ? 'hf' : 'torch' });
  const loader = new DataLoader(prep.source, {
    batchSize: microBatch, imageSize: modelConfig.image_size, ...(prep.tokenizeInLoader ? { tokenizer, maxTextLength: modelConfig.max_text_len } : {}),
    seed: c.seed, workers: c.workers, augment: c.augment, dropLast: true, rank, worldSize: world,
  });
  let start: TrainLoopStart | undefined;
  let best: EvalRecord | null = null;
  let lastEval: TrainResult['lastEval'] = null;
  if (saved && ckptDir) {
    restoreTrainingState(ckptDir, model, opt, loader, saved, rank, world);
    best = saved.best ?? null;
    lastEval = saved.lastEval ?? null;
    start = { step: saved.step, elapsedS: saved.elapsedS, skippedNonFinite: saved.skippedNonFinite, lastLoss: saved.lastLoss };
    say(`resumed from ${ckptDir} at step ${saved.step}`);
  }
  // a new run in a used folder (a run killed before its first checkpoint, or started again) starts new logs;
  // a resumed one drops what was logged past its checkpoint
  const log = main ? openMetricsLog(c.out, { resumedAt: saved?.step ?? null, tensorboard: c.tensorboard }) : new MetricsLog(join(c.out, 'metrics.jsonl'));

  const draw = (recs: MetricsRecord[]): void => writeCurves(c.out, recs, recipe.curves);
  const feed = new BatchFeed(loader.batches(), loader.state());
  /** Every rank must take the same branch: any rank's flag decides for all. */
  const anyRank = (flag: boolean): boolean => (pg ? anyRankOf(pg, flag) : flag);
  const canEvaluate = c.valData !== null && prep.evaluate !== undefined;
  const loop: TrainLoop<Batch> = new TrainLoop<Batch>({
    steps: c.steps, accum: c.batchSize / (microBatch * world), clipNorm: c.clipNorm, maxNonFinite: c.maxNonFinite, logEvery: c.logEvery,
    timeBudgetS: c.timeBudgetS, opt, quiet: (o.quiet ?? false) || !main, start, precision: c.precision,
    schedule: { kind: 'polynomial', totalSteps: c.steps, warmup: c.warmup, lrInit: c.lr, lrEnd: c.endLr, power: c.decayPower },
    clipParams: () => model.parameters().filter((p) => p.requiresGrad),
    nextBatch: () => feed.next(),
    loss: (b, at) => prep.loss(b, { ...at, seed: drawSeed }),
    ...dataParallelLoopHooks(pg, ddp),
    onLog: logRecorder(log, draw, o.hooks?.onLog, main),
    afterStep: async (step) => {
      if (step >= c.steps) return;
      if (canEvaluate && step % c.evalEvery === 0) await checkpoint(await evaluate());
      else if (step % c.saveEvery === 0) await checkpoint();
      // a caller's checkpoint (the race's) is saved off the training clock: it is not part of the training
      else if (anyRank(o.hooks?.checkpointDue?.(loop.elapsed(), step) ?? false)) await loop.clock.paused(() => checkpoint());
    },
  });

  /** Evaluates off the training clock with the model in eval mode and the training generator untouched; true when best so far. */
  const evaluate = (): Promise<boolean> => loop.clock.paused(async () => {
    if (!canEvaluate) return false;
    const step = loop.step;
    const rng = getRngState();
    model.eval();
    let e: Evaluation;
    try {
      e = await prep.evaluate!({
        spec: c.valData!, batchSize: c.evalBatch, limit: c.evalLimit, workers: c.workers, pg,
        ...(o.quiet || !main ? {} : { progress: (m: string) => loop.status.note(m) }),
      });
    } finally {
      model.train();
      setRngState(rng);
    }
    lastEval = { step, selection: e.selection, metrics: e.metrics, ...(e.details !== undefined ? { details: e.details } : {}), ...(e.items ? { items: e.items } : {}) };
    const isBest = best === null || e.selection > best.selection;
    if (isBest) best = { step, selection: e.selection, metrics: e.metrics };
    if (main) {
      log.append({ step, split: 'val', ...e.metrics, selection: e.selection });
      draw(log.read());
    }
    o.hooks?.onEval?.(step, e);
    loop.status.note(`step ${step} val: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ')}${isBest ? ' (best)' : ''}`);
    return isBest;
  });

  // the run's tokenizer as prepare() left it (a caption run's has <bos>/<eos>): copied into every checkpoint
  const runTokenizer = join(c.out, TOKENIZER_FILE);
  const tokenizerBytes = main && existsSync(runTokenizer) ? readFileSync(runTokenizer) : null;
  if (main && !tokenizerBytes) say(`warning: ${runTokenizer} is missing; checkpoints will not hold a tokenizer`);
  const modelFiles = (step: number): Record<string, string | Uint8Array> => ({
    [MODEL_CONFIG_FILE]: JSON.stringify(modelFolderConfig({
      task: command, step, model: modelConfig, vocabSize: tokenizer.vocabSize,
      head: prep.modelHead?.() ?? prep.stateExtras?.() ?? {}, settings: c as unknown as Record<string, unknown>,
    }), null, 1),
    ...(tokenizerBytes ? { [TOKENIZER_FILE]: tokenizerBytes } : {}),
  });

  let savedStep = -1;
  const checkpoint = async (isBest = false): Promise<void> => {
    if (savedStep === loop.step && !isBest) return;
    savedStep = loop.step;
    const mine: RankState = { rng: b64(getRngState()), loader: feed.state };
    const ranks = pg ? pg.allGatherObject(mine) : [mine];
    if (!main) return;
    const last = lastEval ? { step: lastEval.step, selection: lastEval.selection, metrics: lastEval.metrics } : null;
    const elapsedS = loop.elapsed();
    const state: SavedState = {
      step: loop.step, task: command, config: c, modelConfig, ...mine, ranks, elapsedS, skippedNonFinite: loop.skippedNonFinite,
      lastLoss: loop.lastLoss, best, lastEval: last, ...prep.stateExtras?.(),
    };
    const dir = saveCheckpoint(c.out, model.stateDict(), opt.stateDict(), state, { keepLast: c.keepLast, isBest, files: modelFiles(loop.step) });
    // the hook (the race's probes) runs off the clock
    const hook = o.hooks?.onCheckpoint;
    if (hook) await loop.clock.paused(() => hook({ step: loop.step, dir, model, tokenizer, elapsedS }));
  };

  let stopped: StopReason = 'done';
  try {
    if (loop.step === 0 && anyRank(o.hooks?.checkpointDue?.(0, 0) ?? false)) await loop.clock.paused(() => checkpoint());
    stopped = await loop.run();
    // the final evaluation (none after Ctrl-C, nor when this step was evaluated already, e.g. a resumed finished run)
    const isBest = stopped !== 'interrupted' && loop.step > 0 && lastEval?.step !== loop.step ? await evaluate() : false;
    await checkpoint(isBest);
  } finally {
    await cleanUp(() => loop.close(), () => feed.close(), () => loader.close(), () => prep.source.close?.(), () => ddp?.release(), () => model.dispose(),
      () => opt.dispose(), () => pg?.destroy());
  }
  return {
    task: command, steps: loop.step, finalLoss: loop.lastLoss, elapsedS: loop.elapsed(), stopped, skippedNonFinite: loop.skippedNonFinite,
    runDir: c.out, best, lastEval,
  };
}

/** loss.svg (the recipe's loss terms), lr.svg and, with evaluations, val.svg: a chart per evaluation metric. */
function writeCurves(dir: string, recs: MetricsRecord[], curves: Recipe['curves']): void {
  const train = recs.filter((r) => r.split === undefined);
  const val = recs.filter((r) => r.split === 'val');
  const series = (rs: MetricsRecord[], key: string): [number, number][] => rs.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
  const lossKeys = ['loss', ...curves.loss].filter((k) => train.some((r) => typeof r[k] === 'number'));
  writeLineChart(join(dir, 'loss.svg'), 'training loss', 'step', 'loss', lossKeys.map((k) => ({ name: k, points: series(train, k) })));
  writeLineChart(join(dir, 'lr.svg'), 'learning rate', 'step', 'lr', [{ name: 'lr (group 0)', points: series(train, 'lr') }]);
  // `selection` repeats one metric (or its negation) for the best-checkpoint choice
  const notCurves = new Set(['step', 'split', 'selection', ...(curves.sizes ?? [])]);
  const valKeys = [...new Set([...curves.val, ...val.flatMap((r) => Object.keys(r))])].filter((k) => !notCurves.has(k) && val.some((r) => typeof r[k] === 'number'));
  if (valKeys.length) writeChartGrid(join(dir, 'val.svg'), 'validation', 'step', valKeys.map((k) => ({ title: k, series: [{ name: k, points: series(val, k) }] })));
}
