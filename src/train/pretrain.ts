// Pretraining: FLM, or the MLM / AR / PrefixLM baselines, on any dataset spec.
//
//   run dir (--out)/
//     config.json          the resolved run configuration (also inside every checkpoint)
//     tokenizer.json       the tokenizer used (trained on the data's captions unless one is given)
//     metrics.jsonl        one object per logged step: step, loss, per-objective terms, lr, elapsed_s, ...
//     loss.svg, lr.svg     curves, rewritten at every log
//     checkpoints/         step-N folders (model.safetensors is readable by PyTorch), `latest`, `best`
//
// Exact resume: a checkpoint holds the weights, the optimiser moments, the schedule position, the
// libtorch generator state (dropout, span corruption and MLM draws) and the loader position, so a
// resumed run computes the same next batches and losses as an uninterrupted one.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getRngState, manualSeed, tensor, tidy } from '../tensor/index.js';
import { PRESETS, type AnyFLMModel, type PresetName } from '../models/index.js';
import { AdamW, flmParamGroups, FLM_GROUPING } from '../optim/index.js';
import { openDataset } from '../data/spec.js';
import { DataLoader, type Batch, type LoaderState } from '../data/loader.js';
import { TextTokenizer } from '../data/tokenizer.js';
import { trainTokenizer } from '../data/tokenizer-train.js';
import { iterateIndexed, type DatasetSource } from '../data/types.js';
import type { ScheduleConfig } from './schedule.js';
import { BatchFeed, cleanUp, TrainLoop, type TrainLoopStart } from './loop.js';
import { SettingChecks, checkCommonSettings, type CommonTrainSettings } from './config-checks.js';
import { TrainConfigError } from './errors.js';
import { b64, openRun, restoreTrainingState, trainerGroup, type RankState } from './resume.js';
import { saveCheckpoint } from './checkpoint.js';
import { MetricsLog, logRecorder, type MetricsRecord } from './metrics-log.js';
import { writeLineChart } from './plot.js';
import { writeFileAtomic } from '../io/atomic.js';
import { DistributedDataParallel } from '../dist/ddp.js';
import { formatInitWeightsReport, loadInitWeights } from '../convert/init-weights.js';
import { anyRank as anyRankOf, dataParallelLoopHooks } from '../dist/agree.js';
import {
  PRETRAIN_OBJECTIVES, createObjectiveModel, objectiveConfig, objectiveStep, type PretrainObjective, type TextImageBatch,
} from './objective-step.js';

export interface PretrainConfig extends CommonTrainSettings {
  objective: PretrainObjective;
  preset: PresetName;
  microBatch: number;
  spanCorruptionRate: number | null;
  mlmRate: number;
  /** start from these weights (e.g. `flm convert` output), loaded by name; null: fresh init */
  init: string | null;
}

export const PRETRAIN_DEFAULTS: Omit<PretrainConfig, 'data' | 'out'> = {
  objective: 'flm', preset: 'small', steps: 300, batchSize: 32, microBatch: 32, lr: 1e-4, warmup: 0.1, endLr: 0, decayPower: 1,
  weightDecay: 0.01, lrMultHead: 5, lrMultCrossModal: 5, optimizer: 'adamw', clipNorm: 0, seed: 0, threads: 0, logEvery: 10,
  saveEvery: 100, keepLast: 2, spanCorruptionRate: null, mlmRate: 0.15, tokenizer: null, vocabSize: null, dropRate: null,
  workers: 1, augment: false, maxNonFinite: 10, timeBudgetS: 0, init: null, precision: 'fp32',
};

export { TrainConfigError };

export function validatePretrainConfig(input: PretrainConfig): PretrainConfig {
  const ch = new SettingChecks<PretrainConfig>({ ...input, precision: input.precision ?? 'fp32' });
  const c = ch.c;
  if (!PRETRAIN_OBJECTIVES.includes(c.objective)) ch.fail(`objective must be one of ${PRETRAIN_OBJECTIVES.join(', ')}, got '${c.objective}'`);
  checkCommonSettings(ch);
  ch.num('mlmRate', 0, 1);
  if (c.spanCorruptionRate !== null) ch.num('spanCorruptionRate', 0, 1);
  return ch.done('pretraining');
}

/** What a caller can watch: each logged record, each checkpoint (the race evaluates there). */
export interface PretrainHooks {
  onLog?(rec: MetricsRecord): void;
  /**
   * Asked after every step (and once before the first step of a new run, with step 0): whether to save a
   * checkpoint now besides the `saveEvery` ones. The race saves at fixed training times this way.
   */
  checkpointDue?(elapsedS: number, step: number): boolean;
  /** Runs with the training clock paused: its time is not charged to the run or its time budget. */
  onCheckpoint?(info: { step: number; dir: string; model: AnyFLMModel; tokenizer: TextTokenizer; elapsedS: number }): Promise<void> | void;
}

export interface PretrainResult {
  steps: number;
  finalLoss: number | null;
  elapsedS: number;
  stopped: 'done' | 'interrupted' | 'time-budget';
  skippedNonFinite: number;
  runDir: string;
}

