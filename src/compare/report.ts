// The race report: report.md (the verdict, where each contestant wins and loses against MLM on EVERY
// metric, the setup, per-step cost, time to MLM's best and final scores with their 95% intervals, the
// curves), one SVG chart per metric and the training-loss chart. The numbers are summary.ts's.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_INFO } from './metric-info.js';
import { bandChartSvg, color, type Band } from './chart.js';
import { describe, fmtCi, fmtS, fmtV, fmtX, SPEEDUP_TIE, standing, summarize, type MetricVerdictJson, type ObjectiveVerdict, type RaceSummary } from './summary.js';
import type { RaceResults } from './race.js';

export { summarize, type RaceSummary };

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const label = (m: string): string => METRIC_INFO[m]?.label ?? m;

/** A contestant's time to MLM's best in a table cell. */
function reachCell(o: string, v: ObjectiveVerdict): string {
  if (v.status === 'reached') return o === 'mlm' ? fmtS(v.t_reach) : `${fmtS(v.t_reach)}: ${v.speedup_bound?.startsWith('>=') ? '≥' : ''}${fmtX(v.speedup)} ${fmtCi(v.speedup_ci95, (x) => x.toFixed(2))}`;
  if (v.status === 'not-reached') return `not reached (< ${v.speedup_bound?.slice(1) ?? '—'}x) ${fmtCi(v.speedup_ci95, (x) => x.toFixed(2))}`;
  if (v.status === 'at-init') return 'at its initialisation already';
  return '—';
}

function finalCell(o: string, v: ObjectiveVerdict): string {
  const base = `${fmtV(v.final)} ${fmtCi(v.final_ci95)}`;
  if (o === 'mlm' || v.final_minus_mlm === null) return base;
  const d = v.final_minus_mlm;
  const s = standing(v).final;
  const mark = s === 'above' ? ' **above**' : s === 'below' ? ' **below**' : '';
  return `${base}; ${d >= 0 ? '+' : ''}${d.toFixed(3)} ${fmtCi(v.final_minus_mlm_ci95)}${mark}`;
}

/** Where each contestant wins and loses against MLM, every metric in one of the lists. */
function standings(s: RaceSummary): string[] {
  const md: string[] = [];
  const hasMlm = s.verdict.some((m) => m.objectives.mlm);
  if (!hasMlm) return ['No MLM contestant: nothing to compare against.', ''];
  for (const o of s.objectives.filter((x) => x !== 'mlm')) {
    const rows = s.verdict.filter((m) => m.objectives[o]).map((m) => ({ m, v: m.objectives[o]!, st: standing(m.objectives[o]!) }));
    const list = (xs: typeof rows, f: (x: (typeof rows)[number]) => string): string => (xs.length ? xs.map(f).join('; ') : 'none');
    const d = (x: (typeof rows)[number]): string => `${x.m.metric} ${x.v.final_minus_mlm! >= 0 ? '+' : ''}${x.v.final_minus_mlm!.toFixed(3)} ${fmtCi(x.v.final_minus_mlm_ci95)}`;
    const sp = (x: (typeof rows)[number]): string => `${x.m.metric} ${x.v.status === 'not-reached' ? `never (< ${x.v.speedup_bound?.slice(1)}x)` : fmtX(x.v.speedup)} ${fmtCi(x.v.speedup_ci95, (y) => y.toFixed(2))}`;
    md.push(`### ${o} against MLM`, '');
    md.push(`- **Final score below MLM's** (95% interval of the difference below 0): ${list(rows.filter((x) => x.st.final === 'below'), d)}`);
    md.push(`- **Slower to MLM's best, or never there** (speed-up interval below ${1 - SPEEDUP_TIE}): ${list(rows.filter((x) => x.st.speed === 'later'), sp)}`);
    md.push(`- Final score above MLM's: ${list(rows.filter((x) => x.st.final === 'above'), d)}`);
    md.push(`- Sooner at MLM's best (speed-up interval above ${1 + SPEEDUP_TIE}): ${list(rows.filter((x) => x.st.speed === 'sooner'), sp)}`);
    md.push(`- Final scores not distinguishable (interval across 0): ${list(rows.filter((x) => x.st.final === 'tie'), d)}`);
    md.push(`- Time to MLM's best not distinguishable (interval reaching into ${1 - SPEEDUP_TIE}-${1 + SPEEDUP_TIE}): ${list(rows.filter((x) => x.st.speed === 'tie'), sp)}`);
    const atInit = rows.filter((x) => x.v.status === 'at-init').map((x) => x.m.metric);
    if (atInit.length) md.push(`- No time to compare, ${o} starts at MLM's best (within its initialisation's interval): ${atInit.join(', ')}`);
    const noTarget = rows.filter((x) => x.v.status === 'no-target').map((x) => x.m.metric);
    if (noTarget.length) md.push(`- No time to compare, MLM never left its initialisation: ${noTarget.join(', ')}`);
    md.push('');
  }
  return md;
}

