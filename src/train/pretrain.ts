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
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { getRngState, manualSeed, setNumThreads, setRngState, tensor, tidy } from '../tensor/index.js';
import { PRESETS, type AnyFLMModel, type PresetName } from '../models/index.js';
import { AdamW, clipGradNorm, flmParamGroups, FLM_GROUPING } from '../optim/index.js';
import { openDataset } from '../data/spec.js';
import { DataLoader, type Batch, type LoaderState } from '../data/loader.js';
import { TextTokenizer } from '../data/tokenizer.js';
import { trainTokenizer } from '../data/tokenizer-train.js';
import { iterateIndexed, type DatasetSource } from '../data/types.js';
import { lrFactor, type ScheduleConfig } from './schedule.js';
import { loadCheckpoint, resolveCheckpoint, saveCheckpoint } from './checkpoint.js';
import { MetricsLog, type MetricsRecord } from './metrics-log.js';
import { writeLineChart } from './plot.js';
import { writeFileAtomic } from '../io/atomic.js';
import { StatusLine } from './status-line.js';
import { DistributedDataParallel } from '../dist/ddp.js';
import { formatInitWeightsReport, loadInitWeights } from '../io/init-weights.js';
import { distEnv, initProcessGroup, type ProcessGroup } from '../dist/process-group.js';
import {
  PRETRAIN_OBJECTIVES, createObjectiveModel, objectiveConfig, objectiveStep, type PretrainObjective, type TextImageBatch,
} from './objective-step.js';

export interface PretrainConfig {
  objective: PretrainObjective;
  preset: PresetName;
  /** dataset spec (see `flm --help`): shapes:train?n=20000, karpathy:..., wds:..., arrow:... */
  data: string;
  out: string;
  steps: number;
  /** effective batch (micro-batch x accumulation) */
  batchSize: number;
  /** examples per forward pass; batchSize must be a multiple */
  microBatch: number;
  lr: number;
  /** warmup steps, or a fraction of `steps` when < 1 */
  warmup: number;
  endLr: number;
  decayPower: number;
  weightDecay: number;
  lrMultHead: number;
  lrMultCrossModal: number;
  optimizer: 'adamw' | 'adamw-hf';
  /** global gradient-norm clipping (0: off, as the official recipe) */
  clipNorm: number;
  seed: number;
  /** intra-op threads (0: all cores) */
  threads: number;
  logEvery: number;
  saveEvery: number;
  keepLast: number;
  spanCorruptionRate: number | null;
  mlmRate: number;
  /** path to a tokenizer.json; null: train a byte-level BPE on the data's captions */
  tokenizer: string | null;
  vocabSize: number | null;
  dropRate: number | null;
  workers: number;
  augment: boolean;
  /** consecutive non-finite losses tolerated before the run stops */
  maxNonFinite: number;
  /** stop after this many seconds of training (0: no limit); the race uses it */
  timeBudgetS: number;
  /** start from these weights (e.g. `flm convert` output), loaded by name; null: fresh init */
  init: string | null;
}

export const PRETRAIN_DEFAULTS: Omit<PretrainConfig, 'data' | 'out'> = {
  objective: 'flm', preset: 'small', steps: 300, batchSize: 32, microBatch: 32, lr: 1e-4, warmup: 0.1, endLr: 0, decayPower: 1,
  weightDecay: 0.01, lrMultHead: 5, lrMultCrossModal: 5, optimizer: 'adamw', clipNorm: 0, seed: 0, threads: 0, logEvery: 10,
  saveEvery: 100, keepLast: 2, spanCorruptionRate: null, mlmRate: 0.15, tokenizer: null, vocabSize: null, dropRate: null,
  workers: 1, augment: false, maxNonFinite: 10, timeBudgetS: 0, init: null,
};

export class TrainConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainConfigError';
  }
}

