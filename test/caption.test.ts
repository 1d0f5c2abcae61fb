// Captioning (spec D.11, F) and the one-command inference CLI, on the tiny preset: caption tokens and
// vocabulary growth, the forward-stream decoder against the official full-recompute decoder, beam
// search, fine-tuning (overfit a batch; a pretrain -> fine-tune -> eval -> `flm caption` round trip),
// and the errors of the inference commands.
import { settledTensorCount } from './tensor-helpers.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { type Tensor, manualSeed, memory, noGrad, tensor, tidy } from '../src/tensor/index.js';
import { FLMModel, PRESETS, type SingleStreamModel } from '../src/models/index.js';
import { flmMasks, forwardMask, fusionIds, oneStreamMask, toAdditive } from '../src/objectives/index.js';
import { AdamW } from '../src/optim/index.js';
import { trainTokenizer } from '../src/data/tokenizer-train.js';
import { TextTokenizer } from '../src/data/tokenizer.js';
import { normalizeClip } from '../src/data/image.js';
import { ShapesWorld } from '../src/data/shapes/index.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { objectiveConfig } from '../src/tasks/pretrain/objective-step.js';
import { PRETRAIN_DEFAULTS, pretrain } from '../src/tasks/pretrain/recipe.js';
import { addCaptionTokens, encodeCaptions, existingCaptionTokens, type CaptionTokens } from '../src/tasks/caption/tokens.js';
import { growVocab } from '../src/tasks/caption/vocab.js';
import { beamDecode, captionImageTokens, forwardStream, greedyDecode, type DecodeTokens, type Generation } from '../src/tasks/caption/decode.js';
import { CAPTION_DEFAULTS, captionModelConfig, captionStep, finetuneCaption, initCaptionModel, type CaptionFinetuneResult } from '../src/tasks/caption/recipe.js';
import { loadRunModel } from '../src/tasks/common/inference-model.js';
import { scoreCaptions } from '../src/tasks/caption/eval.js';
import { cli } from './cli-helpers.js';

const S = 32; // tiny preset image size
const world = new ShapesWorld({ seed: 5, n: 16, imageSize: S });
const captions = Array.from({ length: 16 }, (_, i) => world.captions(i)).flat();

async function tinyTokenizer(): Promise<{ tokenizer: TextTokenizer; tokens: CaptionTokens; json: Record<string, unknown> }> {
  const json = await trainTokenizer(captions, { kind: 'bpe', vocabSize: 420 });
  return addCaptionTokens(json, 20);
}

function tinyCaptionModel(vocab: number): FLMModel {
  const spec = { ...PRESETS.tiny, max_text_len: 20 };
  return new FLMModel(captionModelConfig(objectiveConfig('flm', spec, vocab), vocab, null));
}

function shapesImages(indices: number[]): Tensor {
  const plane = 3 * S * S;
  const flat = new Float32Array(indices.length * plane);
  indices.forEach((i, k) => flat.set(normalizeClip(world.image(i), S), k * plane));
  return tensor(flat, { shape: [indices.length, 3, S, S] });
}


function wellFormed(gens: Generation[], steps: number, stop: readonly number[]): void {
  for (const g of gens) {
    assert.ok(g.ids.length <= steps, `at most ${steps} tokens, got ${g.ids.length}`);
    assert.ok(g.ids.every((t) => Number.isInteger(t) && !stop.includes(t)), 'no stop token inside a caption');
    if (!g.stopped) assert.equal(g.ids.length, steps, 'a caption not ended by a stop token runs to the length limit');
    else assert.ok(g.ids.length < steps);
  }
}

