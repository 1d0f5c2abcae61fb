// The race's summary (results.json `summary`, `flm compare --json`): per-step costs, and for EVERY metric
// the curves with their 95% intervals and the verdict of stats.ts (time to MLM's best read at
// checkpoints, speed-ups, final scores, each with its bootstrap interval), plus a headline in words.
import { analyseMetric, type ContestantVerdict, type CurvePoint, type Interval, type MetricData } from './stats.js';
import { metricOrder, metricTask } from './metric-info.js';
import type { RaceResults, RunResult } from './race.js';

export type { CurvePoint } from './stats.js';

/** One contestant's verdict on one metric (the JSON summary's `objectives.<name>`): stats.ts's, the target named MLM. */
export type ObjectiveVerdict = Omit<ContestantVerdict, 'final_minus_target' | 'final_minus_target_ci95'> & {
  final_minus_mlm: number | null;
  final_minus_mlm_ci95: Interval | null;
};

/** The verdict on one metric (an element of `summary.verdict`). */
export interface MetricVerdictJson {
  metric: string;
  /** 'probe' (zero-shot, no fine-tuning) or the downstream task it was scored on after fine-tuning */
  task: string;
  /** MLM's best mean over its trained checkpoints, the first time it was there, and its interval; null: see target_note */
  target: { value: number; objective: string; t: number; ci95: Interval } | null;
  target_note: string | null;
  /** test items behind each score (1: the run recorded no per-item scores, so the intervals are over seeds only) */
  items: number;
  objectives: Record<string, ObjectiveVerdict>;
}

export interface CostSummary {
  steps_per_s: { mean: number; min: number; max: number };
  s_per_step_median: number | null;
  /** this contestant's median step time / MLM's */
  step_cost_vs_mlm: number | null;
  steps: { mean: number; min: number; max: number };
  final_loss_mean: number | null;
}

