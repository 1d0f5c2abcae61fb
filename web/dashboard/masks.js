// FLM masks: type a caption, pick a corruption rate and a seed; the server builds the three attention
// masks of FLM's three-stream model with the library's own code and the page draws them. Rows are
// queries, columns keys; in the reconstructor mask the first L columns are the forward stream's
// features and the last L the reverse stream's.
import { api, h, svg, errorBox } from './util.js';

const CELL = 13;
const LABEL = 70;

function grid(id, title, rows, tokens, o = {}) {
  const L = rows.length;
  const K = rows[0]?.length ?? 0;
  const w = LABEL + K * CELL + 4;
  const hgt = LABEL + L * CELL + 4;
  const root = svg('svg', { id, width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, class: 'mask', 'data-rows': L, 'data-cols': K });
  const colToken = (k) => (k < tokens.length ? tokens[k] : tokens[k - tokens.length]);
  for (let k = 0; k < K; k++) {
    const x = LABEL + k * CELL + CELL / 2;
    root.append(svg('text', { x, y: LABEL - 4, transform: `rotate(-60 ${x} ${LABEL - 4})`, class: k >= tokens.length ? 'rev' : '' }, colToken(k)));
  }
  let allowed = 0;
  for (let q = 0; q < L; q++) {
    root.append(svg('text', { x: LABEL - 4, y: LABEL + q * CELL + CELL - 3, 'text-anchor': 'end' }, tokens[q]));
    for (let k = 0; k < K; k++) {
      const on = rows[q][k] === '1';
      const corrupted = o.base && !on && o.base[q][k] === '1';
      const own = o.own && q > 0 && (k === q || k === q + L);
      if (on) allowed++;
      const cls = on ? 'on' : corrupted ? 'corrupted' : own ? 'own' : 'off';
      root.append(svg('rect', { x: LABEL + k * CELL, y: LABEL + q * CELL, width: CELL - 1, height: CELL - 1, class: cls },
        svg('title', {}, `query ${q} "${tokens[q]}" → key ${k >= L ? `reverse ${k - L}` : k} "${colToken(k)}": ${cls === 'on' ? 'attends' : cls === 'corrupted' ? 'hidden by its corruption span' : cls === 'own' ? 'the target itself' : 'blocked'}`)));
    }
  }
  if (o.split) root.append(svg('line', { x1: LABEL + L * CELL - 0.5, x2: LABEL + L * CELL - 0.5, y1: LABEL - 2, y2: LABEL + L * CELL, class: 'divider' }));
  root.dataset.allowed = String(allowed);
  return h('figure', { class: 'maskfig' }, h('figcaption', {}, title), root);
}