export function validatePretrainConfig(c: PretrainConfig): PretrainConfig {
  const bad: string[] = [];
  const int = (k: keyof PretrainConfig, min: number): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad.push(`${k} must be an integer >= ${min}, got ${String(v)}`);
  };
  const num = (k: keyof PretrainConfig, min: number, max = Infinity): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad.push(`${k} must be a number in [${min}, ${max}], got ${String(v)}`);
  };
  if (!PRETRAIN_OBJECTIVES.includes(c.objective)) bad.push(`objective must be one of ${PRETRAIN_OBJECTIVES.join(', ')}, got '${c.objective}'`);
  if (!(c.preset in PRESETS)) bad.push(`preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${c.preset}'`);
  if (typeof c.data !== 'string' || !c.data) bad.push('data (a dataset spec) is required');
  if (typeof c.out !== 'string' || !c.out) bad.push('out (the run folder) is required');
  int('steps', 1); int('batchSize', 1); int('microBatch', 1); int('seed', 0); int('threads', 0); int('logEvery', 1);
  int('saveEvery', 1); int('keepLast', 1); int('workers', 0); int('maxNonFinite', 0);
  num('lr', 0, 10); num('warmup', 0, Number.MAX_SAFE_INTEGER); num('endLr', 0, 10); num('decayPower', 0, 100); num('weightDecay', 0, 10);
  num('lrMultHead', 0, 1e6); num('lrMultCrossModal', 0, 1e6); num('clipNorm', 0, 1e9); num('mlmRate', 0, 1); num('timeBudgetS', 0, 1e9);
  if (c.spanCorruptionRate !== null) num('spanCorruptionRate', 0, 1);
  if (c.dropRate !== null) num('dropRate', 0, 0.99);
  if (c.vocabSize !== null) int('vocabSize', 16);
  if (c.optimizer !== 'adamw' && c.optimizer !== 'adamw-hf') bad.push(`optimizer must be 'adamw' or 'adamw-hf', got '${String(c.optimizer)}'`);
  if (Number.isInteger(c.batchSize) && Number.isInteger(c.microBatch) && c.batchSize % c.microBatch !== 0) {
    bad.push(`batchSize (${c.batchSize}) must be a multiple of microBatch (${c.microBatch})`);
  }
  const w = c.warmup < 1 ? Math.floor(c.steps * c.warmup) : c.warmup;
  if (Number.isFinite(w) && w >= c.steps) bad.push(`warmup (${w} steps) must be shorter than steps (${c.steps})`);
  if (bad.length) throw new TrainConfigError(`invalid pretraining config:\n  - ${bad.join('\n  - ')}`);
  return c;
}

