// `flm compare`: the race behind the paper's "2.5x less pretraining time". The same model preset is
// pretrained by each contestant (an objective, or FLM at a given corruption rate, contestants.ts) for the
// same wall-clock budget on the same data (same tokenizer, batch, learning rate and data order per seed);
// every run is probed at regular wall-clock checkpoints with the zero-shot probes of probes.ts and, with
// `downstream`, every probed checkpoint is fine-tuned on each downstream task and scored (downstream.ts).
// summary.ts / report.ts turn the numbers into curves and the time each contestant needs to reach the
// best score MLM reaches within its budget, with bootstrap intervals (stats.ts).
//
// Wall-clock checkpoints: each run is one `pretrain()` call with the budget as its time limit; its
// `checkpointDue` hook asks for a checkpoint whenever the training clock passes budget·k/evals, and the
// probes run in the `onCheckpoint` hook, which the trainer runs with its clock paused, so probing is not
// charged to any contestant. With `evalInit` the initialisation is probed too (time 0). Fine-tuning
// happens after each run's pretraining, from the probed checkpoints' weights kept until then.
//
// Resuming (`resume`): results.json is rewritten after every checkpoint and every fine-tune. A resumed
// race keeps every run and fine-tune recorded there; an unfinished run continues from its last
// checkpoint (the trainer's exact resume: same data order and random state), after probing that
// checkpoint if it was due and the race stopped before recording it.
//
//   out/
//     tokenizer.json       one BPE vocabulary for every run (trained on the training captions)
//     runs/<name>-s<seed>/ each pretraining run (metrics.jsonl, loss.svg, the last checkpoint); while its
//                          fine-tunes are pending, probed/k<k>/ (the model folder of checkpoint k) and
//                          downstream/k<k>-<task>/ (the fine-tune, deleted once scored)
//     results.json         every number, every test item's score
//     report.md, *.svg     report.ts
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { defaultNumThreads } from '../config/threads.js';
import { join, resolve } from 'node:path';
import { PRESETS, type AnyFLMModel, type PresetName, type PresetSpec } from '../models/index.js';
import { setNumThreads } from '../tensor/index.js';
import { openDataset } from '../data/spec.js';
import { DataLoader } from '../data/loader.js';
import { TextTokenizer } from '../data/tokenizer.js';
import { PRETRAIN_DEFAULTS, pretrain, runTokenizer, type PretrainConfig } from '../tasks/pretrain/recipe.js';
import { loadRunModel } from '../tasks/common/inference-model.js';
import { resolveCheckpoint } from '../train/checkpoint.js';
import { MetricsLog, type MetricsRecord } from '../train/metrics-log.js';
import type { PretrainObjective } from '../tasks/pretrain/objective-step.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parseContestants, type Contestant } from './contestants.js';
import { pairKinds, prepareProbes, runProbes, type ProbeContext, type ProbeMetrics } from './probes.js';
import { runDownstream, testItemsOf, type DownstreamTask } from './downstream.js';
import { probeTrainSpec, RaceConfigError, resumeConflicts, validateRaceConfig, type RaceConfig } from './race-config.js';
import { summarize, writeReport, type RaceSummary } from './report.js';

export { probeTrainSpec, RaceConfigError, validateRaceConfig, type RaceConfig } from './race-config.js';
export { FULL_RACE, RACE_DEFAULTS, defaultRaceData } from './defaults.js';

export interface CheckpointResult {
  /** segment index: 0 = initialisation (with evalInit), k = after budget·k/evals seconds */
  k: number;
  step: number;
  /** training seconds on the trainer's clock (probing and restarts excluded) */
  elapsed_s: number;
  metrics: ProbeMetrics;
  /** per metric, the score of every test item (the same items at every checkpoint of every run) */
  items?: Record<string, number[]>;
  /** per downstream task scored on this checkpoint: its fine-tuning steps and seconds, and the scoring seconds */
  downstream?: Record<string, { steps: number; train_s: number; eval_s: number }>;
}

