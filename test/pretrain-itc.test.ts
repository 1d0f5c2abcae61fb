// The image-text contrastive term beside FLM (`--itc-weight`): weight 0 is the objective unchanged;
// weight w adds w x InfoNCE over the batch's unimodal embeddings (recomputed here from the model's
// own layers), whose gradient reaches the image tower and the text layers; a pretraining run logs it;
// the held-out loss leaves it out; other objectives refuse it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLMModel } from '../src/models/index.js';
import { F, arange, manualSeed, noGrad, randint, randn, tidy, zeros, type Tensor } from '../src/tensor/index.js';
import { createObjectiveModel, objectiveConfig, objectiveStep, type TextImageBatch } from '../src/tasks/pretrain/objective-step.js';
import { pretrain, PRETRAIN_DEFAULTS, validatePretrainConfig, TrainConfigError } from '../src/tasks/pretrain/recipe.js';
import { heldOutLoss } from '../src/tasks/pretrain/held-out.js';
import { forwardMask, toAdditive } from '../src/objectives/index.js';
import { TextTokenizer } from '../src/data/tokenizer.js';

function batch(B: number, L: number, vocab: number): TextImageBatch {
  const lengths = Array.from({ length: B }, (_, b) => L - (b % 3));
  const ids = randint(4, vocab, [B, L], { dtype: 'int64' });
  const masks = zeros([B, L], { dtype: 'int64' });
  noGrad(() => {
    lengths.forEach((n, b) => {
      masks.select(0, b).narrow(0, 0, n).fill_(1);
      ids.select(0, b).narrow(0, n, L - n).fill_(1); // pad
      ids.select(0, b).select(0, 0).fill_(0); // <s>
      ids.select(0, b).select(0, n - 1).fill_(2); // </s>
    });
  });
  return { image: randn([B, 3, 32, 32]), textIds: ids, textMasks: masks, wordIds: arange(L, undefined, 1, { dtype: 'int64' }).unsqueeze(0).expand(B, L).contiguous() };
}

