// The ONNX export (`flm export RUN --format onnx`) on tiny fine-tuned models of every exportable task:
// each graph's outputs under onnxruntime-node match libtorch's within 1e-4 on random inputs and on
// shapes-world images and texts; greedy captions of the exported model are token-identical to
// `flm caption`'s; the browser library (run here in Node on onnxruntime-web's WASM backend) answers,
// ranks and judges as loadModel does; the ONNX checker of python3-onnx accepts every file (when
// installed); and what cannot be exported fails with a message naming why, writing nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { F, manualSeed, noGrad, randn, tensor, tidy, type Tensor } from '../src/tensor/index.js';
import { ShapesWorld } from '../src/data/shapes/index.js';
import { PRETRAIN_DEFAULTS, pretrain } from '../src/tasks/pretrain/recipe.js';
import { CAPTION_DEFAULTS, finetuneCaption } from '../src/tasks/caption/recipe.js';
import { finetune, finetuneDefaults } from '../src/tasks/finetune.js';
import { loadRunModel, type RunModel } from '../src/tasks/common/inference-model.js';
import { captionImageTokens, forwardHead, forwardStream } from '../src/tasks/caption/decode.js';
import { encodeCaptions, type CaptionTokens } from '../src/tasks/caption/tokens.js';
import { clsFeatures } from '../src/tasks/common/task.js';
import { forwardMask, toAdditive } from '../src/objectives/index.js';
import { loadImageTensor } from '../src/data/image.js';
import { FLMModel, type FLMConfig } from '../src/models/index.js';
import { Module } from '../src/nn/module.js';
import { captionCacheSlots, checkExportable, decodeModel, encodeModel, OnnxExportError, OPSET, taskGraphs } from '../src/onnx/index.js';
import { exportModel, loadModel, ExportError } from '../src/index.js';
import { loadWebModel, preprocessImage, type OnnxManifest, type WebModel } from '../src/web/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'flm.js');
const S = 32;
const TOL = 1e-4;
const root = mkdtempSync(join(tmpdir(), 'flm-onnx-'));
const run = (t: string): string => join(root, 'runs', t);
const out = (t: string): string => join(root, 'onnx', t);
const TASKS = ['caption', 'vqa', 'retrieval', 'nlvr2'] as const;
type Task = (typeof TASKS)[number];
const world = new ShapesWorld({ seed: 11, n: 8, imageSize: S });
const rgb = (i: number) => ({ data: Uint8Array.from(world.image(i)), width: S, height: S });
const pngs: string[] = [];
const models = new Map<Task, RunModel>();
const sessions = new Map<string, ort.InferenceSession>();
const readJson = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

