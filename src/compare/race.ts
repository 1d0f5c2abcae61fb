// `flm compare`: the race behind the paper's "2.5x less pretraining time". The same model preset is
// pretrained with each objective (FLM, MLM, AR, ...) for the same wall-clock budget on the same data
// (same tokenizer, batch, learning rate and data order per seed), and every run is probed at regular
// wall-clock checkpoints with the fast probes of probes.ts. report.ts turns the numbers into curves and
// the time each objective needs to reach the best score MLM reaches within its budget.
//
// Wall-clock checkpoints: each run is one `pretrain()` call with the budget as its time limit; its
// `checkpointDue` hook asks for a checkpoint whenever the training clock passes budget·k/evals, and the
// probes run in the `onCheckpoint` hook, which the trainer runs with its clock paused, so probing is not
// charged to any objective. With `evalInit` the initialisation is probed too (time 0).
//
//   out/
//     tokenizer.json       one BPE vocabulary for every run (trained on the training captions)
//     runs/<obj>-s<seed>/  each pretraining run (metrics.jsonl, loss.svg, the last checkpoint)
//     results.json         every number (rewritten after each checkpoint, so an interrupted race keeps its data)
//     report.md, *.svg     report.ts
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { defaultNumThreads } from '../config/threads.js';
import { join, resolve } from 'node:path';
import { PRESETS, type PresetName, type PresetSpec } from '../models/index.js';
import { setNumThreads } from '../tensor/index.js';
import { openDataset, parseDatasetSpec } from '../data/spec.js';
import { DataLoader } from '../data/loader.js';
import { TextTokenizer } from '../data/tokenizer.js';
import { PRETRAIN_DEFAULTS, pretrain, runTokenizer, type PretrainConfig } from '../tasks/pretrain/recipe.js';
import { MetricsLog, type MetricsRecord } from '../train/metrics-log.js';
import { PRETRAIN_OBJECTIVES, type PretrainObjective } from '../tasks/pretrain/objective-step.js';
import { writeFileAtomic } from '../io/atomic.js';
import { prepareProbes, runProbes, type ProbeContext, type ProbeMetrics, type ProbeSettings } from './probes.js';
import { summarize, writeReport, type RaceSummary } from './report.js';


export interface RaceConfig {
  /** training data spec (any caption dataset) */
  data: string;
  /** held-out images + captions the probes use */
  testData: string;
  /** linear-probe training images (null: derived from a shapes test spec, else no linear probe) */
  probeTrainData: string | null;
  objectives: PretrainObjective[];
  /** number of seeds (0 .. seeds-1) per objective */
  seeds: number;
  /** wall-clock training seconds per run */
  budgetS: number;
  /** probes per run, at budget·k/evals (k = 1..evals) */
  evals: number;
  /** also probe the initialisation (time 0) */
  evalInit: boolean;
  preset: string;
  out: string;
  batchSize: number;
  lr: number;
  /** warmup in steps (constant learning rate afterwards: no checkpoint is favoured by the schedule) */
  warmupSteps: number;
  threads: number;
  workers: number;
  spanCorruptionRate: number | null;
  mlmRate: number;
  probes: ProbeSettings;
  /** the headline metric of the report */
  metric: string;
}

import { PROBE_DEFAULTS } from './defaults.js';
export { RACE_DEFAULTS, defaultRaceData } from './defaults.js';

/** The linear probe's training images: the val split of a shapes test spec (same world seed and size). */
export function probeTrainSpec(testSpec: string, images = PROBE_DEFAULTS.lpTrain): string | null {
  const p = parseDatasetSpec(testSpec);
  if (p.scheme !== 'shapes') return null;
  const q = new URLSearchParams(p.query);
  q.set('n', String(images));
  return `shapes:${p.path === 'val' ? 'train' : 'val'}?${q.toString()}`;
}

export class RaceConfigError extends Error {
  override name = 'RaceConfigError';
}

