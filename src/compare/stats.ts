// The race's statistics: time to a target read at checkpoints only, and bootstrap intervals over test
// items and seeds, tested on synthetic curves (one matrix product per metric is libtorch's).
//
// Data of one metric: per contestant (an objective, or FLM at one corruption rate), per seed, the
// checkpoints k = 0 (the initialisation, t = 0), 1, 2, ... each with the score of every test item, the
// same items in the same order everywhere. A score is the mean over items, or, with strata (minimal
// pairs: their kind), the mean over strata of the stratum means.
//
// Point estimates: a contestant's curve is the mean over its seeds at each checkpoint.
//   target     MLM's best mean over its trained checkpoints (k >= 1) and the time of the first one at it.
//   t_reach    the time of the first trained checkpoint whose mean is at or above the target; never read
//              between checkpoints and never from the initialisation.
//   status     'reached'; 'not-reached' within the budget; 'at-init': the target is not above the upper
//              end of the 95% interval of the contestant's own initialisation score, so being at it says
//              nothing about training; 'no-target': no MLM contestant, or MLM's target itself is within the
//              noise of MLM's initialisation (MLM never left it).
//   speedup    t_reach(MLM) / t_reach(contestant) when both are reached; null otherwise, with a bound:
//              "<x" when the contestant did not reach the target by its last checkpoint at time T
//              (x = t_reach(MLM) / T: its speed-up is below x), ">=x" when it reached it at its first
//              trained checkpoint (the checkpoint grid cannot say how much sooner).
// Bootstrap (percentile, `resamples` replicates): each replicate draws the test items with replacement
// (within strata), the same draw for every contestant and checkpoint (the comparison is paired on items),
// and each contestant's seeds with replacement; the whole analysis is redone on the replicate (MLM's
// target included). A replicate where the contestant does not reach the target counts as speed-up 0, so a
// 95% interval starting at 0 says it fails to reach the target in more than 2.5% of the replicates.
// Percentile intervals are approximate with few seeds (3 seeds give only 10 distinct seed draws).
// Written here because no npm package does paired, stratified, two-level resampling of this shape.
import { noGrad, tensor, tidy } from '../tensor/index.js';
import { hashSeed, Prng } from '../data/rng.js';

export interface CheckpointItems {
  /** checkpoint index: 0 = the initialisation */
  k: number;
  /** training seconds */
  t: number;
  /** score of every test item (same items, same order at every checkpoint and in every run) */
  items: readonly number[];
}

export interface MetricData {
  /** per contestant, per seed, its checkpoints */
  runs: Record<string, CheckpointItems[][]>;
  /** per item, its stratum: the score is then the mean over strata of their means, and items are resampled within strata */
  strata?: readonly string[] | null;
}

export interface StatsOptions {
  /** the contestant whose best score is the target (default 'mlm') */
  target?: string;
  /** bootstrap replicates (default 1000) */
  resamples?: number;
  /** seed of the resampling (default 0): the same data and seed give the same intervals */
  seed?: number;
}

export type Interval = [number, number];

export type ReachStatus = 'reached' | 'not-reached' | 'at-init' | 'no-target';

export interface CurvePoint {
  k: number;
  /** mean training seconds of the seeds' checkpoints */
  t: number;
  mean: number;
  /** 95% bootstrap interval of the mean */
  ci95: Interval;
  /** the seeds' lowest and highest score */
  min: number;
  max: number;
  /** seeds at this checkpoint */
  n: number;
}

export interface ContestantVerdict {
  status: ReachStatus;
  /** training seconds at the first trained checkpoint at or above the target; null unless reached */
  t_reach: number | null;
  speedup: number | null;
  speedup_ci95: Interval | null;
  /** "<x": not reached (its speed-up is below x); ">=x": reached at its first trained checkpoint */
  speedup_bound: string | null;
  /** mean score at the last checkpoint every seed has */
  final: number;
  final_ci95: Interval;
  /** final minus MLM's, both at the last checkpoint both have (null for MLM itself or without MLM) */
  final_minus_target: number | null;
  final_minus_target_ci95: Interval | null;
  /** the initialisation's mean score and its interval (null without a probed initialisation) */
  init: number | null;
  init_ci95: Interval | null;
  /** best mean over the trained checkpoints */
  best: number;
  seeds: number;
}

export interface MetricVerdict {
  /** null without a target contestant, or when its best is within its initialisation's noise (see `target_note`) */
  target: { value: number; objective: string; t: number; ci95: Interval } | null;
  target_note: string | null;
  objectives: Record<string, ContestantVerdict>;
  curves: Record<string, CurvePoint[]>;
  /** test items per checkpoint */
  items: number;
  resamples: number;
}