async function captionCorpus(src: DatasetSource, limit: number): Promise<string[]> {
  const out: string[] = [];
  const it = src.kind === 'indexed' ? iterateIndexed(src) : src[Symbol.asyncIterator]();
  for (;;) {
    const n = await (it as AsyncIterator<import('../data/types.js').SourceEntry>).next();
    if (n.done) break;
    if (n.value.ok) out.push(...n.value.item.captions);
    if (out.length >= limit) break;
  }
  return out;
}

/** Loads the run's tokenizer, or trains one on the data (saved in the run folder for resume and inference). */
export async function runTokenizer(c: PretrainConfig, src: DatasetSource, maxLength: number): Promise<TextTokenizer> {
  const inRun = join(c.out, 'tokenizer.json');
  if (c.tokenizer) return TextTokenizer.fromFile(resolve(c.tokenizer), { maxLength });
  if (existsSync(inRun)) return TextTokenizer.fromFile(inRun, { maxLength });
  const corpus = await captionCorpus(src, 200_000);
  if (corpus.length === 0) throw new TrainConfigError(`${c.data}: no captions to train a tokenizer on`);
  // byte-level BPE needs its 256-symbol alphabet plus room for merges
  const json = await trainTokenizer(corpus, { kind: 'bpe', vocabSize: c.vocabSize ?? Math.max(PRESETS[c.preset].vocab_size, 384) });
  writeFileAtomic(inRun, JSON.stringify(json));
  return TextTokenizer.fromFile(inRun, { maxLength });
}

/** Typed arrays of a loader batch as the model's input tensors. */
export function batchTensors(b: Batch): TextImageBatch {
  if (!b.text) throw new Error('batch has no tokenized text (the loader needs a tokenizer)');
  const [B, L] = b.text.shape;
  const image = tensor(b.images[0]!, { shape: b.imageShape });
  const ids = tensor(b.text.ids, { shape: [B, L], dtype: 'int64' });
  const masks = tensor(b.text.attentionMask, { shape: [B, L], dtype: 'int64' });
  const words = tensor(b.text.wordIds, { shape: [B, L], dtype: 'int64' });
  return { image, textIds: ids, textMasks: masks, wordIds: words };
}

function scheduleOf(c: PretrainConfig): ScheduleConfig {
  return { kind: 'polynomial', totalSteps: c.steps, warmup: c.warmup, lrInit: c.lr, lrEnd: c.endLr, power: c.decayPower };
}


interface SavedState {
  step: number;
  config: PretrainConfig;
  rng: string;
  loader: LoaderState;
  ranks?: RankState[];
  elapsedS: number;
  skippedNonFinite: number;
  lastLoss: number | null;
}


/**
 * Runs (or resumes) a pretraining run to completion, interruption or the time budget. Started by
 * `flm launch` / `--nproc N` (RANK/WORLD_SIZE set), it trains data-parallel: each rank reads its shard
 * of every epoch, gradients are averaged as DDP does, and rank 0 alone writes logs and checkpoints
 * (which hold every rank's data position and RNG state, so a resumed run continues exactly).
 * `batchSize` is the global batch: microBatch x accumulation x world size.
 */