describe('caption tokens and vocabulary growth (D.11, B.11)', () => {
  it('adds <bos>/<eos> after the vocabulary and splices them around the caption', async () => {
    const json = await trainTokenizer(captions, { kind: 'bpe', vocabSize: 420 });
    const V = new TextTokenizer(json).vocabSize;
    const { tokenizer, tokens, json: grown } = addCaptionTokens(json, 20);
    assert.deepEqual(tokens, { mode: 'added', bos: V, eos: V + 1 });
    assert.equal(tokenizer.vocabSize, V + 2);
    assert.equal(addCaptionTokens(grown, 20).json, grown, 'adding twice is a no-op');
    const { cls, sep, pad } = tokenizer.specialIds;
    const e = encodeCaptions(tokenizer, tokens, ['a red star.', captions[0]!.repeat(4)], 12);
    const row0 = Array.from(e.ids.slice(0, 12));
    const words = tokenizer.tokenize('a red star.').map((t) => tokenizer.tokenToId(t)!);
    assert.deepEqual(row0, [cls, V, ...words, V + 1, sep, ...Array(12 - words.length - 4).fill(pad)]);
    assert.equal(tokenizer.decode(row0.slice(2, 2 + words.length)), 'a red star.');
    const row1 = Array.from(e.ids.slice(12, 24));
    assert.deepEqual([row1[0], row1[1], row1[10], row1[11]], [cls, V, V + 1, sep], 'truncation keeps <eos> </s>');
    assert.equal(e.mask.slice(12).reduce((a, b) => a + b, 0), 12);
    const ex = existingCaptionTokens(tokenizer);
    assert.deepEqual([ex.bos, ex.eos], [cls, sep]);
  });

  it('grows embedding and LM-head rows with N(0, 0.02), aliases alike', () => {
    manualSeed(1);
    const model = new FLMModel(objectiveConfig('flm', 'tiny', 64));
    const sd = model.stateDict();
    const { tensors, grown } = growVocab(sd, 64, 74);
    assert.ok(grown.includes('text_transformer.embeddings.word_embeddings.weight'));
    assert.ok(grown.includes('fusion_token_embedding.word_embeddings.weight'));
    assert.ok(grown.includes('lm_score_r.decoder.weight') && grown.includes('lm_score.bias'));
    const emb = tensors.get('text_transformer.embeddings.word_embeddings.weight')!;
    assert.deepEqual(emb.shape, [74, 32]);
    // (tidy: a tensor left to the garbage collector is freed at a random later time, which a later test's
    // memory() count would see)
    assert.ok(tidy(() => emb.narrow(0, 0, 64).equal(sd.get('text_transformer.embeddings.word_embeddings.weight')!)));
    assert.ok(emb.equal(tensors.get('text_transformer2.embeddings.word_embeddings.weight')!));
    assert.ok(tensors.get('lm_score.decoder.weight')!.equal(tensors.get('lm_score_f.decoder.weight')!));
    const std = tidy(() => emb.narrow(0, 64, 10).std().item());
    assert.ok(std > 0.01 && std < 0.03, `new rows std ${std}`);
    const bias = tensors.get('lm_score.bias')!;
    assert.ok(tidy(() => bias.narrow(0, 64, 10).abs().sum().item()) > 0, 'new bias rows are drawn too');
    for (const k of grown) tensors.get(k)!.dispose();
    model.dispose();
  });
});