/** What a caller can watch: each logged record, each checkpoint (the race evaluates there). */
export interface PretrainHooks {
  onLog?(rec: MetricsRecord): void;
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

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

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

/** Per-rank state that rank 0 stores for every rank (data position and random generator). */
interface RankState {
  rng: string;
  loader: LoaderState;
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
  const env = distEnv();
  const pg: ProcessGroup | null = env && env.worldSize > 1 ? initProcessGroup() : null;
  const rank = pg?.rank ?? 0;
  const world = pg?.worldSize ?? 1;
  const main = rank === 0;
  if (c.batchSize % (c.microBatch * world) !== 0) {
    throw new TrainConfigError(`batchSize (${c.batchSize}) must be a multiple of microBatch x world size (${c.microBatch} x ${world})`);
  }
  let saved: SavedState | null = null;
  let ckptDir = o.resume && main ? resolveCheckpoint(c.out, 'latest') : null;
  if (pg) ckptDir = pg.broadcastObject(ckptDir);
  if (ckptDir) {
    const st = JSON.parse(readFileSync(join(ckptDir, 'state.json'), 'utf8')) as SavedState;
    // the saved run defines the model, data and schedule; only the length and budget may change
    c = validatePretrainConfig({ ...st.config, steps: input.steps, timeBudgetS: input.timeBudgetS, threads: input.threads, out: c.out });
    saved = st;
  } else if (o.resume && main && !o.quiet) console.error(`flm pretrain: no checkpoint in ${c.out}; starting a new run`);
  if (main) {
    mkdirSync(c.out, { recursive: true });
    writeFileAtomic(join(c.out, 'config.json'), JSON.stringify(c, null, 1));
  }
  setNumThreads(c.threads || Math.max(1, Math.floor(availableParallelism() / world)));
  manualSeed(c.seed);

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
  const writeLog = main;
  let step = 0;
  let elapsedBefore = 0;
  let skippedNonFinite = 0;
  let lastLoss: number | null = null;
  if (saved && ckptDir) {
    const ck = loadCheckpoint(ckptDir);
    model.loadStateDict(ck.model, { strict: true });
    opt.loadStateDict(ck.optimizer);
    for (const t of [...ck.model.values(), ...ck.optimizer.tensors.values()]) t.dispose();
    const ranks = saved.ranks ?? [{ rng: saved.rng, loader: saved.loader }];
    const mine = ranks[rank];
    if (ranks.length !== world || !mine) {
      throw new TrainConfigError(`checkpoint ${ckptDir} was written by ${ranks.length} process(es); resume it with the same number (now ${world})`);
    }
    loader.restore(mine.loader);
    setRngState(unb64(mine.rng));
    step = saved.step;
    elapsedBefore = saved.elapsedS;
    skippedNonFinite = saved.skippedNonFinite;
    lastLoss = saved.lastLoss;
    if (writeLog) log.truncateAfter(step);
    if (main && !o.quiet) console.error(`flm pretrain: resumed from ${ckptDir} at step ${step}`);
  }