describe('pretraining with an image-text contrastive term', () => {
  for (const batchStreams of [true, false]) it(`adds weight x InfoNCE of the unimodal embeddings; weight 0 leaves the FLM loss as it was (${batchStreams ? 'streams batched' : 'one stream at a time'})`, () => {
    manualSeed(0);
    const model = createObjectiveModel('flm', objectiveConfig('flm', 'tiny')) as FLMModel;
    model.eval();
    model.batchStreams = batchStreams;
    const b = batch(4, 12, 64);
    tidy(() => {
      // the tiny preset corrupts spans at random: the same draws for every call
      manualSeed(5);
      const plain = objectiveStep(model, 'flm', b).loss.item();
      manualSeed(5);
      const zero = objectiveStep(model, 'flm', b, { itcWeight: 0 });
      assert.equal(zero.loss.item(), plain);
      assert.equal(zero.terms.itc, undefined);
      manualSeed(5);
      const withItc = objectiveStep(model, 'flm', b, { itcWeight: 0.5, itcTemperature: 0.1 });
      // the expected term, from the model's layers by hand
      const text = F.normalize(model.cross_modal_text_transform.forward(textStreamCls(model, b)), 2, -1);
      const image = F.normalize(model.cross_modal_image_transform.forward(model.vit_model.forward(b.image).select(1, 0)), 2, -1);
      const logits = image.matmul(text.transpose(0, 1)).div(0.1);
      const target = arange(4, undefined, 1, { dtype: 'int64' });
      const itc = (F.crossEntropy(logits, target).item() + F.crossEntropy(logits.transpose(0, 1), target).item()) / 2;
      assert.ok(Math.abs(withItc.terms.itc!.item() - itc) < 1e-4, `itc ${withItc.terms.itc!.item()} vs by hand ${itc}`);
      assert.ok(Math.abs(withItc.loss.item() - (plain + 0.5 * itc)) < 1e-4, `loss ${withItc.loss.item()} vs ${plain} + 0.5 x ${itc}`);
      assert.ok(withItc.metrics.itcI2tAccuracy !== undefined && withItc.metrics.itcT2iAccuracy !== undefined);
    });
    model.dispose();
  });

  it('sends the term\'s gradient to the image tower and the text layers', () => {
    manualSeed(1);
    const model = createObjectiveModel('flm', objectiveConfig('flm', 'tiny')) as FLMModel;
    const b = batch(4, 12, 64);
    const grads = (w: number): Map<string, Float32Array> => {
      model.zeroGrad();
      tidy(() => objectiveStep(model, 'flm', b, { itcWeight: w }).terms.itc!.backward());
      return new Map(model.namedParameters().filter(([, p]) => p.grad).map(([n, p]) => [n, (p.grad as Tensor).toTypedArray() as Float32Array]));
    };
    const g = grads(1);
    const norm = (n: string): number => Math.hypot(...(g.get(n) ?? new Float32Array(0)));
    assert.ok(norm('vit_model.visual.conv1.weight') > 0, 'image tower');
    assert.ok(norm('text_transformer.embeddings.word_embeddings.weight') > 0, 'text embeddings');
    assert.ok(norm('cross_modal_image_transform.weight') > 0 && norm('cross_modal_text_transform.weight') > 0, 'transforms');
    model.zeroGrad();
    model.dispose();
  });

  it('a run logs the term, the held-out loss leaves it out, and only flm takes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flm-itc-'));
    const c = {
      ...PRETRAIN_DEFAULTS, objective: 'flm' as const, preset: 'tiny' as const, data: 'shapes:train?n=32&seed=3',
      out: dir, steps: 2, batchSize: 4, logEvery: 1, saveEvery: 2, threads: 1, workers: 0, lr: 5e-4, warmup: 0, itcWeight: 1,
    };
    await pretrain(c, { quiet: true });
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const logged = rows.filter((r) => r.itc !== undefined);
    assert.equal(logged.length, 2);
    for (const r of logged) assert.ok(Math.abs(r.loss! - ((r.flm! + r.l2r! + r.r2l!) / 3 + r.itc!)) < 1e-3, JSON.stringify(r));
    // held-out: the same model and data score alike with and without the term
    const tok = await TextTokenizer.fromFile(join(dir, 'tokenizer.json'), { maxLength: 12 });
    manualSeed(2);
    const model = createObjectiveModel('flm', objectiveConfig('flm', 'tiny', tok.vocabSize));
    model.eval();
    const request = { spec: 'shapes:val?n=8&seed=3&size=32', batchSize: 4, limit: 0, workers: 0, pg: null };
    const withTerm = await heldOutLoss(model, 'flm', { itcWeight: 5 }, 0, tok, request);
    const without = await heldOutLoss(model, 'flm', {}, 0, tok, request);
    assert.ok(without.metrics.val_loss! > 0);
    assert.equal(withTerm.metrics.val_loss, without.metrics.val_loss);
    model.dispose();
    assert.throws(() => validatePretrainConfig({ ...c, objective: 'mlm' }), (e: unknown) => e instanceof TrainConfigError && /itcWeight \(1\) applies to the flm objective only, not mlm/.test(String(e)));
    assert.throws(() => validatePretrainConfig({ ...c, microBatch: 1 }), (e: unknown) => e instanceof TrainConfigError && /itcWeight \(1\) needs micro-batches of at least 2 examples/.test(String(e)));
    assert.doesNotThrow(() => validatePretrainConfig({ ...c, microBatch: 1, itcWeight: 0 }));
    rmSync(dir, { recursive: true, force: true });
  });
});

/** The l2r stream's first token after the text layers (row 0 of the forward mask sees the whole caption). */
function textStreamCls(model: FLMModel, b: TextImageBatch): Tensor {
  let x = model.text_transformer.embeddings.forward(b.textIds);
  const m = toAdditive(forwardMask(b.textMasks));
  for (const layer of model.text_transformer.layers) x = layer.forward(x, m);
  return x.select(1, 0);
}