// ------------------------------------------------------------------------------------------ helpers

/** The q-quantile of sorted values, linear between order statistics (R's type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function interval(values: Float64Array): Interval {
  const s = values.filter((x) => !Number.isNaN(x)).sort();
  return [r4(quantile(s, 0.025)), r4(quantile(s, 0.975))];
}

const r4 = (x: number): number => (Number.isFinite(x) ? Number(x.toFixed(4)) : x);

/** Item strata: per stratum the item indices (one stratum without `strata`). */
function strataOf(n: number, strata: readonly string[] | null | undefined): number[][] {
  if (!strata) return [Array.from({ length: n }, (_, i) => i)];
  if (strata.length !== n) throw new RangeError(`strata: ${strata.length} labels for ${n} items`);
  const by = new Map<string, number[]>();
  strata.forEach((s, i) => {
    let l = by.get(s);
    if (!l) by.set(s, (l = []));
    l.push(i);
  });
  return [...by.values()];
}

/**
 * Per item, its weight in the score: 1 / (strata · stratum size), so that a checkpoint's score is
 * Σ_i weight_i · item_i, and a resample's Σ_i count_i · weight_i · item_i (a resample draws each stratum's
 * size within it, so the stratum sizes stay as they are).
 */
function itemWeights(n: number, groups: readonly number[][]): Float64Array {
  const a = new Float64Array(n);
  for (const g of groups) for (const i of g) a[i] = 1 / (groups.length * g.length);
  return a;
}

/**
 * Scores of every (contestant, seed, checkpoint) row under item counts [N, B] (a column per resample):
 * one matrix product, X [rows, N] · counts [N, B] in float64 (libtorch: ~10^8 multiply-adds per metric).
 */
class Scores {
  /** rows of weighted items, [rows · N] */
  readonly x: Float64Array;
  /** per contestant, per seed, per checkpoint in that seed's order: its row */
  readonly row: number[][][];
  readonly rows: number;
  readonly n: number;

  constructor(runs: Record<string, CheckpointItems[][]>, contestants: readonly string[], weights: Float64Array) {
    const n = weights.length;
    let rows = 0;
    this.row = contestants.map((c) => runs[c]!.map((s) => s.map(() => rows++)));
    this.x = new Float64Array(rows * n);
    contestants.forEach((c, ci) => runs[c]!.forEach((s, si) => s.forEach((p, pi) => {
      const base = this.row[ci]![si]![pi]! * n;
      for (let i = 0; i < n; i++) this.x[base + i] = weights[i]! * p.items[i]!;
    })));
    this.rows = rows;
    this.n = n;
  }

  /** [rows · B] row-major: each row's score in each of the B columns of counts [N · B]. */
  under(counts: Float64Array, B: number): Float64Array {
    if (this.rows === 0 || this.n === 0) return new Float64Array(this.rows * B);
    return noGrad(() => tidy(() => {
      const x = tensor(this.x, { shape: [this.rows, this.n], dtype: 'float64' }); // [rows, N]
      const w = tensor(counts, { shape: [this.n, B], dtype: 'float64' }); // [N, B]
      return Float64Array.from(x.matmul(w).toTypedArray() as Float64Array); // [rows, B]
    }));
  }
}

/** One contestant's curve: per checkpoint index, the mean over (weighted) seeds and the mean time. */
interface Curve {
  k: number[];
  t: number[];
  v: number[];
}

/** `score(seed, i)`: the score of the seed's i-th checkpoint. */
function curveOf(seeds: CheckpointItems[][], score: (seed: number, i: number) => number, seedW: readonly number[] | null): Curve {
  const ks = [...new Set(seeds.flatMap((s) => s.map((c) => c.k)))].sort((a, b) => a - b);
  const out: Curve = { k: [], t: [], v: [] };
  for (const k of ks) {
    let w = 0;
    let t = 0;
    let v = 0;
    seeds.forEach((s, i) => {
      const at = s.findIndex((x) => x.k === k);
      const ws = seedW ? seedW[i]! : 1;
      if (at < 0 || ws === 0) return;
      w += ws;
      t += ws * s[at]!.t;
      v += ws * score(i, at);
    });
    if (w === 0) continue;
    out.k.push(k);
    out.t.push(t / w);
    out.v.push(v / w);
  }
  return out;
}

/** The target on a curve: best value over the trained checkpoints and the time of the first one at it. */
function bestTrained(c: Curve): { value: number; t: number } | null {
  let best: { value: number; t: number } | null = null;
  c.k.forEach((k, i) => {
    if (k >= 1 && (best === null || c.v[i]! > best.value)) best = { value: c.v[i]!, t: c.t[i]! };
  });
  return best;
}