/** Writes report.md and the charts (results.json is written by the race). */
/** Distinct multisets of n seeds drawn with replacement from n: C(2n - 1, n). */
function seedDraws(n: number): number {
  let c = 1;
  for (let i = 1; i <= n; i++) c = (c * (n - 1 + i)) / i;
  return Math.round(c);
}

export function writeReport(dir: string, res: RaceResults): void {
  const s = res.summary;
  if (!s) return;
  const c = res.setup.config;
  const objectives = s.objectives;
  const md: string[] = [];
  md.push('# FLM vs MLM vs AR: pretraining race', '');
  md.push(`**${s.headline.metric}**: ${s.headline.text}`, '');
  if (!res.setup.finished) md.push('_The race is still running (or was stopped): this report covers the checkpoints finished so far._', '');

  md.push('## Where each contestant wins and loses against MLM', '');
  md.push(`Every metric of the race is in one of these lists. "Above" / "below": the 95% bootstrap interval of the final-score difference to MLM lies above / below 0; "sooner" / "slower": the interval of the speed-up (MLM's time to its own best over the contestant's, read at checkpoints) lies above ${1 + SPEEDUP_TIE} / below ${1 - SPEEDUP_TIE} (checkpoint times differ by a fraction of a second between runs, so the same checkpoint gives ratios within a few per cent of 1).`, '');
  md.push(...standings(s));

  md.push('## Setup', '');
  const p = res.setup.preset_spec;
  const pm = res.setup.probe_material;
  md.push(table(['setting', 'value'], [
    ['contestants', objectives.join(', ')],
    ['seeds per contestant', String(c.seeds)],
    ['training budget per run', `${c.budgetS} s wall-clock (trainer clock; probes, fine-tunes and restarts not counted)`],
    ['checkpoints per run', `${c.evals} (every ${(c.budgetS / c.evals).toFixed(0)} s)${c.evalInit ? ' + the initialisation' : ''}`],
    ['training data', `\`${c.data}\``],
    ['test data', `\`${c.testData}\``],
    ['linear-probe training data', c.probeTrainData ? `\`${c.probeTrainData}\`` : '—'],
    ['model preset', `${c.preset}: hidden ${p.hidden}, ${p.num_bottom_layer}+${p.num_top_layer} text layers (FLM reconstructor ${p.num_reconstructor_bottom_layer}+${p.num_reconstructor_top_layer}), ViT ${p.vit_resblocks}x${p.vit_width} on ${p.image_size} px / patch ${p.patch_size}${p.vit_conv_stem ? ` after a conv stem [${p.vit_conv_stem.join(', ')}]` : ''}, ${p.max_text_len} text tokens, vocab ${res.setup.tokenizer_vocab}`],
    ['batch / lr / warmup', `${c.batchSize} / ${c.lr} (constant after warmup) / ${c.warmupSteps} steps`],
    ['FLM span corruption', c.spanCorruptionRate === null ? `preset (${p.span_corruption_rate}) unless the contestant names one (flm@<rate>)` : String(c.spanCorruptionRate)],
    ['MLM masking rate', String(c.mlmRate)],
    ['statistics', `${s.resamples} bootstrap replicates over test items and seeds (seed ${c.bootstrapSeed ?? 0})`],
    ['machine', `${res.setup.machine.cpus} x ${res.setup.machine.model}, ${res.setup.machine.threads} threads; load average at start ${res.setup.machine.loadavg_start.join(' / ')}${res.setup.machine.loadavg_end ? `, at end ${res.setup.machine.loadavg_end.join(' / ')}` : ''}`],
    ['data loading alone', res.setup.loader_ms_per_batch === null ? '—' : `${res.setup.loader_ms_per_batch} ms per batch (runs beside training; counts against every objective's clock)`],
    ['race wall time', res.setup.wall_s === undefined ? '—' : `${(res.setup.wall_s / 60).toFixed(1)} min`],
  ]), '');
  md.push('Zero-shot probes (no fine-tuning; the same held-out items for every checkpoint):', '');
  const mlmScoring = (c.probes.mlmScoring ?? 'passes') === 'passes' ? `a pseudo-log-likelihood over ${c.probes.mlmPasses} fixed disjoint whole-word maskings` : 'a pseudo-log-likelihood with one word masked at a time (every word predicted once, the others visible)';
  md.push(`- **zs_t2i_r1 / zs_i2t_r1**: zero-shot ${pm.way}-way retrieval scored by each model's own pretraining loss of the caption given the image, ${pm.zs_groups} groups of ${pm.way} test images with one caption each (${pm.zs_groups * pm.way} queries each way; chance ≈ ${(1 / pm.way).toFixed(3)}). Text-to-image compares one caption under different images, so the caption's own likelihood cancels; image-to-text also rewards captions that are likely in themselves. MLM is scored by ${mlmScoring}. Distractors that the shapes checker finds true of the query (other data: that have the query's caption among their own) are not counted.`);
  if (Object.keys(pm.minimal_pairs).length) md.push(`- **mp_***: minimal image pairs, one caption under its own scene and under that scene with one edit that makes it false (an object recoloured, reshaped, resized or removed, or the scene mirrored; ${Object.entries(pm.minimal_pairs).map(([k, n]) => `${k} ${n}`).join(', ')} pairs); accuracy of the lower loss under the true scene (chance 0.5). mp_mean is the mean over kinds (resampled within kinds).`);
  if (pm.lp_train_images) md.push(`- **lp_***: frozen image-tower features [CLS; mean patch token] → logistic regression (${c.probes.lpSteps} full-batch steps) fitted on ${pm.lp_train_images} images, scored on ${c.probes.lpTest} test images; **lp_shape_local** instead reads each object's shape from the one image token whose patch holds the object's centre, every object of those images an item (objects of one image are not independent, so its interval is somewhat narrow).`);
  md.push('');

  md.push('## How to read the numbers', '');
  md.push([
    'Scores are means over seeds. Each interval is a 95% percentile bootstrap interval: test items are resampled (the same draw for every contestant and checkpoint, so comparisons are paired) and each contestant\'s seeds are resampled, and the whole analysis is redone on each replicate.',
    'The target of a metric is the best mean score MLM reaches at any of its trained checkpoints. A contestant\'s time to it is the training time of its first trained checkpoint at or above it: never read between checkpoints, never from the initialisation.',
    'A target that is not above the upper end of a contestant\'s initialisation interval says nothing about its training: that contestant is "at its initialisation already" and gets no time; when that holds for MLM itself, the metric has no target.',
    'Speed-up = MLM\'s time / the contestant\'s. "not reached (< x)": not there by its last checkpoint, so its speed-up is below x; "≥": reached at its first trained checkpoint, so it may have been sooner than the grid can say. In the speed-up interval a replicate that does not reach the target counts as 0.',
    `With few seeds the seed resampling is coarse (${c.seeds} seed${c.seeds === 1 ? '' : 's'} give${c.seeds === 1 ? 's' : ''} ${seedDraws(c.seeds)} distinct draw${seedDraws(c.seeds) === 1 ? '' : 's'}); the intervals are approximate.`,
    ...(s.verdict.some((m) => m.items <= 1) ? ['**This race recorded no per-item scores for some metrics (items = 1 below: a race run before the intervals existed), so their intervals are over seeds only and narrower than the truth.**'] : []),
  ].join(' '), '');

  md.push('## Per-step cost (measured)', '');
  md.push(table(['contestant', 'steps/s (mean, min–max)', 's/step', 'step cost vs MLM', 'steps per run', 'final train loss'], objectives.filter((o) => s.cost[o]).map((o) => {
    const k = s.cost[o]!;
    return [o, `${k.steps_per_s.mean.toFixed(2)} (${k.steps_per_s.min.toFixed(2)}–${k.steps_per_s.max.toFixed(2)})`, fmtV(k.s_per_step_median), fmtX(k.step_cost_vs_mlm), `${k.steps.mean.toFixed(0)} (${k.steps.min}–${k.steps.max})`, fmtV(k.final_loss_mean)];
  })), '');
  md.push('Steps per second are over the whole run (restart warm-ups included); s/step is the median over the logged 10-step intervals (the run average when a run logged fewer than two), averaged over the seeds. The losses of different objectives are not comparable with each other.', '');

  md.push('## Time to reach MLM\'s best (every metric)', '');
  md.push(table(['metric', 'task', 'items', 'MLM\'s best', ...objectives], s.verdict.map((m) => [
    m.metric, m.task, String(m.items), m.target ? `${fmtV(m.target.value)} ${fmtCi(m.target.ci95)} @ ${fmtS(m.target.t)}` : `none: ${m.target_note ?? ''}`,
    ...objectives.map((o) => (m.objectives[o] ? reachCell(o, m.objectives[o]!) : '—')),
  ])), '');

  md.push('## Final scores (every metric)', '');
  md.push('At the last checkpoint, mean over seeds with its 95% interval; for the others, the difference to MLM with its interval.', '');
  md.push(table(['metric', ...objectives], s.verdict.map((m) => [m.metric, ...objectives.map((o) => (m.objectives[o] ? finalCell(o, m.objectives[o]!) : '—'))])), '');

  md.push('## Curves', '');
  md.push('Mean over seeds at each checkpoint with its 95% interval (shaded in the charts) and the seeds\' range. Times are training seconds on the trainer\'s clock, averaged over the seeds\' checkpoints.', '');
  for (const m of s.metrics) {
    const cv = s.curves[m]!;
    const v = s.verdict.find((x) => x.metric === m)!;
    const info = METRIC_INFO[m];
    const file = `curve-${m}.svg`;
    const bands: Band[] = objectives.filter((o) => cv[o]?.length).map((o, i) => ({
      name: o, color: color(o, i), points: cv[o]!.map((q) => ({ x: q.t, y: q.mean, lo: q.ci95[0], hi: q.ci95[1] })),
    }));
    writeFileSync(join(dir, file), bandChartSvg(`${m}: ${label(m)}`, 'training time (s)', m, bands, v.target ? { ref: { y: v.target.value, label: 'MLM best' } } : {}));
    md.push(`### ${m} — ${label(m)}${info?.chance ? ` (chance ${info.chance})` : ''}`, '', `![${m}](${file})`, '');
    for (const [o, x] of Object.entries(v.objectives)) if (o !== 'mlm') md.push(`- ${describe(o, x, v)}`);
    md.push('');
    const ks = [...new Set(objectives.flatMap((o) => (cv[o] ?? []).map((q) => q.k)))].sort((a, b) => a - b);
    md.push(table(['checkpoint', ...objectives], ks.map((k) => [String(k), ...objectives.map((o) => {
      const q = cv[o]?.find((x) => x.k === k);
      return q ? `${q.mean.toFixed(3)} ${fmtCi(q.ci95)} @ ${q.t.toFixed(0)} s` : '—';
    })])), '');
  }

  const lossSeries: Band[] = res.runs.filter((r) => r.loss_curve.length).map((r) => {
    const name = r.contestant ?? r.objective;
    return { name, color: color(name, objectives.indexOf(name)), thin: true, points: r.loss_curve.map(([x, y]) => ({ x, y })) };
  });
  if (lossSeries.length) {
    writeFileSync(join(dir, 'train-loss.svg'), bandChartSvg('training loss (each run)', 'training time (s)', 'loss', lossSeries));
    md.push('## Training loss', '', '![training loss](train-loss.svg)', '');
  }

  md.push('## Runs', '');
  md.push(table(['run', 'steps', 'training s', 'wall s (with probes and fine-tunes)', 'probe s per checkpoint'], res.runs.map((r) => [
    `${r.contestant ?? r.objective} seed ${r.seed}`, String(r.steps), r.elapsed_s.toFixed(0), r.wall_s.toFixed(0),
    r.checkpoints.length ? mean(r.checkpoints.map((q) => q.metrics.probe_s ?? 0)).toFixed(1) : '—',
  ])), '');
  md.push('Every number is in `results.json` (per checkpoint, every test item\'s score); each run folder (`runs/<contestant>-s<seed>/`) keeps its metrics.jsonl and last checkpoint.', '');
  writeFileSync(join(dir, 'report.md'), md.join('\n'));
}

export type { MetricVerdictJson };