before(async () => {
  manualSeed(5);
  const small = { preset: 'tiny' as const, workers: 0, logEvery: 1000, saveEvery: 1000, batchSize: 8, microBatch: 8 };
  const DATA = 'shapes:train?n=128&seed=3&size=32';
  // enough steps for captions of several tokens (the decoding loop runs many steps); at lr 3e-3 the fast
  // recipe's init collapses to one word here (README, Recipes), the official one learns
  await finetuneCaption({ ...CAPTION_DEFAULTS, ...small, recipe: 'official', batchSize: 16, microBatch: 16, lr: 3e-3, warmup: 0.05, data: DATA, out: run('caption'), steps: 100, valData: null }, { quiet: true });
  await finetune({ ...finetuneDefaults('vqa'), ...small, data: `${DATA}&task=vqa`, valData: null, out: run('vqa'), steps: 3, lr: 1e-3 }, { quiet: true });
  await finetune({ ...finetuneDefaults('retrieval'), ...small, data: DATA, valData: null, out: run('retrieval'), steps: 2, negatives: 1, lr: 1e-3 }, { quiet: true });
  await finetune({ ...finetuneDefaults('nlvr2'), ...small, data: 'shapes:train?n=32&seed=3&size=32&task=nlvr2', valData: null, out: run('nlvr2'), steps: 2, lr: 1e-3 }, { quiet: true });
  await pretrain({ ...PRETRAIN_DEFAULTS, ...small, objective: 'flm', data: DATA, out: run('pretrain'), steps: 1, vocabSize: 420 }, { quiet: true });
  for (const t of TASKS) {
    await exportModel(run(t), { out: out(t), format: 'onnx' });
    models.set(t, await loadRunModel(run(t), { which: 'latest' }));
    const m = readJson<OnnxManifest>(join(out(t), 'manifest.json'));
    for (const [role, g] of Object.entries(m.graphs)) sessions.set(`${t}/${role}`, await ort.InferenceSession.create(join(out(t), g!.file)));
  }
  for (const i of [0, 1]) {
    const p = join(root, `scene${i}.png`);
    await sharp(Buffer.from(world.image(i)), { raw: { width: S, height: S, channels: 3 } }).png().toFile(p);
    pngs.push(p);
  }
});
after(() => {
  for (const m of models.values()) m.model.dispose();
  rmSync(root, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------ helpers
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same number of values');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
const f32 = (t: Tensor, dims: number[]): ort.Tensor => new ort.Tensor('float32', t.toTypedArray() as Float32Array, dims);
const i64 = (values: ArrayLike<number>, dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims);
const libtorch = <T>(fn: () => T): T => noGrad(() => tidy(fn));

/** Shapes-world images (normalised as the Node pipeline does) and random images: [n, 3, S, S]. */
async function images(n: number, first = 0): Promise<Tensor> {
  const px = await Promise.all(Array.from({ length: n }, (_, i) => loadImageTensor({ kind: 'raw', data: world.image(first + i), width: S, height: S, origin: 'shapes' }, { size: S })));
  const flat = new Float32Array(n * 3 * S * S);
  px.forEach((p, i) => flat.set(p, i * 3 * S * S));
  return F.cat([tensor(flat, { shape: [n, 3, S, S] }), randn([2, 3, S, S])], 0);
}

/** Texts as [B, L] ids and mask: shapes-world texts padded to L, plus random ids of random lengths. */
function textRows(m: RunModel, texts: readonly string[], random: number): { ids: number[]; mask: number[]; B: number; L: number } {
  const e = m.tokenizer.encodeBatch(texts);
  const L = e.shape[1];
  const ids = Array.from(e.ids);
  const mask = Array.from(e.attentionMask);
  const V = m.config.vocab_size;
  const sp = m.tokenizer.specialIds;
  for (let r = 0; r < random; r++) {
    const n = 2 + ((r * 5) % (L - 1)); // 2 (only <s> </s>) .. L real tokens
    const row = Array.from({ length: L }, (_, j) => (j === 0 ? sp.cls : j === n - 1 ? sp.sep : j < n ? 4 + ((j * 7919 + r * 104729) % (V - 4)) : sp.pad));
    ids.push(...row);
    mask.push(...row.map((_, j) => (j < n ? 1 : 0)));
  }
  return { ids, mask, B: texts.length + random, L };
}

/** libtorch's image_encoder output for images, as an onnxruntime input. */
function torchEmbeds(model: FLMModel, image: Tensor): ort.Tensor {
  return libtorch(() => f32(model.cross_modal_image_transform.forward(model.vit_model.forward(image)), [image.shape[0]!, 17, model.config.hidden_size]));
}

/**
 * Max |onnx - libtorch| of each graph of a task model: the encoder on images; the text graph on
 * libtorch's image embeds (so each graph is checked on its own) with shapes-world texts and random ids.
 * `spread`: the outputs must also differ between images (the image path matters) by far more than 1e-4.
 */
async function graphDiffs(t: Task, model: FLMModel, m: RunModel, session: (role: string) => ort.InferenceSession, spread = false): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const run = async (role: string, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> => {
    const s = session(role);
    return (await s.run(feeds))[s.outputNames[0]!]!;
  };
  const check = (what: string, got: ort.Tensor, want: Float32Array, rowSize: number): void => {
    out[what] = maxAbsDiff(got.data as Float32Array, want);
    if (spread) {
      const rows = want.length / rowSize;
      const d = maxAbsDiff(want.subarray(0, rowSize), want.subarray(rowSize, 2 * rowSize));
      assert.ok(rows >= 2 && d > 1e-2, `${t} ${what}: the first two rows differ by ${d} only`);
    }
  };
  const image = await images(3); // [5, 3, S, S]
  const B = image.shape[0]!;
  const H = model.config.hidden_size;
  const N = 17;
  const enc = await run('image_encoder', { image: f32(image, image.shape) });
  assert.deepEqual(enc.dims, [B, N, H]);
  const e = torchEmbeds(model, image);
  check('image_encoder', enc, e.data as Float32Array, N * H);
  if (t === 'caption') {
    const ct = m.state.captionTokens as CaptionTokens;
    const V = model.config.vocab_size;
    const sp = m.tokenizer.specialIds;
    const ref = (ids: ArrayLike<number>, mask: ArrayLike<number>, T: number): Float32Array => libtorch(() => {
      const idt = tensor(Int32Array.from(ids), { shape: [B, T], dtype: 'int64' });
      const add = toAdditive(forwardMask(tensor(Int32Array.from(mask), { shape: [B, T], dtype: 'int64' })));
      return forwardHead(model).forward(forwardStream(model, captionImageTokens(model, image), idt, add)).toTypedArray() as Float32Array;
    });
    const empty = (n: number): Record<string, ort.Tensor> => Object.fromEntries(captionCacheSlots(model).flatMap((sl, i) => ['key', 'value'].map((kv) => [`past_${kv}_${i}`, new ort.Tensor('float32', new Float32Array(0), [n, sl.heads, 0, sl.headDim])])));
    // decoding: <s> <bos> and generated tokens, all real, at every prefix length the decoder feeds
    const L = model.config.max_text_len;
    const all = Array.from({ length: B * L }, (_, k) => (k % L === 0 ? sp.cls : k % L === 1 ? ct.bos : 4 + ((k * 31) % (V - 4))));
    const prefix = (T: number): number[] => all.filter((_, k) => k % L < T);
    for (const T of [2, 3, 7, L]) {
      const ids = prefix(T);
      const ones = ids.map(() => 1);
      const got = await run('caption_step', { image_embeds: e, input_ids: i64(ids, [B, T]), attention_mask: i64(ones, [B, T]), ...empty(B) });
      assert.deepEqual(got.dims, [B, T, V]);
      check(`caption_step T=${T}`, got, ref(ids, ones, T), T * V);
    }
    // decoding with the key/value cache: <s> <bos> first, then one token a step with the presents of the
    // step before; each step's last row against libtorch's full forward of the same prefix
    {
      const s = session('caption_step');
      let past = empty(B);
      const diffs: number[] = [];
      for (let T = 2; T <= L; T++) {
        const ids = prefix(T);
        const r = await s.run({ image_embeds: e, input_ids: i64(ids, [B, T]), attention_mask: i64(ids.map(() => 1), [B, T]), ...past });
        const rows = T === 2 ? 2 : 1;
        assert.deepEqual(r.logits!.dims, [B, rows, V]);
        assert.deepEqual(r.present_key_0!.dims.slice(2, 3), [T]);
        const want = ref(ids, ids.map(() => 1), T);
        const lastGot = Array.from({ length: B }, (_, b) => Array.from((r.logits!.data as Float32Array).subarray((b * rows + rows - 1) * V, (b * rows + rows) * V))).flat();
        const lastWant = Array.from({ length: B }, (_, b) => Array.from(want.subarray((b * T + T - 1) * V, (b * T + T) * V))).flat();
        diffs.push(maxAbsDiff(lastGot, lastWant));
        past = Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith('present_')).map(([k, v]) => [k.replace('present_', 'past_'), v]));
      }
      out['caption_step cached'] = Math.max(...diffs);
    }
    // scoring: padded captions (the attention mask matters)
    const texts = Array.from({ length: B }, (_, i) => world.captions(i % 4)[0]!);
    const c = encodeCaptions(m.tokenizer, ct, texts, model.config.max_text_len);
    const got = await run('caption_step', { image_embeds: e, input_ids: i64(c.ids, c.shape), attention_mask: i64(c.mask, c.shape), ...empty(B) });
    check('caption_step padded', got, ref(c.ids, c.mask, c.shape[1]), c.shape[1] * V);
    image.dispose();
    return out;
  }
  const texts = t === 'vqa' ? [0, 1, 2].map((i) => world.vqa(i)[0]!.question) : [0, 1, 2].map((i) => world.captions(i)[0]!);
  const rows = textRows(m, texts, B - texts.length); // B rows: 3 shapes-world texts and random ids of random lengths
  const ids = tensor(Int32Array.from(rows.ids), { shape: [rows.B, rows.L], dtype: 'int64' });
  const mask = tensor(Int32Array.from(rows.mask), { shape: [rows.B, rows.L], dtype: 'int64' });
  const feeds: Record<string, ort.Tensor> = { input_ids: i64(rows.ids, [rows.B, rows.L]), attention_mask: i64(rows.mask, [rows.B, rows.L]) };
  const image2 = await images(3, 3);
  let want: Float32Array;
  if (t === 'nlvr2') {
    feeds.image_embeds_0 = e;
    feeds.image_embeds_1 = torchEmbeds(model, image2);
    want = libtorch(() => model.nlvr2_classifier!.forward(F.cat([clsFeatures(model, image, ids, mask, 1), clsFeatures(model, image2, ids, mask, 2)], -1)).toTypedArray() as Float32Array);
  } else {
    feeds.image_embeds = e;
    want = libtorch(() => (t === 'vqa'
      ? model.vqa_classifier!.forward(clsFeatures(model, image, ids, mask))
      : model.rank_output!.forward(clsFeatures(model, image, ids, mask)).select(1, 0)).toTypedArray() as Float32Array);
  }
  const role = t === 'retrieval' ? 'rank' : t;
  const got = await run(role, feeds);
  assert.equal(got.dims[0], rows.B);
  check(role, got, want, want.length / rows.B);
  for (const x of [image, image2, ids, mask]) x.dispose();
  return out;
}

// ------------------------------------------------------------------------------------------ tests
describe('flm export --format onnx', () => {
  it('writes the graphs of the task, tokenizer.json, manifest.json and README.md', () => {
    const expected: Record<Task, string[]> = {
      caption: ['image_encoder', 'caption_step'], vqa: ['image_encoder', 'vqa'], retrieval: ['image_encoder', 'rank'], nlvr2: ['image_encoder', 'nlvr2'],
    };
    for (const t of TASKS) {
      const m = readJson<OnnxManifest>(join(out(t), 'manifest.json'));
      const run = models.get(t)!;
      assert.equal(m.task, t);
      assert.equal(m.opset, OPSET);
      assert.deepEqual(Object.keys(m.graphs), expected[t]);
      for (const g of Object.values(m.graphs)) {
        assert.equal(statSync(join(out(t), g!.file)).size, g!.bytes, `${t}: ${g!.file} size`);
        const model = decodeModel(readFileSync(join(out(t), g!.file)));
        assert.deepEqual(model.opset_import.map((o) => [o.domain ?? '', o.version]), [['', OPSET]]);
        assert.equal(model.ir_version, 8);
        assert.deepEqual(model.graph.input.map((i) => i.name), g!.inputs.map((i) => i.name));
        assert.deepEqual(model.graph.output.map((i) => i.name), g!.outputs.map((i) => i.name));
        // the dynamic axes are named, the fixed ones are sizes
        const ids = g!.inputs.find((i) => i.name === 'input_ids');
        if (ids) assert.deepEqual(ids.shape, ['batch', 'sequence']);
      }
      assert.deepEqual(readFileSync(join(out(t), 'tokenizer.json')), readFileSync(run.tokenizerPath));
      assert.equal(m.image.size, S);
      assert.equal(m.tokenizer.maxLength, run.config.max_text_len);
      assert.deepEqual(m.tokenizer.specialIds, { ...run.tokenizer.specialIds, unk: run.tokenizer.specialIds.unk ?? null });
      assert.match(readFileSync(join(out(t), 'README.md'), 'utf8'), new RegExp(`flm ${t} model, ONNX`));
    }
    const cap = readJson<OnnxManifest>(join(out('caption'), 'manifest.json'));
    const ct = models.get('caption')!.state.captionTokens as CaptionTokens;
    assert.deepEqual(cap.caption, { prompt: [models.get('caption')!.tokenizer.specialIds.cls, ct.bos], bos: ct.bos, eos: ct.eos, stop: [...new Set([ct.eos, models.get('caption')!.tokenizer.specialIds.sep])], maxSteps: 30 });
    assert.deepEqual(readJson<OnnxManifest>(join(out('vqa'), 'manifest.json')).vqa?.answers, models.get('vqa')!.state.answers);
  });

  it('the ONNX checker of python3-onnx accepts every graph (full check, with shape inference)', (t) => {
    const files = TASKS.flatMap((task) => Object.values(readJson<OnnxManifest>(join(out(task), 'manifest.json')).graphs).map((g) => join(out(task), g!.file)));
    const script = 'import sys, onnx\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint("ok", len(sys.argv) - 1)';
    for (const exe of ['/usr/bin/python3', 'python3']) {
      const probe = spawnSync(exe, ['-c', 'import onnx'], { encoding: 'utf8' });
      if (probe.status !== 0) continue;
      const r = spawnSync(exe, ['-c', script, ...files], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `ok ${files.length}`);
      return;
    }
    t.skip('python3-onnx is not installed (apt-get install python3-onnx)');
  });

  it('every graph matches libtorch within 1e-4 (shapes-world images and texts, random images and ids)', async () => {
    for (const t of TASKS) {
      const m = models.get(t)!;
      const diffs = await graphDiffs(t, m.model as FLMModel, m, (role) => sessions.get(`${t}/${role}`)!);
      for (const [what, d] of Object.entries(diffs)) assert.ok(d < TOL, `${t} ${what}: ${d}`);
    }
  });

  /** graphDiffs of a fresh model of `config` with large random weights, exported on its own. */
  async function randomWeightDiffs(t: Task, m: RunModel, config: FLMConfig): Promise<Record<string, number>> {
    const model = tidy(() => new FLMModel(config));
    try {
      model.eval();
      noGrad(() => {
        for (const [name, p] of model.namedParameters()) tidy(() => p.copy_(name.endsWith('LayerNorm.weight') || /ln_\w+\.weight$|\.1\.weight$/.test(name) ? randn(p.shape).mul(0.3).add(1) : randn(p.shape).mul(0.3)));
      });
      const own = new Map<string, ort.InferenceSession>();
      for (const g of taskGraphs(model, t)) own.set(g.name, await ort.InferenceSession.create(encodeModel(g.toModel({ producerVersion: 'test' }))));
      const diffs = await graphDiffs(t, model, m, (role) => own.get(role)!, true);
      for (const s of own.values()) await s.release();
      return diffs;
    } finally {
      model.dispose();
    }
  }

  it('... and on models with large random weights, where every path (image tokens, masks, all three streams) moves the outputs', async () => {
    for (const t of TASKS) {
      const m = models.get(t)!;
      const diffs = await randomWeightDiffs(t, m, m.config);
      for (const [what, d] of Object.entries(diffs)) assert.ok(d < TOL, `${t} ${what}: ${d}`);
    }
  });

  it('... and with a convolutional stem in the image tower (vit_arch.conv_stem)', async () => {
    const m = models.get('caption')!;
    const diffs = await randomWeightDiffs('caption', m, { ...m.config, vit_arch: { ...m.config.vit_arch, conv_stem: [4, 8] } });
    for (const [what, d] of Object.entries(diffs)) assert.ok(d < TOL, `caption with a conv stem, ${what}: ${d}`);
  });
});

describe('the exported model in the browser library (onnxruntime-web, WASM, in Node)', () => {
  const web = new Map<Task, WebModel>();
  const reader = (dir: string) => async (f: string) => new Uint8Array(await readFile(join(dir, f)));
  before(async () => {
    for (const t of TASKS) web.set(t, await loadWebModel(out(t), { read: reader(out(t)) }));
  });
  after(async () => {
    for (const w of web.values()) await w.release();
  });

  it('greedy captions are token-identical to `flm caption` and loadModel().caption()', async () => {
    const cap = await loadModel(run('caption'), { which: 'latest' });
    try {
      const cli = spawnSync(process.execPath, [BIN, 'caption', '--checkpoint', run('caption'), ...pngs, '--json'], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(cli.status, 0, cli.stderr);
      const fromCli = (JSON.parse(cli.stdout) as { captions: Array<{ caption: string }> }).captions.map((c) => c.caption);
      const steps: number[] = [];
      for (let i = 0; i < 8; i++) {
        const want = await cap.caption(rgb(i));
        const got = await web.get('caption')!.caption(rgb(i));
        assert.equal(got.caption, want.caption, `image ${i}`);
        assert.equal(got.stopped, want.stopped, `image ${i}: stopped`);
        if (i < pngs.length) assert.equal(got.caption, fromCli[i], `image ${i}: flm caption`);
        steps.push(got.ids.length);
      }
      assert.ok(Math.max(...steps) >= 3, `captions of several tokens (${steps})`);
    } finally {
      cap.dispose();
    }
  });

  it('answer(), rank() and judge() give loadModel\'s answers, scores and verdicts', async () => {
    const vqa = await loadModel(run('vqa'), { which: 'latest' });
    const ret = await loadModel(run('retrieval'), { which: 'latest' });
    const cap = await loadModel(run('caption'), { which: 'latest' });
    const nlvr2 = await loadModel(run('nlvr2'), { which: 'latest' });
    try {
      for (const i of [0, 1, 2]) {
        const q = world.vqa(i)[0]!.question;
        const want = await vqa.answer(rgb(i), q, { top: 5 });
        const got = await web.get('vqa')!.answer(rgb(i), q, { top: 5 });
        assert.deepEqual(got.top.map((a) => a.answer), want.top.map((a) => a.answer));
        assert.ok(maxAbsDiff(got.top.map((a) => a.score), want.top.map((a) => a.score)) < TOL);
      }
      const texts = [world.captions(0)[0]!, world.captions(1)[0]!, 'two blue squares'];
      for (const [name, m] of [['retrieval', ret], ['caption', cap]] as const) {
        const want = (await m.score([rgb(0)], texts)).scores[0]!;
        const got = (await web.get(name)!.rank(rgb(0), texts)).sort((a, b) => a.index - b.index).map((r) => r.score);
        assert.ok(maxAbsDiff(got, want) < TOL, `${name}: ${got} vs ${want}`);
      }
      const j = await nlvr2.judge([rgb(0), rgb(1)], 'there is a circle');
      const wj = await web.get('nlvr2')!.judge([rgb(0), rgb(1)], 'there is a circle');
      assert.equal(wj.label, j.label);
      assert.ok(Math.abs(wj.probability - j.probability) < TOL);
      await assert.rejects(web.get('vqa')!.caption(rgb(0)), /caption\(\) needs a caption model; this export is a vqa model/);
    } finally {
      for (const m of [vqa, ret, cap, nlvr2]) m.dispose();
    }
  });

  it('the page preprocessing of an S x S image is bit-identical to the Node pipeline; resized images stay close', async () => {
    const m = web.get('caption')!.manifest;
    for (const i of [0, 1]) {
      const node = await loadImageTensor({ kind: 'raw', data: world.image(i), width: S, height: S, origin: 'x' }, { size: S });
      assert.deepEqual(preprocessImage(rgb(i), { ...m.image }), node);
      // RGBA (ImageData) with an opaque alpha gives the same input
      const rgba = new Uint8ClampedArray(S * S * 4);
      for (let p = 0; p < S * S; p++) rgba.set([...world.image(i).subarray(p * 3, p * 3 + 3), 255], p * 4);
      assert.deepEqual(preprocessImage({ data: rgba, width: S, height: S }, { ...m.image }), node);
    }
    const big = new ShapesWorld({ seed: 11, n: 2, imageSize: 80 });
    const wide = { data: Uint8Array.from(big.image(0)), width: 80, height: 80 };
    const node = await loadImageTensor({ kind: 'raw', data: wide.data, width: 80, height: 80, origin: 'x' }, { size: S });
    const page = preprocessImage(wide, { ...m.image });
    const meanDiff = page.reduce((a, v, k) => a + Math.abs(v - node[k]!), 0) / page.length;
    assert.ok(meanDiff < 0.05, `resized: mean difference ${meanDiff} (normalised units; 1/255 level is ~0.015)`);
  });
});

describe('what the ONNX export refuses, naming why', () => {
  it('a pretraining model: no task head; nothing is written', async () => {
    const dest = join(root, 'onnx', 'pre');
    await assert.rejects(exportModel(run('pretrain'), { out: dest, format: 'onnx' }), (e: Error) => e instanceof OnnxExportError && /pretrain model: a pretraining model has no task head.*fine-tune it first/.test(e.message));
    assert.ok(!existsSync(dest));
  });

  it('--web-demo without --format onnx', async () => {
    await assert.rejects(exportModel(run('caption'), { out: join(root, 'x'), webDemo: true }), (e: Error) => e instanceof ExportError && /web demo runs an ONNX export: add --format onnx/.test(e.message));
  });

  it('a retrieval model scored by its FLM loss (--scorer loss): the message says how to get an exportable one', () => {
    const c = models.get('caption')!.config;
    const m = tidy(() => new FLMModel({ ...c, loss_names: { ...c.loss_names, flm: 1, irtr: 0, itm: 0 } })); // FLM LM heads, no rank head: what --scorer loss leaves
    try {
      assert.ok(m.lm_score_r && !m.rank_output);
      assert.throws(() => taskGraphs(m, 'retrieval'), (e: Error) => e instanceof OnnxExportError && /--scorer loss.*fine-tune with --scorer rank/.test(e.message));
    } finally {
      m.dispose();
    }
  });

  it('a module class the exporter does not know', () => {
    class Gate extends Module {}
    class GatedFLM extends FLMModel {
      constructor(c: FLMConfig) {
        super(c);
        this.child('gate', new Gate());
      }
    }
    const m = tidy(() => new GatedFLM(models.get('caption')!.config));
    try {
      assert.throws(() => checkExportable(m), (e: Error) => e instanceof OnnxExportError && /does not know these modules: \(the model\) \(GatedFLM\), gate \(Gate\)/.test(e.message));
      assert.doesNotThrow(() => checkExportable(models.get('caption')!.model));
    } finally {
      m.dispose();
    }
  });

  it('the CLI: --format onnx on a pretraining run exits non-zero with the message', () => {
    const r = spawnSync(process.execPath, [BIN, 'export', run('pretrain'), '--format', 'onnx', '--out', join(root, 'cli-pre')], { encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /a pretraining model has no task head/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'a message, not a stack trace');
  });
});