export function validateRaceConfig(c: RaceConfig): RaceConfig {
  const bad: string[] = [];
  if (!c.objectives.length) bad.push('objectives: at least one');
  for (const o of c.objectives) if (!PRETRAIN_OBJECTIVES.includes(o)) bad.push(`objective '${o}' is not one of ${PRETRAIN_OBJECTIVES.join(', ')}`);
  if (new Set(c.objectives).size !== c.objectives.length) bad.push('objectives: listed twice');
  if (!(c.preset in PRESETS)) bad.push(`preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${c.preset}'`);
  const int = (k: string, v: number, min: number): void => { if (!Number.isInteger(v) || v < min) bad.push(`${k} must be an integer >= ${min}, got ${v}`); };
  int('seeds', c.seeds, 1); int('evals', c.evals, 1); int('batchSize', c.batchSize, 1); int('warmupSteps', c.warmupSteps, 0);
  int('threads', c.threads, 0); int('workers', c.workers, 0);
  int('probes.zsImages', c.probes.zsImages, 2); int('probes.way', c.probes.way, 2); int('probes.mpImages', c.probes.mpImages, 0); int('probes.mpRefs', c.probes.mpRefs, 0);
  int('probes.lpSteps', c.probes.lpSteps, 0); int('probes.lpTrain', c.probes.lpTrain, 0); int('probes.lpTest', c.probes.lpTest, 0); int('probes.mlmPasses', c.probes.mlmPasses, 1); int('probes.batch', c.probes.batch, 1);
  if (c.probes.zsImages < c.probes.way) bad.push(`probes.zsImages (${c.probes.zsImages}) must be at least the way (${c.probes.way})`);
  if (!(c.budgetS > 0 && Number.isFinite(c.budgetS))) bad.push(`budgetS must be > 0, got ${c.budgetS}`);
  if (!(c.lr > 0 && c.lr < 10)) bad.push(`lr must be in (0, 10), got ${c.lr}`);
  if (c.spanCorruptionRate !== null && !(c.spanCorruptionRate >= 0 && c.spanCorruptionRate <= 1)) bad.push('spanCorruptionRate must be in [0, 1]');
  if (!(c.mlmRate > 0 && c.mlmRate <= 1)) bad.push('mlmRate must be in (0, 1]');
  for (const [k, v] of [['data', c.data], ['testData', c.testData], ['out', c.out]] as const) if (!v) bad.push(`${k} is required`);
  if (bad.length) throw new RaceConfigError(`invalid race config:\n  - ${bad.join('\n  - ')}`);
  return c;
}

export interface CheckpointResult {
  /** segment index: 0 = initialisation (with evalInit), k = after budget·k/evals seconds */
  k: number;
  step: number;
  /** training seconds on the trainer's clock (probing and restarts excluded) */
  elapsed_s: number;
  metrics: ProbeMetrics;
}

export interface RunResult {
  objective: PretrainObjective;
  seed: number;
  run_dir: string;
  checkpoints: CheckpointResult[];
  steps: number;
  elapsed_s: number;
  /** steps / training seconds over the whole run */
  steps_per_s: number | null;
  /** median seconds per step over the logged intervals (robust to the restart warm-ups) */
  s_per_step_median: number | null;
  final_loss: number | null;
  /** wall seconds of the whole run including probes and restarts */
  wall_s: number;
  /** training loss vs training seconds (from metrics.jsonl) */
  loss_curve: [number, number][];
}

export interface RaceResults {
  setup: {
    config: RaceConfig;
    preset_spec: PresetSpec;
    tokenizer_vocab: number;
    machine: { cpus: number; model: string; threads: number; loadavg_start: number[]; loadavg_end?: number[] };
    /** data loading alone, before the race: ms per batch (the loader runs beside the training threads) */
    loader_ms_per_batch: number | null;
    probe_material: { test_images: number; zs_groups: number; way: number; minimal_pairs: Record<string, number>; lp_train_images: number };
    started: string;
    finished?: string;
    wall_s?: number;
  };
  runs: RunResult[];
  summary?: RaceSummary;
}

export interface RaceOptions {
  /** progress lines (default: stderr) */
  log?: (msg: string) => void;
  /** replace the runs of an earlier race in `out` */
  overwrite?: boolean;
}