export function mountMasks(main, params) {
  const text = h('input', { type: 'text', id: 'mask-text', value: params.get('text') ?? 'a red circle left of a blue square', size: 48, 'aria-label': 'caption' });
  const rate = h('input', { type: 'range', id: 'mask-rate', min: 0, max: 1, step: 0.05, value: params.get('rate') ?? '0.3', 'aria-label': 'corruption rate' });
  const rateShown = h('output', { id: 'mask-rate-value' }, rate.value);
  const seed = h('input', { type: 'number', id: 'mask-seed', min: 0, step: 1, value: params.get('seed') ?? '0', 'aria-label': 'seed', style: 'width:6em' });
  const keep = h('input', { type: 'checkbox', id: 'mask-keep' });
  const tokenizer = h('select', { id: 'mask-tokenizer', 'aria-label': 'tokenizer' }, h('option', { value: 'byte' }, 'byte-level (no merges)'));
  const out = h('div', { id: 'mask-out' });
  main.append(h('section', {},
    h('h2', {}, 'FLM attention masks'),
    h('p', { class: 'muted' }, 'Free Language Modeling reconstructs every token from a forward (left-to-right) and a reverse (right-to-left) stream. Span corruption hides, for each target, a random span of context around it from the reconstructor. The masks below are computed by flm\'s own mask code (objectives/masks.ts) with the span draws sampled after seeding libtorch\'s generator.'),
    h('div', { class: 'form' },
      h('label', {}, 'caption ', text),
      h('label', {}, 'corruption rate ', rate, ' ', rateShown),
      h('label', {}, 'seed ', seed),
      h('label', {}, 'tokenizer ', tokenizer),
      h('label', { title: 'reopen one key in rows the corruption blocks completely (off in the official code)' }, keep, ' keep one key visible')),
    out));

  api('runs').then((r) => {
    for (const run of r.runs.filter((x) => x.hasTokenizer)) tokenizer.append(h('option', { value: run.id }, `${run.id}/tokenizer.json`));
    if (params.get('tokenizer')) tokenizer.value = params.get('tokenizer');
  }).catch(() => {});

  let seq = 0;
  let timer = null;
  const draw = async () => {
    const mine = ++seq;
    rateShown.value = Number(rate.value).toFixed(2);
    let m;
    try {
      m = await api('masks', { text: text.value, rate: rate.value, seed: seed.value || 0, tokenizer: tokenizer.value, keep: keep.checked ? 1 : 0 });
    } catch (e) {
      if (mine === seq) out.replaceChildren(errorBox(e.message));
      return;
    }
    if (mine !== seq) return; // a newer request is on its way
    const L = m.L;
    // what each target's span actually hid: keys its rate-0 row allowed that the corrupted row blocks
    // (the span arithmetic can also cover keys that were blocked anyway, such as the forward CLS)
    const hiddenBy = (q) => {
      const f = [];
      const r = [];
      for (let k = 0; k < 2 * L; k++) {
        if (m.reconstructorRate0[q][k] === '1' && m.reconstructor[q][k] === '0') (k < L ? f : r).push(m.tokens[k % L]);
      }
      return [f, r];
    };
    out.replaceChildren(
      h('p', { class: 'muted' }, `"${m.text}" → ${L} tokens with ${m.tokenizer}; rate ${m.rate}, seed ${m.seed}.`),
      h('div', { class: 'legend' },
        h('span', { class: 'key on' }), ' attends ', h('span', { class: 'key off' }), ' blocked ',
        h('span', { class: 'key own' }), ' the target itself ', h('span', { class: 'key corrupted' }), ' hidden by the target\'s corruption span'),
      h('div', { class: 'masks' },
        grid('mask-forward', 'forward stream (L × L)', m.forward, m.tokens),
        grid('mask-reverse', 'reverse stream (L × L)', m.reverse, m.tokens)),
      h('div', { class: 'masks' },
        grid('mask-reconstructor', 'reconstructor (L × 2L: forward keys | reverse keys)', m.reconstructor, m.tokens, { base: m.reconstructorRate0, own: true, split: true })),
      h('h3', {}, 'Corruption span of each token'),
      h('table', { class: 'grid small', id: 'mask-spans' },
        h('thead', {}, h('tr', {}, ['q', 'target', 'm', 'left / right', 'hidden forward context', 'hidden reverse context'].map((x) => h('th', {}, x)))),
        h('tbody', {}, m.spans.map((s) => {
          const [f, r] = hiddenBy(s.q);
          return h('tr', {}, h('td', { class: 'num' }, String(s.q)), h('td', {}, h('code', {}, m.tokens[s.q])), h('td', { class: 'num' }, String(s.m)),
            h('td', { class: 'num' }, `${s.left} / ${s.m - s.left}`),
            h('td', {}, f.length ? f.map((t) => h('code', { class: 'tok' }, t)) : '–'), h('td', {}, r.length ? r.map((t) => h('code', { class: 'tok' }, t)) : '–'));
        }))));
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(draw, 150);
  };
  for (const el of [text, rate, seed]) el.addEventListener('input', later);
  for (const el of [keep, tokenizer]) el.addEventListener('change', later);
  draw();
  return () => clearTimeout(timer);
}
