// Runs & curves: every run folder under --runs with its settings and final metrics; tick runs to
// compare them (settings that differ, final metrics) and to draw their curves, which follow the
// runs' metrics.jsonl while they train (each run is read on from the byte offset it reached).
import { api, h, fmt, ago, colour, fileHref, errorBox } from './util.js';
import { lineChart } from './charts.js';

const LIVE_MS = 30_000;
/** training-record fields that are bookkeeping, not curves */
const NOT_CURVES = new Set(['step', 'split', 'selection', 'examples', 'images', 'elapsed_s', 'skipped_nonfinite']);

/** One run's records, read on incrementally. */
class RunLog {
  constructor(id) {
    this.id = id;
    this.offset = 0;
    this.train = [];
    this.eval = [];
  }

  async poll() {
    for (let more = true; more;) {
      const r = await api('metrics', { run: this.id, offset: this.offset });
      if (r.reset) {
        this.train = [];
        this.eval = [];
      }
      for (const rec of r.records) {
        const list = typeof rec.split === 'string' ? this.eval : this.train;
        // a resumed run logs again from its checkpoint's step: the records it replaces go
        if (list.length && rec.step <= list[list.length - 1].step) {
          this.train = this.train.filter((x) => x.step < rec.step);
          this.eval = this.eval.filter((x) => x.step < rec.step);
          (typeof rec.split === 'string' ? this.eval : this.train).push(rec);
        } else list.push(rec);
      }
      const grew = r.records.length > 0 || r.reset;
      this.offset = r.offset;
      more = r.more;
      if (!more) return grew;
    }
    return false;
  }
}

function shortMetrics(rec, keys) {
  if (!rec) return '–';
  return keys.filter((k) => typeof rec[k] === 'number').map((k) => `${k} ${fmt(rec[k])}`).join(', ') || '–';
}

const evalKeys = (rec) => rec ? Object.keys(rec).filter((k) => !NOT_CURVES.has(k) && typeof rec[k] === 'number') : [];

/** Rows of the settings that differ between runs (all rows with `all`). */
function configRows(runs, all) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].sort();
  const rows = [];
  for (const k of keys) {
    const vals = runs.map((r) => (k in r.config ? JSON.stringify(r.config[k]) : undefined));
    if (all || new Set(vals).size > 1) rows.push([k, vals]);
  }
  return rows;
}