/** Median seconds per step over consecutive log records of one segment. */
function secondsPerStep(recs: MetricsRecord[]): number | null {
  const d: number[] = [];
  for (let i = 1; i < recs.length; i++) {
    const a = recs[i - 1]!;
    const b = recs[i]!;
    const dt = Number(b.elapsed_s) - Number(a.elapsed_s);
    const ds = b.step - a.step;
    if (ds > 0 && dt > 0) d.push(dt / ds);
  }
  if (!d.length) return null;
  d.sort((x, y) => x - y);
  return d[Math.floor(d.length / 2)]!;
}

/** Data loading alone at the race's batch and image size: ms per batch (after a warm-up). */
async function measureLoader(spec: string, imageSize: number, tok: TextTokenizer, batchSize: number, workers: number): Promise<number | null> {
  const src = await openDataset(spec);
  const loader = new DataLoader(src, { batchSize, imageSize, tokenizer: tok, seed: 0, workers, dropLast: true });
  const it = loader.batches();
  try {
    let t0 = 0;
    for (let i = 0; i < 23; i++) {
      if (i === 3) t0 = performance.now();
      if ((await it.next()).done) return null;
    }
    return (performance.now() - t0) / 20;
  } finally {
    await it.return(undefined);
    await loader.close();
    await src.close?.();
  }
}

/** Runs the whole race and writes results.json and the report into `out`. */
export async function runRace(input: RaceConfig, o: RaceOptions = {}): Promise<RaceResults> {
  const c = validateRaceConfig({ ...input, out: resolve(input.out) });
  return race(c, o);
}