/** Training time of the first trained checkpoint (k >= 1) at or above `target`; null if none. */
export function firstCheckpointAt(points: readonly { k: number; t: number; v: number }[], target: number): number | null {
  for (const p of points) if (p.k >= 1 && p.v >= target) return p.t;
  return null;
}

const pointsOf = (c: Curve): { k: number; t: number; v: number }[] => c.k.map((k, i) => ({ k, t: c.t[i]!, v: c.v[i]! }));

/** The last checkpoint index every seed of the contestant has (the final score is read there). */
function finalK(seeds: CheckpointItems[][]): number | null {
  const lasts = seeds.filter((s) => s.length).map((s) => Math.max(...s.map((c) => c.k)));
  return lasts.length ? Math.min(...lasts) : null;
}

const valueAt = (c: Curve, k: number): number | null => {
  const i = c.k.indexOf(k);
  return i < 0 ? null : c.v[i]!;
};

// ------------------------------------------------------------------------------------------ the analysis

/** Times to MLM's best, speed-ups, final scores and every interval of one metric. */
export function analyseMetric(name: string, data: MetricData, o: StatsOptions = {}): MetricVerdict {
  const targetName = o.target ?? 'mlm';
  const B = Math.max(1, o.resamples ?? 1000);
  const contestants = Object.keys(data.runs).filter((c) => data.runs[c]!.some((s) => s.length));
  const first = contestants.map((c) => data.runs[c]!.find((s) => s.length)![0]!)[0];
  const N = first?.items.length ?? 0;
  for (const c of contestants) {
    for (const s of data.runs[c]!) {
      for (const p of s) if (p.items.length !== N) throw new RangeError(`${name}: ${c} checkpoint ${p.k} has ${p.items.length} items, others ${N}`);
    }
  }
  const groups = strataOf(N, data.strata);
  const scores = new Scores(data.runs, contestants, itemWeights(N, groups));
  /** the scores of column b of a [rows · cols] matrix, by contestant, seed and checkpoint */
  const scoreIn = (m: Float64Array, cols: number, b: number, ci: number) => (seed: number, i: number): number => m[scores.row[ci]![seed]![i]! * cols + b]!;

  // point estimates
  const pointRows = scores.under(new Float64Array(N).fill(1), 1);
  const curve: Record<string, Curve> = {};
  contestants.forEach((c, ci) => { curve[c] = curveOf(data.runs[c]!, scoreIn(pointRows, 1, 0, ci), null); });
  const tgtCurve = curve[targetName];
  const target = tgtCurve ? bestTrained(tgtCurve) : null;

  // bootstrap replicates: every replicate's item counts first (one matrix product scores them all), then its seeds
  const itemRng = new Prng(hashSeed('flm-race-bootstrap-items', name, o.seed ?? 0));
  const rng = new Prng(hashSeed('flm-race-bootstrap-seeds', name, o.seed ?? 0));
  const counts = new Float64Array(N * B); // [N, B]
  for (let b = 0; b < B; b++) for (const g of groups) for (let j = 0; j < g.length; j++) counts[g[itemRng.int(g.length)]! * B + b]! += 1;
  const repRows = scores.under(counts, B);
  const rep: Record<string, { curve: Curve[]; speedup: Float64Array; final: Float64Array; init: Float64Array; diff: Float64Array }> = {};
  for (const c of contestants) rep[c] = { curve: [], speedup: new Float64Array(B), final: new Float64Array(B), init: new Float64Array(B), diff: new Float64Array(B) };
  const targetRep = new Float64Array(B);
  const finals: Record<string, number | null> = Object.fromEntries(contestants.map((c) => [c, finalK(data.runs[c]!)]));
  // the difference to the target contestant is read at the last checkpoint both have
  const diffK = (c: string): number | null => {
    const a = finals[c];
    const b = finals[targetName];
    return a === null || a === undefined || b === null || b === undefined || c === targetName ? null : Math.min(a, b);
  };
  for (let b = 0; b < B; b++) {
    const cur: Record<string, Curve> = {};
    contestants.forEach((c, ci) => {
      const seeds = data.runs[c]!;
      const seedW = new Array<number>(seeds.length).fill(0);
      for (let j = 0; j < seeds.length; j++) seedW[rng.int(seeds.length)]! += 1;
      cur[c] = curveOf(seeds, scoreIn(repRows, B, b, ci), seedW);
      rep[c]!.curve.push(cur[c]!);
    });
    const tg = cur[targetName] ? bestTrained(cur[targetName]!) : null;
    targetRep[b] = tg?.value ?? Number.NaN;
    for (const c of contestants) {
      const r = rep[c]!;
      const t = tg ? firstCheckpointAt(pointsOf(cur[c]!), tg.value) : null;
      r.speedup[b] = tg && t !== null && t > 0 ? tg.t / t : 0;
      const fk = finals[c];
      r.final[b] = fk === null ? Number.NaN : (valueAt(cur[c]!, fk) ?? Number.NaN);
      r.init[b] = valueAt(cur[c]!, 0) ?? Number.NaN;
      const dk = diffK(c);
      r.diff[b] = dk === null ? Number.NaN : (valueAt(cur[c]!, dk) ?? Number.NaN) - (valueAt(cur[targetName]!, dk) ?? Number.NaN);
    }
  }

  // per-checkpoint intervals
  const curves: Record<string, CurvePoint[]> = {};
  contestants.forEach((c, ci) => {
    const cv = curve[c]!;
    curves[c] = cv.k.map((k, i) => {
      const vs = data.runs[c]!.map((s, si) => ({ si, at: s.findIndex((p) => p.k === k) })).filter((x) => x.at >= 0).map((x) => scoreIn(pointRows, 1, 0, ci)(x.si, x.at));
      const reps = Float64Array.from(rep[c]!.curve.map((x) => valueAt(x, k) ?? Number.NaN).filter(Number.isFinite));
      return { k, t: r4(cv.t[i]!), mean: r4(cv.v[i]!), ci95: interval(reps), min: r4(Math.min(...vs)), max: r4(Math.max(...vs)), n: vs.length };
    });
  });

  // the target must be above its own initialisation's noise, else MLM never left its initialisation
  let targetOut: MetricVerdict['target'] = null;
  let note: string | null = null;
  if (!tgtCurve) note = `no ${targetName} contestant: no target`;
  else if (!target) note = `${targetName} has no trained checkpoint yet`;
  else {
    const initHi = valueAt(tgtCurve, 0) === null ? null : interval(rep[targetName]!.init)[1];
    if (initHi !== null && !(target.value > initHi)) note = `${targetName} never left its initialisation on this metric: its best, ${r4(target.value)}, is within the 95% interval of its initialisation's score (up to ${initHi})`;
    else targetOut = { value: r4(target.value), objective: targetName, t: r4(target.t), ci95: interval(targetRep) };
  }

  const objectives: Record<string, ContestantVerdict> = {};
  for (const c of contestants) {
    const cv = curve[c]!;
    const r = rep[c]!;
    const fk = finals[c]!;
    const init = valueAt(cv, 0);
    const initCi = init === null ? null : interval(r.init);
    const trained = cv.v.filter((_, i) => cv.k[i]! >= 1);
    const final = valueAt(cv, fk)!;
    const dk = diffK(c);
    const diff = dk === null ? null : (valueAt(cv, dk) ?? Number.NaN) - (valueAt(curve[targetName]!, dk) ?? Number.NaN);
    let status: ReachStatus = 'no-target';
    let tReach: number | null = null;
    let speedup: number | null = null;
    let bound: string | null = null;
    if (targetOut) {
      if (initCi && !(targetOut.value > initCi[1])) status = 'at-init';
      else {
        tReach = firstCheckpointAt(pointsOf(cv), target!.value);
        status = tReach === null ? 'not-reached' : 'reached';
        const trainedTs = cv.t.filter((_, i) => cv.k[i]! >= 1);
        if (tReach !== null && tReach > 0) {
          speedup = r4(target!.t / tReach);
          if (tReach === trainedTs[0] && c !== targetName) bound = `>=${speedup}`;
        } else if (tReach === null && trainedTs.length) bound = `<${r4(target!.t / trainedTs[trainedTs.length - 1]!)}`;
      }
    }
    objectives[c] = {
      status, t_reach: tReach === null ? null : r4(tReach), speedup, speedup_ci95: status === 'reached' || status === 'not-reached' ? interval(r.speedup) : null, speedup_bound: bound,
      final: r4(final), final_ci95: interval(r.final),
      final_minus_target: diff === null ? null : r4(diff),
      final_minus_target_ci95: diff === null ? null : interval(r.diff),
      init: init === null ? null : r4(init), init_ci95: initCi, best: trained.length ? r4(Math.max(...trained)) : r4(final), seeds: data.runs[c]!.filter((s) => s.length).length,
    };
  }
  return { target: targetOut, target_note: note, objectives, curves, items: N, resamples: B };
}
