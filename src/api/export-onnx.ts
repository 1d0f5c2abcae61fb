// The ONNX export (`flm export RUN --format onnx --out DIR`): the inference graphs of a fine-tuned model
// (src/onnx), its tokenizer.json, manifest.json (src/web/manifest.ts: which graph does what, shapes,
// preprocessing, special ids, caption limits, VQA answers) and a README; with --web-demo also a static
// page running the model in the browser (web-demo.ts).
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLMModel } from '../models/index.js';
import { taskGraphs, encodeModel, OnnxExportError, OPSET, type GraphName } from '../onnx/index.js';
import { flmVersion } from '../io/flm-version.js';
import { CLIP_MEAN, CLIP_STD } from '../data/image.js';
import { captionModelOf } from '../tasks/caption/infer.js';
import { DEFAULT_CAPTION_STEPS } from '../tasks/caption/decode.js';
import { answerVocabOf } from '../tasks/vqa/infer.js';
import type { RunModel } from '../tasks/common/inference-model.js';
import { ONNX_MANIFEST_FILE, ONNX_MANIFEST_FORMAT, ONNX_MANIFEST_VERSION, type GraphSpec, type OnnxGraphRole, type OnnxManifest, type OnnxTask } from '../web/manifest.js';
import { writeWebDemo } from './web-demo.js';

export { OnnxExportError };

const TASKS: readonly OnnxTask[] = ['caption', 'vqa', 'retrieval', 'nlvr2'];

function readme(m: OnnxManifest, name: string, demo: boolean): string {
  const use: Record<OnnxTask, string> = {
    caption: `const { caption } = await model.caption(imageData); // ImageData, or {data, width, height} RGB(A)`,
    vqa: `const { answer, top } = await model.answer(imageData, 'what colour is the circle?');`,
    retrieval: `const ranked = await model.rank(imageData, ['a red circle', 'two blue squares']);`,
    nlvr2: `const { label, probability } = await model.judge([left, right], 'there is a red circle in both images');`,
  };
  const graphs = Object.entries(m.graphs).map(([role, g]) =>
    `- \`${g!.file}\` (${role}, ${(g!.bytes / 2 ** 20).toFixed(1)} MiB): ${g!.doc}; inputs ${g!.inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join(', ')} -> ${g!.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`);
  return [
    `# ${name}: flm ${m.task} model, ONNX`, '',
    `The inference graphs of an flm ${m.task} model (step ${m.step}) for ONNX runtimes (opset ${m.opset}), written by flm ${m.producer}.`, '',
    '## Files', '', ...graphs,
    '- `tokenizer.json`: the Hugging Face tokenizer the model was trained with',
    `- \`${ONNX_MANIFEST_FILE}\`: which graph does what, the image preprocessing (${m.image.size} px, CLIP mean/std), special token ids${m.caption ? ', caption decoding tokens and limits' : ''}${m.vqa ? ', the answer vocabulary' : ''}`,
    ...(demo ? ['- `index.html`, `demo.js`, `lib/`, `vendor/`: a page that runs the model in the browser (onnxruntime-web, WASM)'] : []), '',
    '## Use it', '',
    ...(demo ? ['Serve this folder with any static file server and open the page, e.g.', '', '```sh', `cd ${name} && python3 -m http.server 8000   # then open http://127.0.0.1:8000/`, '```', ''] : []),
    'From JavaScript, with flm\'s browser library (onnxruntime-web; no Node APIs):', '', '```js',
    `import { loadWebModel } from 'flm/web';`, `const model = await loadWebModel('${name}/');`, use[m.task], '```', '',
    'Images of other sizes are resized in the page (shorter side, centre crop, bicubic); flm\'s Node pipeline resizes with libvips, so only images already at the model size give bit-identical inputs.', '',
  ].join('\n');
}

/** Writes the ONNX export of a loaded model into `dir` (an empty folder); returns the files written. */
export function writeOnnxExport(run: RunModel, dir: string, o: { name: string; webDemo: boolean }): string[] {
  if (!(TASKS as readonly string[]).includes(run.task)) {
    const why = run.task === 'pretrain' ? 'a pretraining model has no task head to export: fine-tune it first (flm finetune caption | vqa | retrieval | nlvr2 --from RUN)' : `unknown task '${run.task}'`;
    throw new OnnxExportError(`the ONNX export writes caption, vqa, retrieval and nlvr2 models; ${run.dir} is a ${run.task} model: ${why}`);
  }
  if (!(run.model instanceof FLMModel)) throw new OnnxExportError(`${run.dir}: the ONNX export writes three-stream FLM models, this is a single-stream one`);
  const task = run.task as OnnxTask;
  const producer = flmVersion();
  const files: string[] = [];
  const graphs: Partial<Record<OnnxGraphRole, GraphSpec>> = {};
  for (const g of taskGraphs(run.model, task)) {
    const bytes = encodeModel(g.toModel({ producerVersion: producer, metadata: { 'flm.task': task, 'flm.step': String(run.state.step) } }));
    const file = `${g.name}.onnx`;
    writeFileSync(join(dir, file), bytes);
    files.push(file);
    const role: OnnxGraphRole = g.name as GraphName;
    graphs[role] = { file, doc: g.doc, inputs: g.inputs, outputs: g.outputs, bytes: bytes.byteLength };
  }
  copyFileSync(run.tokenizerPath, join(dir, 'tokenizer.json'));
  files.push('tokenizer.json');
  const sp = run.tokenizer.specialIds;
  const manifest: OnnxManifest = {
    format: ONNX_MANIFEST_FORMAT, formatVersion: ONNX_MANIFEST_VERSION, task, step: Number(run.state.step), producer, opset: OPSET, graphs,
    image: { size: run.config.image_size, mean: [...CLIP_MEAN], std: [...CLIP_STD], resize: 'cover', background: [255, 255, 255] },
    tokenizer: { file: 'tokenizer.json', maxLength: run.config.max_text_len, specialIds: { cls: sp.cls, sep: sp.sep, pad: sp.pad, mask: sp.mask, unk: sp.unk ?? null } },
  };
  if (task === 'caption') {
    const { decode, tokens } = captionModelOf(run);
    manifest.caption = { prompt: [decode.cls, decode.bos], bos: tokens.bos, eos: tokens.eos, stop: [...decode.stop], maxSteps: DEFAULT_CAPTION_STEPS };
    manifest.rank = { kind: 'caption' };
  }
  if (task === 'vqa') manifest.vqa = { answers: answerVocabOf(run) };
  if (task === 'retrieval') manifest.rank = { kind: 'rank' };
  writeFileSync(join(dir, ONNX_MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  files.push(ONNX_MANIFEST_FILE);
  if (o.webDemo) files.push(...writeWebDemo(dir));
  writeFileSync(join(dir, 'README.md'), readme(manifest, o.name, o.webDemo));
  files.push('README.md');
  return files;
}