export function mountRuns(main, params) {
  const state = {
    runs: [], races: [],
    selected: new Set((params.get('select') ?? localStorage.getItem('flm.selected') ?? '').split(',').filter(Boolean)),
    allSettings: false,
    logs: new Map(),
    charts: new Map(),
    chosenByDefault: false,
    listed: false,
  };
  const table = h('div', { id: 'runs-table' });
  const races = h('div', { id: 'races-table' });
  const compare = h('div', { id: 'compare' });
  const curves = h('div', { id: 'curves', class: 'charts' });
  const status = h('div', { class: 'muted', id: 'runs-status' });
  main.append(
    h('section', {}, h('h2', {}, 'Runs'), status, table),
    races,
    h('section', {}, h('h2', {}, 'Compare'), compare),
    h('section', {}, h('h2', {}, 'Curves'), h('p', { class: 'muted' }, 'Loss, learning rate and evaluation metrics of the ticked runs against the step; they follow a run while it trains.'), curves),
  );

  /** ticked runs in name order: their colour is their place in this list, in the tables and the charts */
  const selectedIds = () => [...state.selected].sort();

  const saveSelection = () => {
    localStorage.setItem('flm.selected', [...state.selected].join(','));
    history.replaceState(null, '', `#runs?select=${[...state.selected].map(encodeURIComponent).join(',')}`);
  };

  const toggle = (id, on) => {
    if (on) state.selected.add(id);
    else state.selected.delete(id);
    saveSelection();
    renderCompare();
    resetCurves();
  };

  const renderTable = () => {
    if (!state.runs.length) {
      table.replaceChildren(h('p', {}, 'No run folders here yet. Start one with ', h('code', {}, 'flm pretrain --out <runs>/<name>'), ' and it appears within seconds.'));
      return;
    }
    const rows = state.runs.map((r) => {
      const live = r.updatedMs !== null && Date.now() - r.updatedMs < LIVE_MS;
      const step = r.lastTrain?.step ?? 0;
      return h('tr', { 'data-run': r.id, class: state.selected.has(r.id) ? 'selected' : '' },
        h('td', {}, h('input', { type: 'checkbox', checked: state.selected.has(r.id), 'aria-label': `select ${r.id}`, onchange: (e) => toggle(r.id, e.target.checked) })),
        h('td', {}, h('span', { class: live ? 'dot live' : 'dot', title: live ? 'metrics written in the last 30 s' : '' }), h('b', {}, r.id), r.race ? h('span', { class: 'muted small' }, ` in race ${r.race}`) : ''),
        h('td', {}, r.task), h('td', {}, r.objective ?? '–'), h('td', {}, r.preset ?? '–'),
        h('td', { class: 'num' }, r.config.timeBudgetS > 0 ? `${step} (${fmt(r.config.timeBudgetS)} s budget)` : r.plannedSteps ? `${step} / ${r.plannedSteps}` : String(step)),
        h('td', { class: 'num' }, fmt(r.lastTrain?.loss)),
        h('td', {}, shortMetrics(r.lastEval, evalKeys(r.lastEval).slice(0, 4))),
        h('td', {}, r.checkpoints.latest ? `${r.checkpoints.count} (best ${r.checkpoints.best ?? '–'})` : '–'),
        h('td', {}, ago(r.updatedMs)),
      );
    });
    table.replaceChildren(h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['', 'run', 'task', 'objective', 'preset', 'step', 'loss', 'last evaluation', 'checkpoints', 'updated'].map((c) => h('th', {}, c)))),
      h('tbody', {}, rows)));
  };

  const renderRaces = () => {
    if (!state.races.length) {
      races.replaceChildren();
      return;
    }
    races.replaceChildren(h('section', {}, h('h2', {}, 'Races'), h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['race', 'objectives', 'seeds', 'verdict'].map((c) => h('th', {}, c)))),
      h('tbody', {}, state.races.map((r) => h('tr', {},
        h('td', {}, h('a', { href: `#race?id=${encodeURIComponent(r.id)}` }, r.id)),
        h('td', {}, r.objectives.join(', ')), h('td', { class: 'num' }, String(r.seeds)), h('td', {}, r.headline ?? '–')))))));
  };

  const renderCompare = () => {
    const sel = selectedIds().map((id) => state.runs.find((r) => r.id === id)).filter(Boolean);
    for (const tr of table.querySelectorAll('tr[data-run]')) tr.classList.toggle('selected', state.selected.has(tr.dataset.run));
    if (!sel.length) {
      compare.replaceChildren(h('p', { class: 'muted' }, 'Tick runs in the table to compare their settings and final metrics.'));
      return;
    }
    const head = h('tr', {}, h('th', {}, ''), sel.map((r) => h('th', {}, h('span', { class: 'swatch', style: `background:${colour(selectedIds().indexOf(r.id))}` }), r.id)));
    const rows = configRows(sel, state.allSettings);
    const settings = h('table', { class: 'grid compare', id: 'config-diff' }, h('thead', {}, head.cloneNode(true)),
      h('tbody', {}, rows.length ? rows.map(([k, vals]) => h('tr', { 'data-key': k }, h('th', {}, k), vals.map((v) => h('td', {}, v === undefined ? '–' : v))))
        : h('tr', {}, h('td', { colspan: sel.length + 1, class: 'muted' }, sel.length > 1 ? 'the settings are the same' : 'tick a second run to see what differs'))));
    const metricKeys = [...new Set(sel.flatMap((r) => [...Object.keys(r.lastTrain ?? {}), ...evalKeys(r.lastEval)]))].filter((k) => !['split', 'elapsed_s', 'skipped_nonfinite'].includes(k));
    const value = (r, k) => (r.lastEval && k in r.lastEval && !(r.lastTrain && k in r.lastTrain) ? r.lastEval[k] : r.lastTrain?.[k]);
    const finals = h('table', { class: 'grid compare', id: 'final-metrics' }, h('thead', {}, head.cloneNode(true)),
      h('tbody', {}, metricKeys.map((k) => h('tr', { 'data-key': k }, h('th', {}, k), sel.map((r) => h('td', { class: 'num' }, fmt(value(r, k))))))));
    const files = h('p', { class: 'muted' }, 'Files: ', sel.flatMap((r) => [h('a', { href: fileHref(`${r.id}/config.json`), target: '_blank' }, `${r.id}/config.json`), ' ']));
    compare.replaceChildren(
      h('div', { class: 'split' },
        h('div', {}, h('h3', {}, state.allSettings ? 'Settings' : 'Settings that differ', ' ',
          h('label', { class: 'small' }, h('input', { type: 'checkbox', checked: state.allSettings, onchange: (e) => { state.allSettings = e.target.checked; renderCompare(); } }), ' show all')), settings),
        h('div', {}, h('h3', {}, 'Final metrics'), finals)),
      files);
  };

  const resetCurves = () => {
    for (const c of state.charts.values()) c.destroy();
    state.charts.clear();
    curves.replaceChildren();
    for (const id of [...state.logs.keys()]) if (!state.selected.has(id)) state.logs.delete(id);
    for (const id of state.selected) if (!state.logs.has(id)) state.logs.set(id, new RunLog(id));
    drawCurves();
  };

  const drawCurves = () => {
    const ids = selectedIds();
    if (!ids.length) {
      curves.replaceChildren(h('p', { class: 'muted' }, 'No run ticked.'));
      return;
    }
    const logs = ids.map((id) => state.logs.get(id)).filter(Boolean);
    const specs = [
      { key: 'loss', title: 'training loss', from: 'train', field: 'loss' },
      { key: 'lr', title: 'learning rate', from: 'train', field: 'lr' },
    ];
    const evalFields = [...new Set(logs.flatMap((l) => l.eval.flatMap((r) => evalKeys(r))))];
    for (const f of evalFields) specs.push({ key: `eval-${f}`, title: `evaluation: ${f}`, from: 'eval', field: f });
    if (curves.querySelector('p')) curves.replaceChildren();
    for (const s of specs) {
      const series = logs.map((l, i) => ({
        label: l.id, colour: colour(ids.indexOf(l.id)),
        points: l[s.from].filter((r) => typeof r[s.field] === 'number').map((r) => [r.step, r[s.field]]),
      }));
      const existing = state.charts.get(s.key);
      if (existing) existing.update(series);
      else {
        const c = lineChart({ key: s.key, title: s.title, xLabel: 'step', yLabel: s.field, series, integerX: true });
        state.charts.set(s.key, c);
        curves.append(c.el);
      }
    }
  };

  let stopped = false;
  let listTimer = null;
  let curveTimer = null;
  const refreshList = async () => {
    try {
      const r = await api('runs');
      state.runs = r.runs;
      state.races = r.races;
      status.textContent = `${r.runs.length} run folder(s) and ${r.races.length} race(s) under ${r.root}`;
      if (!state.listed) {
        // ticks remembered from another runs folder are dropped quietly
        state.listed = true;
        const known = new Set(r.runs.map((x) => x.id));
        const before = state.selected.size;
        for (const id of [...state.selected]) if (!known.has(id)) state.selected.delete(id);
        if (state.selected.size !== before) resetCurves();
      }
      if (!state.selected.size && !state.chosenByDefault && r.runs.length) {
        // nothing ticked yet: the most recently written run
        state.chosenByDefault = true;
        const latest = [...r.runs].sort((a, b) => (b.updatedMs ?? 0) - (a.updatedMs ?? 0))[0];
        state.selected.add(latest.id);
        resetCurves();
      }
      renderTable();
      renderRaces();
      renderCompare();
    } catch (e) {
      table.replaceChildren(errorBox(e.message));
    }
    if (!stopped) listTimer = setTimeout(refreshList, 3000);
  };
  const refreshCurves = async () => {
    let grew = false;
    for (const log of state.logs.values()) {
      try {
        grew = (await log.poll()) || grew;
      } catch (e) {
        curves.prepend(errorBox(`${log.id}: ${e.message}`));
        state.logs.delete(log.id);
      }
    }
    if (grew) drawCurves();
    if (!stopped) curveTimer = setTimeout(refreshCurves, 1000);
  };

  renderCompare();
  resetCurves();
  refreshList();
  refreshCurves();
  return () => {
    stopped = true;
    clearTimeout(listTimer);
    clearTimeout(curveTimer);
    for (const c of state.charts.values()) c.destroy();
  };
}
