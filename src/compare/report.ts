// The race report: report.md (setup, per-step cost, curves of every probe metric vs training time with
// the seed spread, and the time each objective needs to reach the best mean score MLM reaches within
// its budget), one SVG chart per metric, the training-loss chart, and the summary numbers that
// results.json carries (`summarize`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_INFO } from './probes.js';
import { escapeXml, niceTicks } from '../train/plot.js';
import type { RaceResults, RunResult } from './race.js';

export interface CurvePoint {
  k: number;
  /** mean training seconds of the seeds' checkpoints */
  t: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

export interface TimeToTarget {
  /** training seconds at which the mean curve first reaches the target (linear between checkpoints); null: never */
  t: number | null;
  /** per seed: the same on that seed's own curve */
  per_seed: (number | null)[];
  /** best mean score within the budget */
  best: number;
  /** t(MLM) / t(this objective); null when either reaches the target only at t = 0 or this one never */
  speedup_vs_mlm: number | null;
}

export interface MetricSummary {
  metric: string;
  curves: Record<string, CurvePoint[]>;
  /** the best mean score of MLM over its checkpoints, and when it was reached; null without an MLM run */
  target: { value: number; t: number } | null;
  time_to_target: Record<string, TimeToTarget>;
  /** final checkpoint: mean of each objective minus MLM's, and whether the seed ranges overlap */
  final_vs_mlm: Record<string, { diff: number; ranges_overlap: boolean }>;
}

export interface CostSummary {
  steps_per_s: { mean: number; min: number; max: number };
  s_per_step_median: number | null;
  /** this objective's median step time / MLM's */
  step_cost_vs_mlm: number | null;
  steps: { mean: number; min: number; max: number };
  final_loss_mean: number | null;
}

export interface RaceSummary {
  objectives: string[];
  seeds: number[];
  metrics: string[];
  cost: Record<string, CostSummary>;
  per_metric: Record<string, MetricSummary>;
  headline: {
    metric: string;
    text: string;
  };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const stats = (xs: readonly number[]): { mean: number; min: number; max: number } => ({ mean: mean(xs), min: Math.min(...xs), max: Math.max(...xs) });
const r4 = (x: number): number => Number(x.toFixed(4));

/** First time a piecewise-linear curve reaches `target` (>=), interpolated between points; null if never. */
export function timeToReach(points: readonly { t: number; v: number }[], target: number): number | null {
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.v >= target) {
      if (i === 0) return p.t;
      const q = points[i - 1]!;
      return p.v === q.v ? p.t : q.t + ((target - q.v) / (p.v - q.v)) * (p.t - q.t);
    }
  }
  return null;
}

function curve(runs: readonly RunResult[], metric: string): CurvePoint[] {
  const ks = [...new Set(runs.flatMap((r) => r.checkpoints.map((c) => c.k)))].sort((a, b) => a - b);
  const out: CurvePoint[] = [];
  for (const k of ks) {
    const cs = runs.flatMap((r) => r.checkpoints.filter((c) => c.k === k && typeof c.metrics[metric] === 'number'));
    if (!cs.length) continue;
    const v = stats(cs.map((c) => c.metrics[metric]!));
    out.push({ k, t: r4(mean(cs.map((c) => c.elapsed_s))), mean: r4(v.mean), min: r4(v.min), max: r4(v.max), n: cs.length });
  }
  return out;
}