  const accum = c.batchSize / (c.microBatch * world);
  const schedule = scheduleOf(c);
  const status = new StatusLine((o.quiet ?? false) || !main);
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    status.note('interrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - t0) / 1000;
  let consecutiveBad = 0;
  let tokensSinceLog = 0;
  let imagesSinceLog = 0;
  let lastLogT = performance.now();
  let stopped: PretrainResult['stopped'] = 'done';
  let loaderState = loader.state();
  const batches = loader.batches();

  const checkpoint = async (): Promise<void> => {
    const mineNow: RankState = { rng: b64(getRngState()), loader: loaderState };
    const ranks = pg ? pg.allGatherObject(mineNow) : [mineNow];
    if (!main) return;
    const state: SavedState = { step, config: c, rng: mineNow.rng, loader: loaderState, ranks, elapsedS: elapsed(), skippedNonFinite, lastLoss };
    const dir = saveCheckpoint(c.out, model.stateDict(), opt.stateDict(), state as unknown as { step: number }, { keepLast: c.keepLast });
    await o.hooks?.onCheckpoint?.({ step, dir, model, tokenizer: tok, elapsedS: elapsed() });
  };
  /** Every rank must take the same branch: any rank's flag decides for all. */
  const anyRank = (flag: boolean): boolean => {
    if (!pg) return flag;
    return tidy(() => {
      const t = tensor([flag ? 1 : 0]);
      pg.allReduce(t, 'max');
      return t.item() > 0;
    });
  };

  try {
    while (step < c.steps) {
      const overBudget = c.timeBudgetS > 0 && elapsed() >= c.timeBudgetS;
      if (anyRank(interrupted || overBudget)) {
        stopped = overBudget ? 'time-budget' : 'interrupted';
        break;
      }
      opt.setLrFactor(lrFactor(schedule, step));
      opt.zeroGrad();
      let lossSum = 0;
      let finite = true;
      const termSums: Record<string, number> = {};
      for (let k = 0; k < accum; k++) {
        const next = await batches.next();
        if (next.done) throw new Error('the data loader ended unexpectedly');
        const b = next.value;
        loaderState = b.state;
        tokensSinceLog += b.text ? b.text.lengths.reduce((a, n) => a + n, 0) : 0;
        imagesSinceLog += b.size;
        tidy(() => {
          const r = objectiveStep(model, c.objective, batchTensors(b), { spanCorruptionRate: c.spanCorruptionRate ?? undefined, mlmRate: c.mlmRate });
          const l = r.loss.item();
          // all ranks skip together, before any of them enters the gradient all-reduce
          if (anyRank(!Number.isFinite(l))) {
            finite = false;
            return;
          }
          lossSum += l / accum;
          for (const [n, t] of Object.entries({ ...r.terms, ...r.metrics })) termSums[n] = (termSums[n] ?? 0) + t.item() / accum;
          const scaled = accum === 1 ? r.loss : r.loss.div(accum);
          if (!ddp) scaled.backward();
          else if (k < accum - 1) ddp.noSync(() => ddp.backward(scaled));
          else ddp.backward(scaled);
        });
        if (!finite) break;
      }
      let gradNorm: number | null = null;
      if (finite && c.clipNorm > 0) {
        gradNorm = clipGradNorm(model.parameters(), c.clipNorm);
        if (!Number.isFinite(gradNorm)) finite = false;
      }
      if (!finite) {
        opt.zeroGrad();
        skippedNonFinite++;
        consecutiveBad++;
        status.note(`step ${step + 1}: non-finite loss or gradient, step skipped (${skippedNonFinite} so far)`);
        if (consecutiveBad > c.maxNonFinite) {
          throw new Error(`${consecutiveBad} consecutive non-finite losses: stopping (lower the learning rate, or enable --clip-norm)`);
        }
        step++;
        continue;
      }
      consecutiveBad = 0;
      opt.step();
      step++;
      lastLoss = lossSum;
      if (step % c.logEvery === 0 || step === c.steps) {
        if (pg) {
          // the logged loss is the mean over ranks (what the averaged gradient belongs to)
          const t = tensor([lossSum]);
          pg.allReduce(t, 'avg');
          lossSum = t.item();
          t.dispose();
        }
        const now = performance.now();
        const dt = (now - lastLogT) / 1000;
        const rec: MetricsRecord = {
          step, loss: lossSum, ...termSums, lr: opt.groups[0]!.lr, elapsed_s: Number(elapsed().toFixed(3)),
          tokens_per_s: Number((tokensSinceLog / dt).toFixed(1)), images_per_s: Number((imagesSinceLog / dt).toFixed(2)),
          ...(gradNorm !== null ? { grad_norm: gradNorm } : {}), skipped_nonfinite: skippedNonFinite,
        };
        if (writeLog) {
          log.append(rec);
          writeCurves(c.out, log.read());
          o.hooks?.onLog?.(rec);
        }
        tokensSinceLog = 0;
        imagesSinceLog = 0;
        lastLogT = now;
        status.update(step, c.steps, rec, elapsed());
      }
      if (step % c.saveEvery === 0 && step < c.steps) await checkpoint();
    }
    await checkpoint();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    status.done();
    await batches.return(undefined);
    await loader.close();
    await src.close?.();
    ddp?.release();
    model.dispose();
    opt.dispose();
    pg?.destroy();
  }
  return { steps: step, finalLoss: lastLoss, elapsedS: elapsed(), stopped, skippedNonFinite, runDir: c.out };
}

function writeCurves(dir: string, recs: MetricsRecord[]): void {
  const series = (key: string): [number, number][] => recs.filter((r) => typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
  const lossKeys = ['loss', 'flm', 'l2r', 'r2l', 'mlm', 'ar', 'prefixLm'].filter((k) => recs.some((r) => typeof r[k] === 'number'));
  writeLineChart(join(dir, 'loss.svg'), 'training loss', 'step', 'loss', lossKeys.map((k) => ({ name: k, points: series(k) })));
  writeLineChart(join(dir, 'lr.svg'), 'learning rate', 'step', 'lr', [{ name: 'lr (group 0)', points: series('lr') }]);
}