export interface RunResult {
  /** the contestant's name (absent in races before named contestants: the objective) */
  contestant?: string;
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
  /** the pretraining reached its budget (false: interrupted, to be resumed) */
  done?: boolean;
}

export interface RaceResults {
  setup: {
    config: RaceConfig;
    preset_spec: PresetSpec;
    tokenizer_vocab: number;
    machine: { cpus: number; model: string; threads: number; loadavg_start: number[]; loadavg_end?: number[] };
    /** data loading alone, before the race: ms per batch (the loader runs beside the training threads) */
    loader_ms_per_batch: number | null;
    probe_material: {
      test_images: number; zs_groups: number; way: number; minimal_pairs: Record<string, number>; lp_train_images: number;
      /** the kind of each minimal pair, in order (the strata of mp_mean's items) */
      mp_kinds?: string[];
    };
    started: string;
    finished?: string;
    /** wall seconds of the whole race, over every session */
    wall_s?: number;
    /** times the race was started (1 + resumes) */
    sessions?: number;
  };
  runs: RunResult[];
  summary?: RaceSummary;
}

export interface RaceOptions {
  /** progress lines (default: stderr) */
  log?: (msg: string) => void;
  /** replace the runs of an earlier race in `out` */
  overwrite?: boolean;
  /** continue the race in `out` where it stopped (the settings must be the same) */
  resume?: boolean;
}

/** Per-item scores to 4 decimals (0/1 hits stay as they are): results.json holds thousands of them. */
function roundItems(items: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(items).map(([k, v]) => [k, v.map((x) => Number(x.toFixed(4)))]));
}

/** JSON indented by one space, with arrays of numbers on one line (the per-item scores). */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\[\n\s*(-?[\d.e+-]+(?:,\n\s*-?[\d.e+-]+)*)\n\s*\]/g, (_, xs: string) => `[${xs.replace(/\s+/g, '')}]`);
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


/** Runs the whole race (or the rest of it, with `resume`) and writes results.json and the report into `out`. */
export async function runRace(input: RaceConfig, o: RaceOptions = {}): Promise<RaceResults> {
  const c = validateRaceConfig({ ...input, out: resolve(input.out) });
  return race(c, o);
}

/** Links (or copies) a checkpoint's model folder files: the weights a fine-tune starts from. */
function keepModelFolder(checkpoint: string, dest: string): void {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json']) {
    try {
      linkSync(join(checkpoint, f), join(dest, f));
    } catch {
      copyFileSync(join(checkpoint, f), join(dest, f));
    }
  }
}

/** The race's earlier results in `out`, checked against the settings it is resumed with. */
function resumedResults(c: RaceConfig, lpSpec: string | null): RaceResults {
  const path = join(c.out, 'results.json');
  let saved: RaceResults;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as RaceResults;
  } catch (e) {
    throw new RaceConfigError(`--resume: cannot read ${path} (${(e as Error).message}); pass --overwrite to start the race over`);
  }
  const conflicts = resumeConflicts(saved.setup.config, { ...c, probeTrainData: lpSpec });
  if (conflicts.length) {
    throw new RaceConfigError(`--resume: the race in ${c.out} was run with other settings; resume it with the same ones, or pass --overwrite to start over:\n  - ${conflicts.join('\n  - ')}`);
  }
  return saved;
}