/** Curves, costs and times-to-target from the raw run results. */
export function summarize(res: RaceResults): RaceSummary {
  const objectives = [...new Set(res.runs.map((r) => r.objective))];
  const seeds = [...new Set(res.runs.map((r) => r.seed))];
  const metrics = [...new Set(res.runs.flatMap((r) => r.checkpoints.flatMap((c) => Object.keys(c.metrics))))].filter((m) => m !== 'probe_s');
  const order = Object.keys(METRIC_INFO);
  metrics.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const byObj = (o: string): RunResult[] => res.runs.filter((r) => r.objective === o);

  const cost: Record<string, CostSummary> = {};
  for (const o of objectives) {
    const rs = byObj(o).filter((r) => r.steps_per_s !== null);
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

  const perMetric: Record<string, MetricSummary> = {};
  for (const m of metrics) {
    const curves: Record<string, CurvePoint[]> = {};
    for (const o of objectives) curves[o] = curve(byObj(o), m);
    const ml = curves.mlm ?? [];
    let target: MetricSummary['target'] = null;
    if (ml.length) {
      const best = ml.reduce((a, b) => (b.mean > a.mean ? b : a));
      target = { value: best.mean, t: best.t };
    }
    const ttt: Record<string, TimeToTarget> = {};
    const fin: MetricSummary['final_vs_mlm'] = {};
    for (const o of objectives) {
      const cv = curves[o]!;
      if (!cv.length) continue;
      const best = Math.max(...cv.map((p) => p.mean));
      const t = target ? timeToReach(cv.map((p) => ({ t: p.t, v: p.mean })), target.value) : null;
      const perSeed = target
        ? byObj(o).map((r) => timeToReach(r.checkpoints.filter((c) => typeof c.metrics[m] === 'number').map((c) => ({ t: c.elapsed_s, v: c.metrics[m]! })), target.value))
        : [];
      ttt[o] = { t: t === null ? null : r4(t), per_seed: perSeed.map((x) => (x === null ? null : r4(x))), best: r4(best), speedup_vs_mlm: null };
      const last = cv[cv.length - 1]!;
      const mlLast = ml[ml.length - 1];
      if (mlLast && mlLast.k === last.k) fin[o] = { diff: r4(last.mean - mlLast.mean), ranges_overlap: last.min <= mlLast.max && mlLast.min <= last.max };
    }
    const tMlm = ttt.mlm?.t ?? null;
    for (const o of Object.keys(ttt)) {
      const t = ttt[o]!.t;
      // null too when the objective is at the target from its initialisation (t = 0): no ratio to speak of
      ttt[o]!.speedup_vs_mlm = t !== null && tMlm !== null && t > 0 && tMlm > 0 ? r4(tMlm / t) : null;
    }
    perMetric[m] = { metric: m, curves, target, time_to_target: ttt, final_vs_mlm: fin };
  }
  const metric = perMetric[res.setup.config.metric] ? res.setup.config.metric : (metrics[0] ?? res.setup.config.metric);
  return { objectives, seeds, metrics, cost, per_metric: perMetric, headline: { metric, text: headline(perMetric[metric], cost, res) } };
}

const fmtS = (t: number | null): string => (t === null ? '—' : `${t.toFixed(0)} s`);
const fmtV = (v: number | undefined | null): string => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(3));
const fmtX = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}x`);

function headline(s: MetricSummary | undefined, cost: Record<string, CostSummary>, res: RaceResults): string {
  if (!s) return 'No probe results yet.';
  if (!s.target) return `No MLM run in this race, so there is no MLM target to measure the time against (metric ${s.metric}).`;
  const budget = res.setup.config.budgetS;
  const lines: string[] = [];
  const tgt = `MLM's best mean ${s.metric} within its ${budget} s budget is ${fmtV(s.target.value)} (reached at ${fmtS(s.target.t)})`;
  lines.push(`${tgt}.`);
  if (s.target.t === 0) {
    lines.push('MLM never improved on its initialisation on this metric, so there is no time to compare: train longer, or read another metric.');
    return lines.join(' ');
  }
  const flm = s.time_to_target.flm;
  if (flm) {
    if (flm.t === null) {
      lines.push(`FLM did not reach it within its ${budget} s budget (FLM's best mean: ${fmtV(flm.best)}), so on this machine and budget FLM was not faster than MLM on this metric.`);
    } else {
      const x = flm.speedup_vs_mlm;
      const verdict = x === null ? '' : x >= 1.05 ? `FLM needed ${fmtX(x)} less training time than MLM` : x <= 0.95 ? `FLM was slower than MLM (${fmtX(x)})` : 'about the same time as MLM';
      lines.push(`FLM reached it after ${fmtS(flm.t)}: ${verdict} (the paper reports 2.5x on its downstream tasks).`);
    }
    const seedsReached = flm.per_seed.filter((t) => t !== null).length;
    lines.push(`Per seed, FLM reached MLM's best mean in ${seedsReached} of ${flm.per_seed.length} runs.`);
    const f = s.final_vs_mlm.flm;
    const oneSeed = (s.curves.flm?.at(-1)?.n ?? 0) < 2 || (s.curves.mlm?.at(-1)?.n ?? 0) < 2;
    if (f) {
      const spread = oneSeed ? 'with one seed there is no spread to judge it against' : `the seed ranges ${f.ranges_overlap ? 'overlap, so the difference is within the seed spread' : 'do not overlap'}`;
      lines.push(`At the last checkpoint FLM − MLM = ${f.diff >= 0 ? '+' : ''}${f.diff.toFixed(3)}; ${spread}.`);
    }
  }
  const c = cost.flm?.step_cost_vs_mlm;
  if (c) lines.push(`An FLM step cost ${c.toFixed(2)}x an MLM step here (FLM made ${cost.flm!.steps.mean.toFixed(0)} steps per run, MLM ${cost.mlm?.steps.mean.toFixed(0) ?? '—'}).`);
  return lines.join(' ');
}