describe('caption decoding (D.11)', () => {
  let tok: TextTokenizer;
  let tokens: CaptionTokens;
  let model: FLMModel;
  let images: Tensor;
  let dec: DecodeTokens;
  before(async () => {
    manualSeed(3);
    ({ tokenizer: tok, tokens } = await tinyTokenizer());
    model = tinyCaptionModel(tok.vocabSize);
    model.eval();
    images = shapesImages([0, 1, 2, 3, 4]);
    dec = { cls: tok.specialIds.cls, bos: tokens.bos, stop: [tokens.eos, tok.specialIds.sep] };
  });
  after(() => {
    model.dispose();
    images.dispose();
  });

  it('the forward stream alone equals text_feats1 of the three-stream forward', () => {
    noGrad(() => tidy(() => {
      const e = encodeCaptions(tok, tokens, captions.slice(0, 5), 20);
      const ids = tensor(e.ids, { shape: e.shape, dtype: 'int64' });
      const masks = tensor(e.mask, { shape: e.shape, dtype: 'int64' });
      const three = () => model.forward({ image: images, textIds: ids, textMasks: masks, fusionIds: fusionIds(ids, masks, tok.specialIds.mask), masks: flmMasks(masks) }, { lmLogits: false });
      const fwd = forwardStream(model, captionImageTokens(model, images), ids, toAdditive(forwardMask(masks)));
      // exactly, against the official stream order; the batched streams (the default) run 2B rows
      // through each matrix product, which rounds differently (BLAS blocking depends on the row count)
      model.batchStreams = false;
      assert.ok(fwd.equal(three().top.fwd));
      model.batchStreams = true;
      assert.ok(fwd.allclose(three().top.fwd, 1e-5, 1e-5));
    }));
  });

  it('greedy decoding equals the official decoder (full three-stream recompute per step)', () => {
    // D.11 steps 1-4 literally: [<s>, <bos>], recompute everything, argmax lm_score(text_feats1)[:, -1];
    // fusion ids mask*<mask> with column 0 = <s>; a stopped row's appended mask entries are 0.
    const steps = 6;
    const B = images.shape[0]!;
    const rows = Array.from({ length: B }, () => [dec.cls, dec.bos]);
    const live = rows.map((r) => r.map(() => 1));
    const official: Generation[] = rows.map(() => ({ ids: [], stopped: false }));
    for (let s = 0; s < steps; s++) {
      const next = noGrad(() => tidy(() => {
        const T = rows[0]!.length;
        const ids = tensor(rows, { dtype: 'int64' });
        const masks = tensor(live, { dtype: 'int64' });
        const fus = masks.mul(tok.specialIds.mask).where(tensor(Array.from({ length: T }, (_, j) => j > 0)), ids);
        const out = model.forward({ image: images, textIds: ids, textMasks: masks, fusionIds: fus, masks: flmMasks(masks) }, { lmLogits: false });
        return model.lm_score!.forward(out.top.fwd.select(1, T - 1)).argmax(-1).toFlatArray();
      }));
      rows.forEach((r, b) => {
        const done = official[b]!.stopped;
        if (!done && dec.stop.includes(next[b]!)) official[b]!.stopped = true;
        else if (!done) official[b]!.ids.push(next[b]!);
        r.push(done || official[b]!.stopped ? tok.specialIds.pad : next[b]!);
        live[b]!.push(done || official[b]!.stopped ? 0 : 1);
      });
    }
    assert.deepEqual(greedyDecode(model, images, dec, { maxSteps: steps }), official);
  });

  it('greedy and beam search give well-formed sequences; beam 1 equals greedy', () => {
    const before0 = settledTensorCount();
    const greedy = greedyDecode(model, images, dec, { maxSteps: 8 });
    wellFormed(greedy, 8, dec.stop);
    assert.deepEqual(beamDecode(model, images, dec, { maxSteps: 8, beam: 1 }), greedy);
    const beam = beamDecode(model, images, dec, { maxSteps: 8, beam: 3, lengthPenalty: 0.7 });
    assert.equal(beam.length, 5);
    wellFormed(beam, 8, dec.stop);
    assert.equal(memory().numTensors, before0, 'decoding frees its tensors');
    // the length limit is capped by the model's text length: <s> <bos> + (steps - 1) tokens <= 20
    for (const g of tidy(() => greedyDecode(model, images.narrow(0, 0, 1), dec, { maxSteps: 50 }))) assert.ok(g.ids.length <= 19);
  });

  it('rows stop at <eos> or </s>, in greedy and beam search', () => {
    const bias = model.lm_score!.bias;
    noGrad(() => {
      for (const stop of [tokens.eos, tok.specialIds.sep]) {
        const saved = bias.clone();
        bias.copy_(bias.add(tensor(Array.from({ length: tok.vocabSize }, (_, i) => (i === stop ? 100 : 0)))));
        for (const gens of [greedyDecode(model, images, dec), beamDecode(model, images, dec, { beam: 2 })]) {
          assert.deepEqual(gens, gens.map(() => ({ ids: [], stopped: true })));
        }
        bias.copy_(saved);
        saved.dispose();
      }
    });
  });
});