export interface RaceSummary {
  /** contestant names (an objective, or flm@<rate>) */
  objectives: string[];
  seeds: number[];
  metrics: string[];
  /** bootstrap replicates behind every interval */
  resamples: number;
  cost: Record<string, CostSummary>;
  /** per metric, per contestant: mean over seeds at each checkpoint with its 95% interval and the seeds' range */
  curves: Record<string, Record<string, CurvePoint[]>>;
  verdict: MetricVerdictJson[];
  headline: { metric: string; text: string };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const stats = (xs: readonly number[]): { mean: number; min: number; max: number } => ({ mean: mean(xs), min: Math.min(...xs), max: Math.max(...xs) });
const r4 = (x: number): number => Number(x.toFixed(4));

/** The contestant a run belongs to (results of races before named contestants: the objective). */
export const contestantOf = (r: RunResult): string => r.contestant ?? r.objective;

/** Per metric, per contestant, per seed: the checkpoints' per-item scores (one item, the metric, when none were recorded). */
export function metricData(res: RaceResults, metric: string): MetricData {
  const runs: MetricData['runs'] = {};
  for (const r of res.runs) {
    const points = r.checkpoints.filter((c) => typeof c.metrics[metric] === 'number').map((c) => ({
      k: c.k, t: c.elapsed_s, items: c.items?.[metric] ?? [c.metrics[metric]!],
    }));
    (runs[contestantOf(r)] ??= []).push(points);
  }
  const kinds = res.setup.probe_material?.mp_kinds;
  const withItems = res.runs.some((r) => r.checkpoints.some((c) => c.items?.[metric]));
  return { runs, strata: metric === 'mp_mean' && kinds && withItems ? kinds : null };
}

function costs(res: RaceResults, names: string[]): Record<string, CostSummary> {
  const cost: Record<string, CostSummary> = {};
  for (const o of names) {
    const rs = res.runs.filter((r) => contestantOf(r) === o && r.steps_per_s !== null);
    if (!rs.length) continue;
    // the median over logged intervals, or (runs too short to log twice) the whole-run average
    const sps = rs.map((r) => r.s_per_step_median ?? (r.steps_per_s ? 1 / r.steps_per_s : null)).filter((x): x is number => x !== null);
    const losses = rs.map((r) => r.final_loss).filter((x): x is number => x !== null);
    const st = stats(rs.map((r) => r.steps_per_s!));
    const steps = stats(rs.map((r) => r.steps));
    cost[o] = {
      steps_per_s: { mean: r4(st.mean), min: r4(st.min), max: r4(st.max) }, s_per_step_median: sps.length ? r4(mean(sps)) : null, step_cost_vs_mlm: null,
      steps: { mean: Number(steps.mean.toFixed(1)), min: steps.min, max: steps.max }, final_loss_mean: losses.length ? r4(mean(losses)) : null,
    };
  }
  const mlmCost = cost.mlm?.s_per_step_median ?? null;
  for (const o of Object.keys(cost)) {
    const s = cost[o]!.s_per_step_median;
    cost[o]!.step_cost_vs_mlm = s !== null && mlmCost ? r4(s / mlmCost) : null;
  }
  return cost;
}

/** Curves, costs and the verdict on every metric, from the raw run results (a pure function of them). */
export function summarize(res: RaceResults): RaceSummary {
  const objectives = [...new Set(res.runs.map(contestantOf))];
  const seeds = [...new Set(res.runs.map((r) => r.seed))];
  const metrics = [...new Set(res.runs.flatMap((r) => r.checkpoints.flatMap((c) => Object.keys(c.metrics))))].filter((m) => m !== 'probe_s').sort(metricOrder);
  const resamples = res.setup.config.resamples ?? 1000;
  const curves: RaceSummary['curves'] = {};
  const verdict: MetricVerdictJson[] = [];
  for (const m of metrics) {
    let v: ReturnType<typeof analyseMetric>;
    try {
      v = analyseMetric(m, metricData(res, m), { target: 'mlm', resamples, seed: res.setup.config.bootstrapSeed ?? 0 });
    } catch (e) {
      // one metric's odd data (e.g. checkpoints with different test items) must not stop a race at its save
      curves[m] = {};
      verdict.push({ metric: m, task: metricTask(m), target: null, target_note: `not analysed: ${(e as Error).message}`, items: 0, objectives: {} });
      continue;
    }
    curves[m] = v.curves;
    const objs: Record<string, ObjectiveVerdict> = {};
    for (const [o, x] of Object.entries(v.objectives)) {
      const { final_minus_target, final_minus_target_ci95, ...rest } = x;
      objs[o] = { ...rest, final_minus_mlm: final_minus_target, final_minus_mlm_ci95: final_minus_target_ci95 };
    }
    verdict.push({ metric: m, task: metricTask(m), target: v.target, target_note: v.target_note, items: v.items, objectives: objs });
  }
  const wanted = res.setup.config.metric;
  const metric = wanted && metrics.includes(wanted) ? wanted : (metrics[0] ?? wanted ?? '');
  return { objectives, seeds, metrics, resamples, cost: costs(res, objectives), curves, verdict, headline: { metric, text: headline(verdict, metric, res) } };
}

// ------------------------------------------------------------------------------------------ in words

export const fmtS = (t: number | null): string => (t === null ? '—' : `${t.toFixed(0)} s`);
export const fmtV = (v: number | undefined | null): string => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(3));
export const fmtX = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}x`);
export const fmtCi = (ci: Interval | null, f: (x: number) => string = (x) => x.toFixed(3)): string => (ci ? `[${f(ci[0])}, ${f(ci[1])}]` : '');
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

/** How a contestant did against MLM on one metric, in one phrase per aspect. */
export interface Standing {
  /** the final score's difference to MLM: its interval above 0, below 0, or across it */
  final: 'above' | 'below' | 'tie' | null;
  /** time to MLM's best: sooner (speed-up interval above 1 + SPEEDUP_TIE), later or never (below 1 - SPEEDUP_TIE), cannot tell, or no comparison */
  speed: 'sooner' | 'later' | 'tie' | null;
}

/**
 * Speed-ups within this factor of 1 are ties: the trainers' clocks stop for a checkpoint a fraction of a
 * second apart (33.4 s vs 33.3 s), so the same checkpoint on two runs gives ratios like 1.003.
 */
export const SPEEDUP_TIE = 0.05;

export function standing(v: ObjectiveVerdict): Standing {
  const d = v.final_minus_mlm_ci95;
  const final = d === null ? null : d[0] > 0 ? 'above' : d[1] < 0 ? 'below' : 'tie';
  const s = v.speedup_ci95;
  const speed = v.status === 'reached' || v.status === 'not-reached'
    ? s && s[0] > 1 + SPEEDUP_TIE ? 'sooner' : s && s[1] < 1 - SPEEDUP_TIE ? 'later' : 'tie'
    : null;
  return { final, speed };
}

/** One contestant on one metric in a sentence. */
export function describe(o: string, v: ObjectiveVerdict, m: MetricVerdictJson): string {
  const when = v.status === 'reached'
    ? `reached MLM's best at ${fmtS(v.t_reach)}: ${fmtX(v.speedup)} ${fmtCi(v.speedup_ci95, (x) => x.toFixed(2))}${v.speedup_bound?.startsWith('>=') ? ' (at its first trained checkpoint: perhaps sooner)' : ''}`
    : v.status === 'not-reached' ? `did not reach MLM's best within its budget (speed-up ${v.speedup_bound ?? '—'}x)`
      : v.status === 'at-init' ? 'started at MLM\'s best already (within the noise of its initialisation): no time to compare'
        : 'no time to compare (no MLM target)';
  if (v.final_minus_mlm === null && v.status === 'no-target') return `${o} on ${m.metric}: final ${fmtV(v.final)} ${fmtCi(v.final_ci95)}.`;
  const fin = v.final_minus_mlm === null ? '' : `; final ${fmtV(v.final)} ${fmtCi(v.final_ci95)}, ${signed(v.final_minus_mlm)} ${fmtCi(v.final_minus_mlm_ci95)} vs MLM`;
  return `${o} on ${m.metric}: ${when}${fin}.`;
}

