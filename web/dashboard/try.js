// Try it: pick a model folder under --runs, drop an image, and the server captions it (greedy and beam
// search), answers a question about it and ranks typed captions for it, with the checkpoint's own
// heads. Parts the checkpoint cannot do (a caption model has no VQA head) say why.
import { h, fmt, answer, api, errorBox } from './util.js';

const MAX_BYTES = 10 * 1024 * 1024;

export function mountTry(main) {
  const model = h('select', { id: 'try-model', 'aria-label': 'model folder' });
  const file = h('input', { type: 'file', id: 'try-file', accept: 'image/*' });
  const preview = h('img', { id: 'try-preview', alt: '', hidden: true });
  const drop = h('div', { class: 'drop', id: 'try-drop' }, h('p', {}, 'Drop an image here, or ', h('label', { class: 'link' }, 'choose a file', file)), preview);
  const beam = h('input', { type: 'number', id: 'try-beam', min: 1, max: 16, value: 3, style: 'width:4em', 'aria-label': 'beam size' });
  const question = h('input', { type: 'text', id: 'try-question', size: 40, placeholder: 'a question (VQA checkpoints)', 'aria-label': 'question' });
  const texts = h('textarea', { id: 'try-texts', rows: 4, cols: 48, placeholder: 'captions to rank, one per line', 'aria-label': 'captions to rank' });
  const go = h('button', { id: 'try-run', disabled: true }, 'Run');
  const out = h('div', { id: 'try-out' });
  let image = null;
  let previewUrl = null;

  const setImage = (f) => {
    if (!f) return;
    if (f.size > MAX_BYTES) {
      out.replaceChildren(errorBox(`${f.name} is ${(f.size / 1e6).toFixed(1)} MB; at most 10 MB`));
      return;
    }
    image = f;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(f);
    preview.src = previewUrl;
    preview.hidden = false;
    go.disabled = !model.value;
  };
  file.addEventListener('change', () => setImage(file.files[0]));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    setImage(e.dataTransfer.files[0]);
  });

  const part = (title, value, render) => h('div', { class: 'result' }, h('h3', {}, title),
    value === null || value === undefined ? h('p', { class: 'muted' }, 'not asked') : value.error ? h('p', { class: 'warn' }, value.error) : render(value));

  go.addEventListener('click', async () => {
    if (!image || !model.value) return;
    go.disabled = true;
    out.replaceChildren(h('p', { class: 'muted', id: 'try-busy' }, 'computing…'));
    const q = new URLSearchParams({ model: model.value, beam: beam.value || '3' });
    if (question.value.trim()) q.set('question', question.value.trim());
    for (const t of texts.value.split('\n').map((x) => x.trim()).filter(Boolean)) q.append('text', t);
    try {
      const r = await answer(await fetch(`/api/try?${q}`, { method: 'POST', body: image, headers: { 'Content-Type': image.type || 'application/octet-stream' } }));
      out.replaceChildren(
        h('p', { class: 'muted' }, `${r.task} checkpoint ${r.checkpoint}`),
        part('Caption', r.caption, (c) => h('dl', {},
          h('dt', {}, 'greedy'), h('dd', { id: 'try-caption-greedy' }, c.greedy || '(empty)'),
          h('dt', {}, `beam ${c.beamSize}`), h('dd', { id: 'try-caption-beam' }, c.beam?.error ?? (c.beam || '(empty)')))),
        part('Answers', r.answers, (a) => h('ol', { id: 'try-answers' }, a.map((x) => h('li', {}, `${x.answer} `, h('span', { class: 'muted' }, fmt(x.score)))))),
        part('Best-matching captions', r.ranked, (x) => h('div', {}, h('p', { class: 'muted' }, `scored by ${x.by}`),
          h('ol', { id: 'try-ranked' }, x.ranked.map((t) => h('li', {}, `${t.text} `, h('span', { class: 'muted' }, fmt(t.score))))))));
    } catch (e) {
      out.replaceChildren(errorBox(e.message));
    } finally {
      go.disabled = false;
    }
  });

  main.append(h('section', {},
    h('h2', {}, 'Try a model'),
    h('div', { class: 'form' }, h('label', {}, 'model folder ', model), h('label', {}, 'beam size ', beam)),
    drop,
    h('div', { class: 'form' }, h('label', {}, 'question ', question)),
    h('div', { class: 'form' }, h('label', { class: 'top' }, 'captions to rank ', texts)),
    h('p', {}, go),
    out));

  api('runs').then((r) => {
    const models = r.runs.filter((x) => x.loadable);
    if (!models.length) {
      out.replaceChildren(h('p', {}, 'No checkpoints under the runs folder yet: train one, e.g. ', h('code', {}, 'flm finetune caption --from <runs>/<pretraining run>'), '.'));
      return;
    }
    // caption models first: they answer the most
    models.sort((a, b) => (b.task === 'caption') - (a.task === 'caption') || a.id.localeCompare(b.id));
    for (const x of models) model.append(h('option', { value: x.id }, `${x.id} (${x.task})`));
    go.disabled = !image;
  }).catch((e) => out.replaceChildren(errorBox(e.message)));
  return () => { if (previewUrl) URL.revokeObjectURL(previewUrl); };
}