describe('caption fine-tuning', () => {
  it('overfits a fixed batch on the forward stream; --compat official trains the reconstructor', async () => {
    manualSeed(4);
    const { tokenizer: tok, tokens } = await tinyTokenizer();
    const idx = [0, 1, 2, 3];
    const e = encodeCaptions(tok, tokens, idx.map((i) => world.captions(i)[0]!), 20);
    const batch = { image: shapesImages(idx), textIds: tensor(e.ids, { shape: e.shape, dtype: 'int64' }), textMasks: tensor(e.mask, { shape: e.shape, dtype: 'int64' }) };
    for (const compat of [null, 'official'] as const) {
      const model = tinyCaptionModel(tok.vocabSize);
      const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
      const losses: number[] = [];
      for (let s = 0; s < 30; s++) {
        opt.zeroGrad();
        losses.push(tidy(() => {
          const r = captionStep(model, batch, { compat, maskId: tok.specialIds.mask, padId: tok.specialIds.pad });
          r.loss.backward();
          return r.loss.item();
        }));
        if (s === 0) {
          const recGrad = model.fusion_layers_top.at(0).output.dense.weight.grad;
          assert.equal(recGrad !== null, compat === 'official', 'the reconstructor gets gradient only under the official loss');
          recGrad?.dispose();
        }
        opt.step();
      }
      assert.ok(losses[29]! < 0.7 * losses[0]!, `${compat ?? 'forward'} loss ${losses[0]} -> ${losses[29]}`);
      model.dispose();
      opt.dispose();
    }
  });
});

describe('scores (pycocoevalcap-exact BLEU / CIDEr-D)', () => {
  it('a reference as the caption scores near 1 BLEU-4; a wrong caption much lower', () => {
    const refs = Array.from({ length: 6 }, (_, i) => ({ key: String(i), references: world.captions(i) }));
    const good = scoreCaptions(refs.map((r) => ({ ...r, caption: r.references[0]! })));
    assert.ok(good.bleu4 > 0.99 && good.bleu4 <= 1, `BLEU-4 ${good.bleu4}`);
    assert.ok(good.cider > 1, `CIDEr ${good.cider}`);
    const bad = scoreCaptions(refs.map((r) => ({ ...r, caption: 'nothing to see here' })));
    assert.ok(bad.bleu4 < 0.01 && bad.cider < 0.1);
  });
});

