// Race: the report of an `flm compare` race folder (results.json): the verdict, the setup, the
// per-step cost, every metric against training time with its 95% interval as a band, the time each
// contestant needs to reach MLM's best score with the speed-up and final scores and their intervals, and the training losses.
import { api, h, fmt, colour, fileHref, errorBox } from './util.js';
import { lineChart } from './charts.js';

export function mountRace(main, params) {
  const picker = h('select', { id: 'race-select', 'aria-label': 'race' });
  const body = h('div', { id: 'race-body' });
  main.append(h('section', {}, h('h2', {}, 'Race ', picker), body));
  const charts = [];

  const show = async (id) => {
    for (const c of charts.splice(0)) c.destroy();
    body.replaceChildren(h('p', { class: 'muted' }, 'loading…'));
    let r;
    try {
      r = await api('race', { id });
    } catch (e) {
      body.replaceChildren(errorBox(e.message));
      return;
    }
    const s = r.summary;
    const c = r.setup.config ?? {};
    const objectives = s?.objectives ?? [...new Set(r.runs.map((x) => x.objective))];
    const col = (o) => colour(objectives.indexOf(o));
    body.replaceChildren();
    body.append(h('div', { class: 'verdict', id: 'race-verdict' }, s?.headline?.text ?? 'no summary yet (the race has no finished run)'));
    body.append(h('p', { class: 'muted' },
      `preset ${c.preset}, ${fmt(c.budgetS)} s of training per run, ${c.seeds} seed(s), ${c.evals} checkpoint(s) per run, batch ${c.batchSize}, lr ${fmt(c.lr)}; `,
      `${r.setup.machine?.cpus ?? '?'} CPU(s), ${r.setup.machine?.threads ?? '?'} thread(s); started ${r.setup.started ?? '?'}${r.setup.finished ? `, finished ${r.setup.finished}` : ' (not finished)'}. `,
      r.files.map((f) => [h('a', { href: fileHref(`${r.id}/${f}`), target: '_blank' }, f), ' '])));

    if (s?.cost) {
      body.append(h('h3', {}, 'Per-step cost'), h('table', { class: 'grid', id: 'race-cost' },
        h('thead', {}, h('tr', {}, ['contestant', 'steps/s (min–max)', 's/step (median)', 'step cost vs MLM', 'steps', 'final loss'].map((x) => h('th', {}, x)))),
        h('tbody', {}, Object.entries(s.cost).map(([o, k]) => h('tr', {},
          h('td', {}, h('span', { class: 'swatch', style: `background:${col(o)}` }), o),
          h('td', { class: 'num' }, `${fmt(k.steps_per_s.mean)} (${fmt(k.steps_per_s.min)}–${fmt(k.steps_per_s.max)})`),
          h('td', { class: 'num' }, fmt(k.s_per_step_median)), h('td', { class: 'num' }, k.step_cost_vs_mlm === null ? '–' : `${fmt(k.step_cost_vs_mlm)}×`),
          h('td', { class: 'num' }, fmt(k.steps.mean)), h('td', { class: 'num' }, fmt(k.final_loss_mean)))))));
    }

    const grid = h('div', { class: 'charts' });
    body.append(h('h3', {}, 'Every metric against training time'), h('p', { class: 'muted' }, 'Lines: the mean over seeds at each checkpoint; band: its 95% bootstrap interval (test items and seeds resampled). Time to MLM\'s best: the first trained checkpoint at or above it (never interpolated); speed-up = MLM\'s time / the contestant\'s, with its 95% interval.'), grid);
    const ci = (x) => (x ? ` [${fmt(x[0])}, ${fmt(x[1])}]` : '');
    const reach = (v) => v.status === 'reached' ? `${fmt(v.t_reach)} s`
      : v.status === 'not-reached' ? 'never' : v.status === 'at-init' ? 'at init' : '–';
    for (const m of s?.metrics ?? []) {
      const curves = s.curves?.[m] ?? {};
      const v = (s.verdict ?? []).find((x) => x.metric === m);
      const series = Object.entries(curves).filter(([, pts]) => pts.length).map(([o, pts]) => ({
        label: o, colour: col(o), points: pts.map((p) => [p.t, p.mean]), band: pts.map((p) => [p.t, p.ci95[0], p.ci95[1]]),
      }));
      const chart = lineChart({ key: `race-${m}`, title: m, xLabel: 'training seconds', yLabel: m, series, height: 200 });
      charts.push(chart);
      const rows = Object.entries(v?.objectives ?? {}).map(([o, x]) => h('tr', {},
        h('td', {}, h('span', { class: 'swatch', style: `background:${col(o)}` }), o),
        h('td', { class: 'num' }, fmt(x.final), h('span', { class: 'muted' }, ci(x.final_ci95))),
        h('td', { class: 'num' }, reach(x)),
        h('td', { class: 'num' }, x.speedup === null ? (x.speedup_bound ?? '–') : `${fmt(x.speedup)}×`, h('span', { class: 'muted' }, ci(x.speedup_ci95))),
        h('td', { class: 'num' }, x.final_minus_mlm === null ? '–' : `${x.final_minus_mlm >= 0 ? '+' : ''}${fmt(x.final_minus_mlm)}`, h('span', { class: 'muted' }, ci(x.final_minus_mlm_ci95)))));
      const target = v?.target ? `${v.task === 'probe' ? 'zero-shot probe' : `after fine-tuning (${v.task})`}; MLM's best: ${fmt(v.target.value)}${ci(v.target.ci95)} at ${fmt(v.target.t)} s` : (v?.target_note ?? 'no MLM run: no target');
      grid.append(h('div', { class: 'race-metric', 'data-metric': m }, chart.el,
        h('table', { class: 'grid small' },
          h('caption', {}, target),
          h('thead', {}, h('tr', {}, ['contestant', 'final', 'time to MLM\'s best', 'speed-up', 'final − MLM'].map((x) => h('th', {}, x)))),
          h('tbody', {}, rows))));
    }

    const losses = r.runs.filter((x) => x.loss_curve?.length).map((x) => ({
      label: `${x.objective} s${x.seed}`, colour: col(x.objective), points: x.loss_curve,
    }));
    if (losses.length) {
      const chart = lineChart({ key: 'race-loss', title: 'training loss', xLabel: 'training seconds', yLabel: 'loss', series: losses, height: 200 });
      charts.push(chart);
      body.append(h('h3', {}, 'Training loss'), h('div', { class: 'charts' }, chart.el));
    }
    body.append(h('h3', {}, 'Runs'), h('ul', {}, r.runs.map((x, i) => h('li', {},
      `${x.objective} seed ${x.seed}: ${x.steps} steps in ${fmt(x.elapsed_s)} s`,
      r.runIds[i] ? [' — ', h('a', { href: `#runs?select=${encodeURIComponent(r.runIds[i])}` }, r.runIds[i])] : ''))));
  };

  api('runs').then((l) => {
    if (!l.races.length) {
      body.replaceChildren(h('p', {}, 'No race folders under the runs folder. A race is made by ', h('code', {}, 'flm compare --out <runs>/<name>'), '.'));
      picker.hidden = true;
      return;
    }
    for (const x of l.races) picker.append(h('option', { value: x.id }, x.id));
    const want = params.get('id');
    picker.value = want && l.races.some((x) => x.id === want) ? want : l.races[0].id;
    picker.addEventListener('change', () => {
      history.replaceState(null, '', `#race?id=${encodeURIComponent(picker.value)}`);
      show(picker.value);
    });
    show(picker.value);
  }).catch((e) => body.replaceChildren(errorBox(e.message)));
  return () => { for (const c of charts) c.destroy(); };
}