export async function pretrain(input: PretrainConfig, o: { resume?: boolean; hooks?: PretrainHooks; quiet?: boolean } = {}): Promise<PretrainResult> {
  let c = validatePretrainConfig({ ...input, out: resolve(input.out) });
  const { pg, rank, world, main } = trainerGroup(c.batchSize, c.microBatch);
  const run = openRun<PretrainConfig, SavedState>(c, {
    resume: o.resume ?? false, pg, validate: validatePretrainConfig, say: (m) => { if (!o.quiet) console.error(`flm pretrain: ${m}`); },
  });
  c = run.c;
  const { saved, ckptDir } = run;

  const src = await openDataset(c.data);
  const preset = PRESETS[c.preset];
  // rank 0 trains (or loads) the tokenizer and writes it to the run folder; the others then read it
  const tokenizer = main ? await runTokenizer(c, src, preset.max_text_len) : null;
  pg?.barrier();
  const tok = tokenizer ?? (await runTokenizer(c, src, preset.max_text_len));
  const modelConfig = objectiveConfig(c.objective, c.preset, tok.vocabSize);
  if (c.dropRate !== null) (modelConfig as { drop_rate: number }).drop_rate = c.dropRate;
  const model = tidy(() => createObjectiveModel(c.objective, modelConfig));
  model.train();
  if (c.init && !saved) {
    const r = loadInitWeights(model, c.init);
    if (main && !o.quiet) for (const l of formatInitWeightsReport(r)) console.error(`flm pretrain: ${l}`);
  }
  // DDP broadcasts rank 0's initial weights; each rank then draws its own dropout / corruption / masking
  const ddp = pg ? new DistributedDataParallel(model, { pg, findUnusedParameters: true }) : null;
  if (pg) manualSeed(c.seed * 1000 + rank + 1);
  const groups = flmParamGroups(model.namedParameters(), { ...FLM_GROUPING, lrMultHead: c.lrMultHead, lrMultCrossModal: c.lrMultCrossModal, weightDecay: c.weightDecay });
  const opt = new AdamW(groups, { lr: c.lr, betas: [0.9, 0.98], eps: 1e-8, weightDecay: c.weightDecay, style: c.optimizer === 'adamw-hf' ? 'hf' : 'torch' });
  const loader = new DataLoader(src, {
    batchSize: c.microBatch, imageSize: preset.image_size, tokenizer: tok, seed: c.seed, workers: c.workers, augment: c.augment, dropLast: true,
    rank, worldSize: world,
  });
  const log = new MetricsLog(join(c.out, 'metrics.jsonl'));
  let start: TrainLoopStart | undefined;
  if (saved && ckptDir) {
    restoreTrainingState(ckptDir, model, opt, loader, saved, rank, world);
    start = { step: saved.step, elapsedS: saved.elapsedS, skippedNonFinite: saved.skippedNonFinite, lastLoss: saved.lastLoss };
    if (main) log.truncateAfter(saved.step);
    if (main && !o.quiet) console.error(`flm pretrain: resumed from ${ckptDir} at step ${saved.step}`);
  }

  const accum = c.batchSize / (c.microBatch * world);
  const feed = new BatchFeed(loader.batches(), loader.state());
  /** Every rank must take the same branch: any rank's flag decides for all. */
  const anyRank = (flag: boolean): boolean => (pg ? anyRankOf(pg, flag) : flag);
  const loop: TrainLoop<Batch> = new TrainLoop<Batch>({
    steps: c.steps, accum, schedule: scheduleOf(c), clipNorm: c.clipNorm, maxNonFinite: c.maxNonFinite, logEvery: c.logEvery,
    timeBudgetS: c.timeBudgetS, opt, quiet: (o.quiet ?? false) || !main, start, precision: c.precision,
    clipParams: () => model.parameters(),
    nextBatch: () => feed.next(),
    loss: (b) => ({
      ...objectiveStep(model, c.objective, batchTensors(b), { spanCorruptionRate: c.spanCorruptionRate ?? undefined, mlmRate: c.mlmRate }),
      tokens: b.text ? b.text.lengths.reduce((a, n) => a + n, 0) : 0, images: b.size,
    }),
    ...dataParallelLoopHooks(pg, ddp),
    onLog: logRecorder(log, (recs) => writeCurves(c.out, recs), o.hooks?.onLog, main),
    afterStep: async (step) => {
      const due = step % c.saveEvery === 0 || (o.hooks?.checkpointDue?.(loop.elapsed(), step) ?? false);
      if (step < c.steps && anyRank(due)) await checkpoint();
    },
  });
  let savedStep = -1;
  const checkpoint = async (): Promise<void> => {
    if (savedStep === loop.step) return;
    savedStep = loop.step;
    const mineNow: RankState = { rng: b64(getRngState()), loader: feed.state };
    const ranks = pg ? pg.allGatherObject(mineNow) : [mineNow];
    if (!main) return;
    const elapsedS = loop.elapsed();
    const state: SavedState = { step: loop.step, config: c, rng: mineNow.rng, loader: feed.state, ranks, elapsedS, skippedNonFinite: loop.skippedNonFinite, lastLoss: loop.lastLoss };
    const dir = saveCheckpoint(c.out, model.stateDict(), opt.stateDict(), state as unknown as { step: number }, { keepLast: c.keepLast });
    // the hook (the race's probes) runs off the clock
    await loop.clock.paused(() => o.hooks?.onCheckpoint?.({ step: loop.step, dir, model, tokenizer: tok, elapsedS }));
  };

  let stopped: PretrainResult['stopped'] = 'done';
  try {
    if (loop.step === 0 && anyRank(o.hooks?.checkpointDue?.(0, 0) ?? false)) await checkpoint();
    stopped = await loop.run();
    await checkpoint();
  } finally {
    await cleanUp(() => loop.close(), () => feed.close(), () => loader.close(), () => src.close?.(), () => ddp?.release(), () => model.dispose(),
      () => opt.dispose(), () => pg?.destroy());
  }
  return { steps: loop.step, finalLoss: loop.lastLoss, elapsedS: loop.elapsed(), stopped, skippedNonFinite: loop.skippedNonFinite, runDir: c.out };
}

function writeCurves(dir: string, recs: MetricsRecord[]): void {
  const series = (key: string): [number, number][] => recs.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
  const lossKeys = ['loss', 'flm', 'l2r', 'r2l', 'mlm', 'ar', 'prefixLm'].filter((k) => recs.some((r) => typeof r[k] === 'number'));
  writeLineChart(join(dir, 'loss.svg'), 'training loss', 'step', 'loss', lossKeys.map((k) => ({ name: k, points: series(k) })));
  writeLineChart(join(dir, 'lr.svg'), 'learning rate', 'step', 'lr', [{ name: 'lr (group 0)', points: series('lr') }]);
}