async function race(c: RaceConfig, o: RaceOptions): Promise<RaceResults> {
  const log = o.log ?? ((m: string) => console.error(`flm compare: ${m}`));
  const t0 = performance.now();
  const runsDir = join(c.out, 'runs');
  if (existsSync(runsDir)) {
    if (!o.overwrite) throw new RaceConfigError(`${c.out} already holds a race (runs/); pass --overwrite to replace it, or choose another --out`);
    rmSync(runsDir, { recursive: true, force: true });
  }
  mkdirSync(runsDir, { recursive: true });
  const preset = (PRESETS as Record<string, PresetSpec>)[c.preset]!;
  const threads = c.threads || defaultNumThreads();
  setNumThreads(threads);

  // one tokenizer for every run, trained on the training captions
  const tokPath = join(c.out, 'tokenizer.json');
  rmSync(tokPath, { force: true });
  const base: PretrainConfig = {
    ...PRETRAIN_DEFAULTS, preset: c.preset as PresetName, data: c.data, out: c.out, steps: 10_000_000, batchSize: c.batchSize, microBatch: c.batchSize,
    lr: c.lr, warmup: c.warmupSteps, endLr: 0, threads: c.threads, logEvery: 10, saveEvery: 10_000_000, keepLast: 1, tokenizer: null,
    workers: c.workers, spanCorruptionRate: c.spanCorruptionRate, mlmRate: c.mlmRate, timeBudgetS: 0,
  };
  log(`training the tokenizer on ${c.data}`);
  const trainSrc = await openDataset(c.data);
  let tok: TextTokenizer;
  try {
    tok = await runTokenizer(base, trainSrc, preset.max_text_len);
  } finally {
    await trainSrc.close?.();
  }
  log('measuring data loading alone');
  const loaderMs = await measureLoader(c.data, preset.image_size, tok, c.batchSize, c.workers).catch(() => null);

  log(`preparing the probes on ${c.testData}`);
  const lpSpec = c.probeTrainData ?? probeTrainSpec(c.testData, c.probes.lpTrain);
  const ctx: ProbeContext = await prepareProbes(c.testData, lpSpec, preset.image_size, c.probes, { workers: c.workers });
  const mpCounts: Record<string, number> = {};
  for (const p of ctx.pairs.pairs) mpCounts[p.kind] = (mpCounts[p.kind] ?? 0) + 1;

  const cpu = cpus();
  const results: RaceResults = {
    setup: {
      config: { ...c, probeTrainData: lpSpec }, preset_spec: { ...preset }, tokenizer_vocab: tok.vocabSize,
      machine: { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown', threads, loadavg_start: loadavg().map((x) => Number(x.toFixed(2))) },
      loader_ms_per_batch: loaderMs === null ? null : Number(loaderMs.toFixed(1)),
      probe_material: {
        test_images: ctx.test.count, zs_groups: Math.floor(Math.min(c.probes.zsImages, ctx.test.count) / c.probes.way), way: c.probes.way,
        minimal_pairs: mpCounts, lp_train_images: ctx.lpTrain?.count ?? 0,
      },
      started: new Date().toISOString(),
    },
    runs: [],
  };
  const save = (): void => {
    results.summary = summarize(results);
    writeFileAtomic(join(c.out, 'results.json'), JSON.stringify(results, null, 1));
    writeReport(c.out, results);
  };

  // seeds outermost, objectives interleaved: drifts in the machine's load hit every objective alike
  for (let seed = 0; seed < c.seeds; seed++) {
    for (const objective of c.objectives) {
      const name = `${objective}-s${seed}`;
      const runDir = join(runsDir, name);
      const run: RunResult = {
        objective, seed, run_dir: runDir, checkpoints: [], steps: 0, elapsed_s: 0, steps_per_s: null, s_per_step_median: null, final_loss: null, wall_s: 0, loss_curve: [],
      };
      results.runs.push(run);
      const runT0 = performance.now();
      // probes at training times budget·k/evals (k = 1 .. evals-1; the last at the end), and at step 0
      let nextK = 1;
      const cfg: PretrainConfig = { ...base, objective, seed, out: runDir, tokenizer: tokPath, timeBudgetS: c.budgetS };
      const r = await pretrain(cfg, {
        quiet: true,
        hooks: {
          checkpointDue: (elapsedS, step) => {
            if (step === 0) return c.evalInit;
            if (nextK < c.evals && elapsedS >= (c.budgetS * nextK) / c.evals) {
              nextK++;
              return true;
            }
            return false;
          },
          onCheckpoint: ({ step, model, tokenizer, elapsedS }) => {
            const metrics = runProbes(model, objective, tokenizer, ctx);
            const k = step === 0 ? 0 : run.checkpoints.filter((x) => x.k > 0).length + 1;
            run.checkpoints.push({ k, step, elapsed_s: step === 0 ? 0 : Number(elapsedS.toFixed(3)), metrics });
            const head = metrics[c.metric];
            log(`${name} t=${elapsedS.toFixed(0)}s step ${step}: ${c.metric} ${head === undefined ? '-' : head.toFixed(3)} (probes ${metrics.probe_s} s)`);
          },
        },
      });
      run.steps = r.steps;
      run.elapsed_s = Number(r.elapsedS.toFixed(3));
      run.final_loss = r.finalLoss;
      if (r.stopped === 'interrupted') log('interrupted: writing what the race has so far');
      const recs = new MetricsLog(join(runDir, 'metrics.jsonl')).read();
      run.loss_curve = recs.filter((r) => typeof r.loss === 'number' && typeof r.elapsed_s === 'number').map((r) => [Number(r.elapsed_s), Number(r.loss)]);
      run.steps_per_s = run.elapsed_s > 0 ? Number((run.steps / run.elapsed_s).toFixed(4)) : null;
      const sps = secondsPerStep(recs);
      run.s_per_step_median = sps === null ? null : Number(sps.toFixed(4));
      run.wall_s = Number(((performance.now() - runT0) / 1000).toFixed(1));
      save();
      if (r.stopped === 'interrupted') {
        results.setup.finished = new Date().toISOString();
        save();
        return results;
      }
    }
  }
  results.setup.machine.loadavg_end = loadavg().map((x) => Number(x.toFixed(2)));
  results.setup.finished = new Date().toISOString();
  results.setup.wall_s = Number(((performance.now() - t0) / 1000).toFixed(1));
  save();
  return results;
}