// ------------------------------------------------------------------------------------------ charts

const COLORS: Record<string, string> = { flm: '#d62728', mlm: '#1f77b4', ar: '#2ca02c', prefixlm: '#9467bd' };
const color = (o: string, i: number): string => COLORS[o] ?? ['#ff7f0e', '#8c564b', '#e377c2', '#17becf'][i % 4]!;


interface Band {
  name: string;
  color: string;
  points: { x: number; y: number; lo?: number; hi?: number }[];
  thin?: boolean;
}

/** A line chart with optional min–max bands and a dashed reference line. */
export function bandChartSvg(title: string, xLabel: string, yLabel: string, series: Band[], o: { ref?: { y: number; label: string }; legend?: boolean } = {}): string {
  const W = 760;
  const H = 430;
  const m = { l: 70, r: 170, t: 40, b: 50 };
  const all = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y]));
  if (o.ref) all.push(o.ref.y);
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const finite = all.filter(Number.isFinite);
  let [y0, y1] = finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.05, y1 + 0.05];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const [x0, x1] = xs.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1];
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const fmt = (v: number): string => String(Number(v.toPrecision(3)));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">${escapeXml(yLabel)}</text>`,
  ];
  for (const t of niceTicks(x0, x1)) parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" y1="${sy(t).toFixed(1)}" x2="${W - m.r}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const s of series) {
    const band = s.points.filter((p) => p.lo !== undefined && p.hi !== undefined);
    if (band.length >= 2) {
      const up = band.map((p) => `${sx(p.x).toFixed(1)},${sy(p.hi!).toFixed(1)}`);
      const down = band.slice().reverse().map((p) => `${sx(p.x).toFixed(1)},${sy(p.lo!).toFixed(1)}`);
      parts.push(`<polygon points="${[...up, ...down].join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
    }
  }
  for (const s of series) {
    const ok = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (!ok.length) continue;
    const d = ok.map((p, k) => `${k ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.thin ? 1 : 2}" stroke-opacity="${s.thin ? 0.6 : 1}"/>`);
    if (!s.thin) for (const p of ok) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  if (o.ref) {
    parts.push(`<line x1="${m.l}" y1="${sy(o.ref.y).toFixed(1)}" x2="${W - m.r}" y2="${sy(o.ref.y).toFixed(1)}" stroke="#555" stroke-dasharray="5,4"/>`);
    parts.push(`<text x="${W - m.r - 4}" y="${(sy(o.ref.y) - 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(o.ref.label)}</text>`);
  }
  if (o.legend !== false) {
    const seen = new Set<string>();
    let row = 0;
    for (const s of series) {
      if (seen.has(s.name)) continue;
      seen.add(s.name);
      parts.push(`<rect x="${W - m.r + 12}" y="${m.t + 30 + row * 18}" width="14" height="4" fill="${s.color}"/>`);
      parts.push(`<text x="${W - m.r + 32}" y="${m.t + 36 + row * 18}">${escapeXml(s.name)}</text>`);
      row++;
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

// ------------------------------------------------------------------------------------------ report

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Writes report.md and the charts (results.json is written by the race). */
export function writeReport(dir: string, res: RaceResults): void {
  const s = res.summary;
  if (!s) return;
  const c = res.setup.config;
  const objectives = s.objectives;
  const md: string[] = [];
  md.push('# FLM vs MLM vs AR: pretraining race', '');
  md.push(`**${s.headline.metric}**: ${s.headline.text}`, '');
  if (!res.setup.finished) md.push('_The race is still running (or was stopped): this report covers the runs finished so far._', '');

  md.push('## Setup', '');
  const p = res.setup.preset_spec;
  md.push(table(['setting', 'value'], [
    ['objectives', objectives.join(', ')],
    ['seeds per objective', String(c.seeds)],
    ['training budget per run', `${c.budgetS} s wall-clock (trainer clock; probes and restarts not counted)`],
    ['probes per run', `${c.evals} (every ${(c.budgetS / c.evals).toFixed(0)} s)${c.evalInit ? ' + the initialisation' : ''}`],
    ['training data', `\`${c.data}\``],
    ['test data', `\`${c.testData}\``],
    ['linear-probe training data', c.probeTrainData ? `\`${c.probeTrainData}\`` : '—'],
    ['model preset', `${c.preset}: hidden ${p.hidden}, ${p.num_bottom_layer}+${p.num_top_layer} text layers (FLM reconstructor ${p.num_reconstructor_bottom_layer}+${p.num_reconstructor_top_layer}), ViT ${p.vit_resblocks}x${p.vit_width} on ${p.image_size} px / patch ${p.patch_size}, ${p.max_text_len} text tokens, vocab ${res.setup.tokenizer_vocab}`],
    ['batch / lr / warmup', `${c.batchSize} / ${c.lr} (constant after warmup) / ${c.warmupSteps} steps`],
    ['FLM span corruption', c.spanCorruptionRate === null ? `preset (${p.span_corruption_rate})` : String(c.spanCorruptionRate)],
    ['MLM masking rate', String(c.mlmRate)],
    ['machine', `${res.setup.machine.cpus} x ${res.setup.machine.model}, ${res.setup.machine.threads} threads; load average at start ${res.setup.machine.loadavg_start.join(' / ')}${res.setup.machine.loadavg_end ? `, at end ${res.setup.machine.loadavg_end.join(' / ')}` : ''}`],
    ['data loading alone', res.setup.loader_ms_per_batch === null ? '—' : `${res.setup.loader_ms_per_batch} ms per batch (runs beside training; counts against every objective's clock)`],
    ['race wall time', res.setup.wall_s === undefined ? '—' : `${(res.setup.wall_s / 60).toFixed(1)} min`],
  ]), '');
  const pm = res.setup.probe_material;
  md.push('Probes (no fine-tuning; scored on the same held-out images for every checkpoint):', '');
  md.push(`- **zs_t2i_r1 / zs_i2t_r1**: zero-shot ${pm.way}-way retrieval scored by each model's own pretraining loss of the caption given the image, ${pm.zs_groups} groups of ${pm.way} test images with one caption each (chance ≈ ${(1 / pm.way).toFixed(3)}). Text-to-image compares one caption under different images, so the caption's own likelihood cancels; image-to-text also rewards captions that are likely in themselves. MLM is scored by a pseudo-log-likelihood over ${c.probes.mlmPasses} fixed disjoint whole-word maskings (every word predicted once). Distractors that the shapes checker finds true of the query are not counted.`);
  if (Object.keys(pm.minimal_pairs).length) md.push(`- **mp_***: minimal image pairs, one caption under its own scene and under that scene with one edit that makes it false (an object recoloured, reshaped, resized or removed, or the scene mirrored; ${Object.entries(pm.minimal_pairs).map(([k, n]) => `${k} ${n}`).join(', ')} pairs); accuracy of the lower loss under the true scene (chance 0.5). The caption is identical on both sides, so its own likelihood cancels.`);
  if (pm.lp_train_images) md.push(`- **lp_***: frozen image-tower features [CLS; mean patch token] → logistic regression (${c.probes.lpSteps} full-batch steps) fitted on ${pm.lp_train_images} images, scored on the test images.`);
  md.push('');

  md.push('## Per-step cost (measured)', '');
  md.push(table(['objective', 'steps/s (mean, min–max)', 's/step', 'step cost vs MLM', 'steps per run', 'final train loss'], objectives.filter((o) => s.cost[o]).map((o) => {
    const k = s.cost[o]!;
    return [o, `${k.steps_per_s.mean.toFixed(2)} (${k.steps_per_s.min.toFixed(2)}–${k.steps_per_s.max.toFixed(2)})`, fmtV(k.s_per_step_median), fmtX(k.step_cost_vs_mlm), `${k.steps.mean.toFixed(0)} (${k.steps.min}–${k.steps.max})`, fmtV(k.final_loss_mean)];
  })), '');
  md.push('Steps per second are over the whole run (restart warm-ups included); s/step is the median over the logged 10-step intervals (the run average when a run logged fewer than two), averaged over the seeds. The losses of different objectives are not comparable with each other.', '');

  md.push('## Time to reach MLM\'s best', '');
  md.push('For each metric: the best mean (over seeds) score MLM reaches at any of its checkpoints, and the training time each objective\'s mean curve needs to reach it (linear between checkpoints; — = not reached within the budget). Speed-up = t(MLM) / t(objective).', '');
  const tttRows: string[][] = [];
  for (const m of s.metrics) {
    const pmx = s.per_metric[m]!;
    if (!pmx.target) continue;
    tttRows.push([m, `${fmtV(pmx.target.value)} @ ${fmtS(pmx.target.t)}`, ...objectives.map((o) => {
      const t = pmx.time_to_target[o];
      if (!t) return '—';
      return t.t === null ? `— (best ${fmtV(t.best)})` : `${fmtS(t.t)}${o === 'mlm' ? '' : ` (${fmtX(t.speedup_vs_mlm)})`}`;
    })]);
  }
  if (tttRows.length) md.push(table(['metric', 'MLM best', ...objectives], tttRows), '');
  else md.push('No MLM run: no target.', '');

  md.push('## Curves', '');
  md.push('Mean over seeds, with the min–max range over seeds (shaded in the charts, in brackets in the tables). Times are training seconds on the trainer\'s clock, averaged over the seeds\' checkpoints.', '');
  for (const m of s.metrics) {
    const pmx = s.per_metric[m]!;
    const info = METRIC_INFO[m];
    const file = `curve-${m}.svg`;
    const bands: Band[] = objectives.filter((o) => pmx.curves[o]?.length).map((o, i) => ({
      name: o, color: color(o, i), points: pmx.curves[o]!.map((q) => ({ x: q.t, y: q.mean, lo: q.min, hi: q.max })),
    }));
    writeFileSync(join(dir, file), bandChartSvg(`${m}: ${info?.label ?? m}`, 'training time (s)', m, bands, pmx.target ? { ref: { y: pmx.target.value, label: 'MLM best' } } : {}));
    md.push(`### ${m}${info ? ` — ${info.label}` : ''}${info?.chance ? ` (chance ${info.chance})` : ''}`, '', `![${m}](${file})`, '');
    const ks = [...new Set(objectives.flatMap((o) => (pmx.curves[o] ?? []).map((q) => q.k)))].sort((a, b) => a - b);
    md.push(table(['checkpoint', ...objectives], ks.map((k) => [String(k), ...objectives.map((o) => {
      const q = pmx.curves[o]?.find((x) => x.k === k);
      return q ? `${q.mean.toFixed(3)} [${q.min.toFixed(3)}–${q.max.toFixed(3)}] @ ${q.t.toFixed(0)} s` : '—';
    })])), '');
  }

  const lossSeries: Band[] = res.runs.filter((r) => r.loss_curve.length).map((r) => ({
    name: r.objective, color: color(r.objective, objectives.indexOf(r.objective)), thin: true, points: r.loss_curve.map(([x, y]) => ({ x, y })),
  }));
  if (lossSeries.length) {
    writeFileSync(join(dir, 'train-loss.svg'), bandChartSvg('training loss (each run)', 'training time (s)', 'loss', lossSeries));
    md.push('## Training loss', '', '![training loss](train-loss.svg)', '');
  }

  md.push('## Runs', '');
  md.push(table(['run', 'steps', 'training s', 'wall s (with probes)', 'probe s per checkpoint'], res.runs.map((r) => [
    `${r.objective} seed ${r.seed}`, String(r.steps), r.elapsed_s.toFixed(0), r.wall_s.toFixed(0),
    r.checkpoints.length ? mean(r.checkpoints.map((q) => q.metrics.probe_s ?? 0)).toFixed(1) : '—',
  ])), '');
  md.push('Every number is in `results.json`; each run folder (`runs/<objective>-s<seed>/`) keeps its metrics.jsonl and last checkpoint.', '');
  writeFileSync(join(dir, 'report.md'), md.join('\n'));
}