async function race(c: RaceConfig, o: RaceOptions): Promise<RaceResults> {
  const log = o.log ?? ((m: string) => console.error(`flm compare: ${m}`));
  const t0 = performance.now();
  const runsDir = join(c.out, 'runs');
  const lpSpec = c.probeTrainData ?? probeTrainSpec(c.testData, c.probes.lpTrain);
  let earlier: RaceResults | null = null;
  if (existsSync(runsDir)) {
    if (o.resume) earlier = resumedResults(c, lpSpec);
    else if (o.overwrite) rmSync(runsDir, { recursive: true, force: true });
    else throw new RaceConfigError(`${c.out} already holds a race (runs/); pass --resume to continue it, --overwrite to replace it, or choose another --out`);
  } else if (o.resume) log(`nothing to resume in ${c.out}: starting the race`);
  mkdirSync(runsDir, { recursive: true });
  const preset = (PRESETS as Record<string, PresetSpec>)[c.preset]!;
  const threads = c.threads || defaultNumThreads();
  setNumThreads(threads);

  // one tokenizer for every run, trained on the training captions (a resumed race keeps its own)
  const tokPath = join(c.out, 'tokenizer.json');
  const base: PretrainConfig = {
    ...PRETRAIN_DEFAULTS, preset: c.preset as PresetName, data: c.data, out: c.out, steps: 10_000_000, batchSize: c.batchSize, microBatch: c.batchSize,
    lr: c.lr, warmup: c.warmupSteps, endLr: 0, threads: c.threads, logEvery: 10, saveEvery: 10_000_000, keepLast: 1, tokenizer: null,
    workers: c.workers, spanCorruptionRate: c.spanCorruptionRate, mlmRate: c.mlmRate, timeBudgetS: 0,
  };
  let tok: TextTokenizer;
  if (earlier && existsSync(tokPath)) tok = await TextTokenizer.fromFile(tokPath, { maxLength: preset.max_text_len });
  else {
    rmSync(tokPath, { force: true });
    log(`training the tokenizer on ${c.data}`);
    const trainSrc = await openDataset(c.data);
    try {
      tok = await runTokenizer(base, trainSrc, preset.max_text_len);
    } finally {
      await trainSrc.close?.();
    }
  }
  let loaderMs = earlier?.setup.loader_ms_per_batch ?? null;
  if (!earlier) {
    log('measuring data loading alone');
    loaderMs = await measureLoader(c.data, preset.image_size, tok, c.batchSize, c.workers).catch(() => null);
  }

  log(`preparing the probes on ${c.testData}`);
  const ctx: ProbeContext = await prepareProbes(c.testData, lpSpec, preset.image_size, c.probes, { workers: c.workers });
  const mpCounts: Record<string, number> = {};
  for (const p of ctx.pairs.pairs) mpCounts[p.kind] = (mpCounts[p.kind] ?? 0) + 1;

  const cpu = cpus();
  const machine = { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown', threads, loadavg_start: loadavg().map((x) => Number(x.toFixed(2))) };
  const results: RaceResults = earlier ?? {
    setup: {
      config: { ...c, probeTrainData: lpSpec }, preset_spec: { ...preset }, tokenizer_vocab: tok.vocabSize, machine,
      loader_ms_per_batch: loaderMs === null ? null : Number(loaderMs.toFixed(1)),
      probe_material: {
        test_images: ctx.test.count, zs_groups: Math.floor(Math.min(c.probes.zsImages, ctx.test.count) / c.probes.way), way: c.probes.way,
        minimal_pairs: mpCounts, lp_train_images: ctx.lpTrain?.count ?? 0, mp_kinds: pairKinds(ctx),
      },
      started: new Date().toISOString(),
    },
    runs: [],
  };
  const wallBefore = results.setup.wall_s ?? 0;
  if (earlier) {
    results.setup.config = { ...c, probeTrainData: lpSpec };
    delete results.setup.finished;
    log(`resuming the race in ${c.out}: ${results.runs.filter((r) => r.done).length} run(s) done`);
  }
  results.setup.sessions = (results.setup.sessions ?? 0) + 1;
  const save = (): void => {
    results.setup.wall_s = Number((wallBefore + (performance.now() - t0) / 1000).toFixed(1));
    results.summary = summarize(results);
    writeFileAtomic(join(c.out, 'results.json'), compactJson(results));
    writeReport(c.out, results);
  };
  const finish = (done: boolean): RaceResults => {
    if (done) {
      results.setup.machine.loadavg_end = loadavg().map((x) => Number(x.toFixed(2)));
      results.setup.finished = new Date().toISOString();
    }
    save();
    return results;
  };
  save();

  const tasks = (c.downstream?.tasks ?? []) as DownstreamTask[];
  const probedDir = (run: RunResult, k: number): string => join(run.run_dir, 'probed', `k${k}`);

  /** Probes (and, with downstream tasks, keeps the weights of) checkpoint k of a run. */
  const record = (run: RunResult, k: number, step: number, elapsedS: number, model: AnyFLMModel, tokenizer: TextTokenizer, dir: string): void => {
    const { metrics, items } = runProbes(model, run.objective, tokenizer, ctx);
    run.checkpoints.push({ k, step, elapsed_s: step === 0 ? 0 : Number(elapsedS.toFixed(3)), metrics, items: roundItems(items) });
    run.checkpoints.sort((a, b) => a.k - b.k);
    if (tasks.length) keepModelFolder(dir, probedDir(run, k));
    const head = c.metric ?? 'zs_t2i_r1';
    log(`${run.contestant}-s${run.seed} t=${elapsedS.toFixed(0)}s step ${step}: ${head} ${metrics[head] === undefined ? '-' : metrics[head].toFixed(3)} (probes ${metrics.probe_s} s)`);
    save();
  };

  /** The checkpoint index a checkpoint at (step, training seconds) stands for, or null when it is not one the race probes. */
  const dueK = (run: RunResult, step: number, elapsedS: number): number | null => {
    const has = (k: number): boolean => run.checkpoints.some((x) => x.k === k);
    if (run.checkpoints.some((x) => x.step === step)) return null;
    if (step === 0) return c.evalInit && !has(0) ? 0 : null;
    // the end of the budget is the last checkpoint, even when a slow step jumped over an earlier one
    if (elapsedS >= c.budgetS) return has(c.evals) ? null : c.evals;
    const next = run.checkpoints.filter((x) => x.k > 0).length + 1;
    return next < c.evals && elapsedS >= (c.budgetS * next) / c.evals ? next : null;
  };

  /** Pretrains (or finishes pretraining) one run, probing it at its checkpoints; false when interrupted. */
  const pretrainRun = async (run: RunResult, contestant: Contestant): Promise<boolean> => {
    const runT0 = performance.now();
    const cfg: PretrainConfig = {
      ...base, objective: contestant.objective, seed: run.seed, out: run.run_dir, tokenizer: tokPath, timeBudgetS: c.budgetS,
      spanCorruptionRate: contestant.spanCorruptionRate ?? c.spanCorruptionRate,
    };
    const latest = existsSync(run.run_dir) ? resolveCheckpoint(run.run_dir, 'latest') : null;
    const resumeRun = latest !== null && run.checkpoints.length > 0;
    if (resumeRun) {
      // the race may have stopped while probing its last checkpoint: probe it now if it was due
      const st = JSON.parse(readFileSync(join(latest, 'state.json'), 'utf8')) as { step: number; elapsedS: number };
      const k = dueK(run, st.step, st.elapsedS);
      if (k !== null) {
        const m = await loadRunModel(latest);
        try {
          record(run, k, st.step, st.elapsedS, m.model, m.tokenizer, latest);
        } finally {
          m.model.dispose();
        }
      }
      log(`${run.contestant}-s${run.seed}: resuming its pretraining at step ${st.step} (${st.elapsedS.toFixed(0)} s of ${c.budgetS} s)`);
    } else {
      run.checkpoints = [];
      rmSync(run.run_dir, { recursive: true, force: true });
    }
    const r = await pretrain(cfg, {
      quiet: true, resume: resumeRun, overwrite: !resumeRun,
      hooks: {
        checkpointDue: (elapsedS, step) => {
          if (step === 0) return c.evalInit && !run.checkpoints.some((x) => x.k === 0);
          if (elapsedS >= c.budgetS) return false; // the final checkpoint follows
          const next = run.checkpoints.filter((x) => x.k > 0).length + 1;
          return next < c.evals && elapsedS >= (c.budgetS * next) / c.evals;
        },
        onCheckpoint: ({ step, model, tokenizer, elapsedS, dir }) => {
          const k = dueK(run, step, elapsedS);
          if (k !== null) record(run, k, step, elapsedS, model, tokenizer, dir);
        },
      },
    });
    run.steps = r.steps;
    run.elapsed_s = Number(r.elapsedS.toFixed(3));
    run.final_loss = r.finalLoss;
    const recs = new MetricsLog(join(run.run_dir, 'metrics.jsonl')).read();
    run.loss_curve = recs.filter((x) => typeof x.loss === 'number' && typeof x.elapsed_s === 'number').map((x) => [Number(x.elapsed_s), Number(x.loss)]);
    run.steps_per_s = run.elapsed_s > 0 ? Number((run.steps / run.elapsed_s).toFixed(4)) : null;
    const sps = secondsPerStep(recs);
    run.s_per_step_median = sps === null ? null : Number(sps.toFixed(4));
    run.wall_s = Number((run.wall_s + (performance.now() - runT0) / 1000).toFixed(1));
    run.done = r.stopped !== 'interrupted';
    save();
    if (!run.done) log('interrupted: results.json has the race so far; continue it with --resume');
    return run.done;
  };

  /** Fine-tunes and scores every probed checkpoint of a run on the tasks it still lacks; false when interrupted. */
  const downstreamRun = async (run: RunResult): Promise<boolean> => {
    const name = `${run.contestant}-s${run.seed}`;
    for (const cp of run.checkpoints) {
      const dir = probedDir(run, cp.k);
      const pending = tasks.filter((t) => !cp.downstream?.[t]);
      if (pending.length && !existsSync(dir)) {
        log(`${name} checkpoint ${cp.k}: its weights (${dir}) are gone, so ${pending.join(', ')} cannot be scored there`);
        continue;
      }
      for (const task of pending) {
        const runT0 = performance.now();
        const out = join(run.run_dir, 'downstream', `k${cp.k}-${task}`);
        const d = await runDownstream({
          task, from: dir, out, data: c.data, testData: c.testData, steps: c.downstream!.steps, testItems: testItemsOf(c.downstream!, task), way: c.probes.way,
          seed: run.seed, threads: c.threads, workers: c.workers,
        });
        if (!d) {
          log('interrupted during a fine-tune: results.json has the race so far; continue it with --resume');
          return false;
        }
        Object.assign(cp.metrics, d.metrics);
        cp.items = { ...cp.items, ...roundItems(d.items) };
        (cp.downstream ??= {})[task] = { steps: d.steps, train_s: d.train_s, eval_s: d.eval_s };
        run.wall_s = Number((run.wall_s + (performance.now() - runT0) / 1000).toFixed(1));
        log(`${name} checkpoint ${cp.k} (t=${cp.elapsed_s.toFixed(0)}s) after ${d.steps} ${task} steps: ${Object.entries(d.metrics).map(([m, v]) => `${m} ${v.toFixed(3)}`).join(', ')} (${(d.train_s + d.eval_s).toFixed(0)} s)`);
        save();
      }
      rmSync(dir, { recursive: true, force: true });
    }
    for (const d of ['probed', 'downstream']) rmSync(join(run.run_dir, d), { recursive: true, force: true });
    return true;
  };

  // seeds outermost, contestants interleaved: drifts in the machine's load hit every contestant alike
  const contestants = parseContestants(c.objectives).contestants;
  for (let seed = 0; seed < c.seeds; seed++) {
    for (const contestant of contestants) {
      let run = results.runs.find((r) => (r.contestant ?? r.objective) === contestant.name && r.seed === seed);
      if (!run) {
        run = {
          contestant: contestant.name, objective: contestant.objective, seed, run_dir: join(runsDir, `${contestant.name}-s${seed}`), checkpoints: [], steps: 0, elapsed_s: 0,
          steps_per_s: null, s_per_step_median: null, final_loss: null, wall_s: 0, loss_curve: [], done: false,
        };
        results.runs.push(run);
      }
      run.run_dir = join(runsDir, `${contestant.name}-s${seed}`); // a copied race folder resumes in its new place
      if (!run.done && !(await pretrainRun(run, contestant))) return finish(false);
      if (tasks.length && !(await downstreamRun(run))) return finish(false);
    }
  }
  return finish(true);
}
