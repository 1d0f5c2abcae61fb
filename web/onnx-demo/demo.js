// The page script of the web demo (flm export … --format onnx --web-demo): loads the exported model in
// this folder with the flm/web library and wires the image drop, caption, question and ranking.
// window.flmDemo exposes the model and the timings to scripts (the headless-browser test reads them).
import { loadWebModel } from './lib/web/index.js';

const $ = (id) => document.getElementById(id);
const demo = { model: null, image: null, timings: { loadMs: null, captionMs: [] }, ready: null, error: null, lastCaption: null };
window.flmDemo = demo;

function fail(e) {
  demo.error = String(e && e.message ? e.message : e);
  $('error').textContent = demo.error;
}

async function pixelsOf(blob) {
  const bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const canvas = $('preview');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

async function captionNow() {
  if (!demo.model || !demo.image || demo.model.task !== 'caption') return;
  $('caption').textContent = '…';
  const t0 = performance.now();
  const c = await demo.model.caption(demo.image);
  const ms = performance.now() - t0;
  demo.timings.captionMs.push(ms);
  demo.lastCaption = c.caption;
  $('caption').textContent = c.caption || '(empty caption)';
  $('caption-time').textContent = `${ms.toFixed(0)} ms, ${c.ids.length + (c.stopped ? 1 : 0)} decoding steps`;
}

async function useImage(blob) {
  try {
    demo.image = await pixelsOf(blob);
    await captionNow();
  } catch (e) {
    fail(e);
  }
}

$('file').addEventListener('change', (ev) => {
  const f = ev.target.files[0];
  if (f) useImage(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  drop.classList.remove('over');
  const f = ev.dataTransfer.files[0];
  if (f) useImage(f);
});

$('ask').addEventListener('click', async () => {
  try {
    if (!demo.image) throw new Error('drop an image first');
    const t0 = performance.now();
    const a = await demo.model.answer(demo.image, $('question').value);
    $('answer').textContent = a.answer;
    $('answer-time').textContent = `score ${a.score.toFixed(3)}; then ${a.top.slice(1, 4).map((x) => `${x.answer} ${x.score.toFixed(3)}`).join(', ')} (${(performance.now() - t0).toFixed(0)} ms)`;
  } catch (e) {
    fail(e);
  }
});

$('rank').addEventListener('click', async () => {
  try {
    if (!demo.image) throw new Error('drop an image first');
    const texts = $('captions').value.split('\n').map((s) => s.trim()).filter(Boolean);
    const ranked = await demo.model.rank(demo.image, texts);
    $('ranked').replaceChildren(...ranked.map((r) => {
      const tr = document.createElement('tr');
      for (const v of [r.score.toFixed(3), r.text]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
  } catch (e) {
    fail(e);
  }
});

demo.ready = (async () => {
  try {
    const model = await loadWebModel(new URL('./', location.href).href);
    demo.model = model;
    demo.timings.loadMs = model.loadMs;
    const m = model.manifest;
    $('status').textContent = `A ${m.task} model (step ${m.step}), ${m.image.size} px images, loaded in ${model.loadMs.toFixed(0)} ms.`;
    $('caption-section').hidden = m.task !== 'caption';
    $('answer-section').hidden = m.task !== 'vqa';
    $('rank-section').hidden = !m.rank;
    await captionNow();
  } catch (e) {
    $('status').textContent = 'The model did not load.';
    fail(e);
  }
})();