function headline(verdict: MetricVerdictJson[], metric: string, res: RaceResults): string {
  const m = verdict.find((x) => x.metric === metric);
  if (!m) return 'No results yet.';
  const lines: string[] = [];
  const items = m.items > 1 ? `${m.items} test items` : 'no per-item scores (intervals over seeds only)';
  if (!m.target) lines.push(`${metric}: ${m.target_note ?? 'no target'}.`);
  else lines.push(`${metric} (${metricTask(metric) === 'probe' ? 'zero-shot probe' : `after fine-tuning on ${metricTask(metric)}`}, ${items}): MLM's best within its ${res.setup.config.budgetS} s is ${fmtV(m.target.value)} ${fmtCi(m.target.ci95)} at ${fmtS(m.target.t)}.`);
  for (const [o, v] of Object.entries(m.objectives)) if (o !== 'mlm') lines.push(describe(o, v, m));
  // the tally over every metric: where each contestant wins and where it loses
  for (const o of Object.keys(m.objectives)) {
    if (o === 'mlm' || !verdict.some((x) => x.objectives.mlm)) continue;
    const by = (pick: (s: Standing) => string | null, want: string): string[] => verdict.filter((x) => x.objectives[o] && pick(standing(x.objectives[o]!)) === want).map((x) => x.metric);
    const below = by((s) => s.final, 'below');
    const later = by((s) => s.speed, 'later');
    const n = verdict.filter((x) => x.objectives[o]).length;
    lines.push(`Over all ${n} metrics, ${o}'s final score is above MLM's on ${by((s) => s.final, 'above').length}, below on ${below.length}${below.length ? ` (${below.join(', ')})` : ''}, ` +
      `not distinguishable on ${by((s) => s.final, 'tie').length}; it reached MLM's best sooner on ${by((s) => s.speed, 'sooner').length}, later or never on ${later.length}${later.length ? ` (${later.join(', ')})` : ''} (95% intervals).`);
  }
  return lines.join(' ');
}