describe('pretrain -> flm finetune caption -> flm eval caption -> flm caption', () => {
  const root = mkdtempSync(join(tmpdir(), 'flm-caption-'));
  const pre = join(root, 'pretrain');
  const cap = join(root, 'caption');
  const imgDir = join(root, 'images');
  const png = join(imgDir, 'scene.png');
  const data = 'shapes:train?n=24&seed=3&size=32';
  let result: CaptionFinetuneResult;
  before(async () => {
    manualSeed(7);
    await pretrain({ ...PRETRAIN_DEFAULTS, objective: 'flm', preset: 'tiny', data, out: pre, steps: 2, batchSize: 4, microBatch: 4, workers: 0, vocabSize: 420, logEvery: 1, saveEvery: 10 }, { quiet: true });
    result = await finetuneCaption({
      ...CAPTION_DEFAULTS, from: pre, data, out: cap, steps: 6, batchSize: 6, lr: 1e-3, workers: 0, logEvery: 2, saveEvery: 3, evalEvery: 3,
      valData: 'shapes:val?n=6&seed=3&size=32', beam: 2,
    }, { quiet: true });
    mkdirSync(imgDir);
    await sharp(Buffer.from(world.image(0)), { raw: { width: S, height: S, channels: 3 } }).png().toFile(png);
    await sharp(Buffer.from(world.image(1)), { raw: { width: S, height: S, channels: 3 } }).jpeg().toFile(join(imgDir, 'other.jpg'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('fine-tunes from the pretrained run with the vocabulary grown by <bos>/<eos>', () => {
    assert.equal(result.steps, 6);
    assert.ok(result.eval && result.eval.images === 6);
    const state = JSON.parse(readFileSync(join(cap, 'checkpoints', 'step-00000006', 'state.json'), 'utf8')) as { task: string; modelConfig: { vocab_size: number }; captionTokens: CaptionTokens };
    const preVocab = new TextTokenizer(JSON.parse(readFileSync(join(pre, 'tokenizer.json'), 'utf8'))).vocabSize;
    assert.equal(state.task, 'caption');
    assert.equal(state.modelConfig.vocab_size, preVocab + 2);
    assert.deepEqual(state.captionTokens, { mode: 'added', bos: preVocab, eos: preVocab + 1 });
    const w = loadSafetensors(join(cap, 'checkpoints', 'step-00000006', 'model.safetensors')).tensors;
    assert.deepEqual(w.get('lm_score.decoder.weight')!.shape, [preVocab + 2, 32]);
    assert.ok(!w.has('lm_score_r.bias'), 'the caption model has the AR head only');
    for (const t of w.values()) t.dispose();
  });

  it('val.svg draws BLEU-1..4, CIDEr-D, the semantic scores and object recall, a chart each', () => {
    const svg = readFileSync(join(cap, 'val.svg'), 'utf8');
    assert.deepEqual([...svg.matchAll(/font-size="15">([^<]+)</g)].map((m) => m[1]).sort(),
      ['bleu1', 'bleu2', 'bleu3', 'bleu4', 'cider', 'object_recall', 'semantic_accuracy', 'semantic_parsed']);
  });

  it('a one-stream AR pretraining run loads by name: its causal path is the forward stream (H.11)', async () => {
    const ar = join(root, 'ar');
    await pretrain({ ...PRETRAIN_DEFAULTS, objective: 'ar', preset: 'tiny', data, out: ar, steps: 2, batchSize: 4, microBatch: 4, workers: 0, vocabSize: 420, logEvery: 1, saveEvery: 10 }, { quiet: true });
    const src = await loadRunModel(ar);
    const init = await initCaptionModel({ ...CAPTION_DEFAULTS, from: ar, data, out: join(root, 'ar-caption') });
    assert.equal(init.modelConfig.vocab_size, src.config.vocab_size + 2);
    assert.ok(init.modelConfig.flm_backbone);
    init.model.eval();
    noGrad(() => tidy(() => {
      const t = src.tokenizer.encodeBatch(world.captions(0));
      const ids = tensor(t.ids, { shape: t.shape, dtype: 'int64' });
      const masks = tensor(t.attentionMask, { shape: t.shape, dtype: 'int64' });
      const image = shapesImages([0, 0, 0, 0, 0]);
      const oneStream = (src.model as SingleStreamModel).forward({ image, textIds: ids, textMask: oneStreamMask(masks, { causal: true }) }).textFeats;
      const fwd = forwardStream(init.model, captionImageTokens(init.model, image), ids, toAdditive(forwardMask(masks)));
      assert.ok(fwd.allclose(oneStream, 1e-4, 1e-5), `max diff ${fwd.sub(oneStream).abs().max().item()}`);
    }));
    src.model.dispose();
    init.model.dispose();
  });

  it('a run from scratch resumes exactly from a checkpoint', async () => {
    const base = { ...CAPTION_DEFAULTS, preset: 'tiny' as const, data, steps: 4, batchSize: 4, lr: 1e-3, workers: 0, logEvery: 1, saveEvery: 2, keepLast: 5, vocabSize: 400, seed: 1 };
    const full = await finetuneCaption({ ...base, out: join(root, 'full') }, { quiet: true });
    const part = join(root, 'part');
    cpSync(join(root, 'full'), part, { recursive: true });
    rmSync(join(part, 'checkpoints', 'step-00000004'), { recursive: true });
    writeFileSync(join(part, 'checkpoints', 'latest'), 'step-00000002\n');
    const resumed = await finetuneCaption({ ...base, out: part }, { quiet: true, resume: true });
    assert.equal(resumed.steps, 4);
    assert.equal(resumed.finalLoss, full.finalLoss);
    assert.deepEqual(readFileSync(join(part, 'metrics.jsonl'), 'utf8').split('\n').map((l) => l.replace(/"(elapsed_s|tokens_per_s|images_per_s)":[\d.]+/g, '')),
      readFileSync(join(root, 'full', 'metrics.jsonl'), 'utf8').split('\n').map((l) => l.replace(/"(elapsed_s|tokens_per_s|images_per_s)":[\d.]+/g, '')));
  });

  it('flm eval caption: BLEU and CIDEr-D in range, semantic accuracy on shapes', async () => {
    const r = await cli('eval', 'caption', '--checkpoint', cap, '--data', 'shapes:test?n=5&seed=3&size=32', '--json');
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { command: string; metrics: Record<string, number>; images: number; bleu: number[]; bleu4: number; cider: number; semantic: { accuracy: number; parsed: number } };
    assert.equal(s.command, 'eval caption');
    assert.equal(s.metrics.cider, s.cider);
    assert.equal(s.images, 5);
    assert.equal(s.bleu.length, 4);
    for (const b of s.bleu) assert.ok(b >= 0 && b <= 1);
    assert.ok(s.cider >= 0 && s.cider <= 10);
    assert.ok(s.semantic.accuracy >= 0 && s.semantic.accuracy <= s.semantic.parsed && s.semantic.parsed <= 1);
  });

  it('flm caption prints a caption for a PNG (greedy and beam)', async () => {
    for (const beam of ['1', '3']) {
      const r = await cli('caption', png, '--checkpoint', cap, '--beam', beam);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.split('\n').length, 1);
      assert.ok(!/<bos>|<eos>|<s>|<\/s>/.test(r.out), `no special tokens in "${r.out}"`);
    }
    const two = await cli('caption', png, join(imgDir, 'other.jpg'), '--checkpoint', cap, '--json');
    assert.equal(two.code, 0, two.err);
    const lines = (JSON.parse(two.out) as { command: string; captions: { path: string; caption: string }[] }).captions;
    assert.deepEqual(lines.map((l) => l.path), [png, join(imgDir, 'other.jpg')]);
  });

  it('clear errors for missing and corrupt images and wrong checkpoints', async () => {
    const missing = await cli('caption', join(root, 'nope.png'), '--checkpoint', cap);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /image .*nope\.png does not exist/);
    const corrupt = join(root, 'corrupt.png');
    writeFileSync(corrupt, readFileSync(png).subarray(0, 40));
    const bad = await cli('caption', corrupt, '--checkpoint', cap);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /cannot decode image .*corrupt\.png/);
    writeFileSync(corrupt, 'not an image at all');
    assert.match((await cli('caption', corrupt, '--checkpoint', cap)).err, /cannot decode image/);
    assert.match((await cli('caption', png, '--checkpoint', pre)).err, /pretrain checkpoint, not a caption model.*flm finetune caption/);
    assert.match((await cli('caption', png, '--checkpoint', join(root, 'none'))).err, /checkpoint .*none does not exist/);
    assert.match((await cli('caption', png, '--checkpoint', imgDir)).err, /is not a checkpoint/);
    assert.match((await cli('vqa', png, 'what colour?', '--checkpoint', cap)).err, /without a VQA head/);
  });

  it('flm retrieve ranks a folder; flm embed writes image and text features', async () => {
    for (const ck of [cap, pre]) {
      const r = await cli('retrieve', '--images', imgDir, '--text', world.captions(0)[0]!, '--checkpoint', ck, '--json');
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { score: string; ranked: Array<{ path: string; score: number }> };
      assert.equal(j.score, ck === cap ? 'caption' : 'flm');
      assert.equal(j.ranked.length, 2);
      assert.ok(j.ranked[0]!.score >= j.ranked[1]!.score && Number.isFinite(j.ranked[1]!.score));
    }
    const imgOut = join(root, 'img.safetensors');
    assert.equal((await cli('embed', '--checkpoint', cap, '--images', imgDir, '--out', imgOut)).code, 0);
    const texts = join(root, 'texts.txt');
    writeFileSync(texts, 'a red star\n\nthree blue squares\n');
    const txtOut = join(root, 'txt.safetensors');
    assert.equal((await cli('embed', '--checkpoint', cap, '--texts', texts, '--out', txtOut)).code, 0);
    const a = loadSafetensors(imgOut);
    const b = loadSafetensors(txtOut);
    assert.deepEqual(a.tensors.get('features')!.shape, [2, 32]);
    assert.deepEqual(b.tensors.get('features')!.shape, [2, 32]);
    assert.deepEqual(JSON.parse(b.metadata.names!), ['a red star', 'three blue squares']);
    assert.match((await cli('embed', '--checkpoint', cap, '--out', txtOut)).err, /exactly one of --images/);
  });
});
