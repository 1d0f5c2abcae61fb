// The batched text streams of FLMModel (l2r and r2l as one batch of 2B captions, the default) against
// the official one-after-the-other order (batchStreams: false): same outputs and gradients on the tiny
// preset in eval mode, independent dropout for the two streams in train mode, and the pretraining
// loss, whose reconstructor and LM heads run only at the positions with a target, against flmLoss on
// full-length logits. Without dropout the streams compute each caption's real tokens and first pad only
// (packRows, the default): same outputs, losses and gradients as every padded row, fully blocked
// reconstructor rows included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, F, manualSeed, noGrad, randint, randn, tensor, tidy } from '../src/tensor/index.js';
import { FLMModel, flmConfig, specialIds, withOverrides, type FLMConfig, type FLMOutput } from '../src/models/index.js';
import { streamRows } from '../src/models/stream-rows.js';
import { textRowsSeen } from './model-helpers.js';
import { flmLoss, flmLossAtTargets, flmMasks, flmTargetRows, fusionIds, lmLabels, type ObjectiveResult } from '../src/objectives/index.js';

const TOL = { atol: 2e-6, rtol: 1e-5 };

function assertClose(name: string, actual: Tensor, expected: Tensor, tol = TOL): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  const bad = tidy(() => actual.sub(expected).abs().gt(expected.abs().mul(tol.rtol).add(tol.atol)).sum().item());
  const maxDiff = tidy(() => actual.sub(expected).abs().max().item());
  assert.equal(bad, 0, `${name}: ${bad} elements differ (max |diff| ${maxDiff})`);
}

/** A tiny batch of captions of lengths `lengths` (<s> w .. </s> <pad> ..) with random images. */
function batch(c: FLMConfig, lengths: number[], L: number) {
  const ids = specialIds(c);
  const words = randint(4, c.vocab_size - 1, [lengths.length, L]).toFlatArray();
  const rows = lengths.map((n, b) => Array.from({ length: L }, (_, j) => (j === 0 ? ids.bos : j === n - 1 ? ids.eos : j < n - 1 ? words[b * L + j]! : ids.pad)));
  const textIds = tensor(rows, { dtype: 'int64' });
  const textMasks = tensor(lengths.map((n) => Array.from({ length: L }, (_, j) => (j < n ? 1 : 0))), { dtype: 'int64' });
  const image = randn([lengths.length, 3, c.vit_arch.image_size, c.vit_arch.image_size]);
  // span-corrupted reconstructor mask (sampled once, shared by both paths)
  const masks = flmMasks(textMasks, { rate: 0.5 });
  return { image, textIds, textMasks, fusionIds: fusionIds(textIds, textMasks, ids.mask), masks };
}

function outputs(o: FLMOutput): [string, Tensor][] {
  return [
    ['imageEmbeds', o.imageEmbeds], ['embeds.text', o.embeds.text], ['embeds.fusion', o.embeds.fusion],
    ['bottom.fwd', o.bottom.fwd], ['bottom.rev', o.bottom.rev], ['bottom.rec', o.bottom.rec],
    ['crossIn.img', o.crossIn.img], ['crossIn.fwd', o.crossIn.fwd], ['crossIn.rev', o.crossIn.rev], ['crossIn.rec', o.crossIn.rec],
    ['top.fwd', o.top.fwd], ['top.rev', o.top.rev], ['top.rec', o.top.rec], ['clsFeats', o.clsFeats],
    ['logits.rec', o.logits!.rec], ['logits.l2r', o.logits!.l2r], ['logits.r2l', o.logits!.r2l],
  ];
}

function lossOf(model: FLMModel, out: FLMOutput, textIds: Tensor): ObjectiveResult {
  const c = model.config;
  return flmLoss(
    { recLogits: out.logits!.rec, fwdLogits: out.logits!.l2r, revLogits: out.logits!.r2l, labelsLm: lmLabels(textIds) },
    { ignoreIndex: specialIds(c).pad, l2rWeight: c.flm_aux_lm_loss_l2r_weight, r2lWeight: c.flm_aux_lm_loss_r2l_weight },
  );
}

/** The batched streams' masks [2B, 1, L, L]: fwd, rev, fwd, .. */
function streamMasksOf(masks: { fwd: Tensor; rev: Tensor }): Tensor {
  return F.stack([masks.fwd, masks.rev], 1).flatten(0, 1);
}

/** Gradients by parameter name after backward of `loss` (zeroed first). */
function grads(model: FLMModel, loss: () => Tensor): Map<string, Tensor> {
  model.zeroGrad();
  tidy(() => loss().backward());
  const out = new Map<string, Tensor>();
  for (const [name, p] of model.namedParameters()) if (p.grad) out.set(name, p.grad);
  return out;
}

/** Forward, loss and gradients of `model` on `input` after `setup` (a path switch). */
function runPath(model: FLMModel, input: ReturnType<typeof batch>, setup: () => void) {
  setup();
  const out = model.forward(input);
  const g = grads(model, () => lossOf(model, model.forward(input), input.textIds).loss);
  return { out, loss: noGrad(() => lossOf(model, out, input.textIds)), grads: g };
}

/** Two paths agree: every output, loss term and parameter gradient. */
function assertSamePath(a: ReturnType<typeof runPath>, b: ReturnType<typeof runPath>): void {
  for (const [[name, x], [, y]] of outputs(a.out).map((o, i) => [o, outputs(b.out)[i]!] as const)) assertClose(name, x, y);
  for (const k of ['flm', 'l2r', 'r2l'] as const) assertClose(`loss ${k}`, a.loss.terms[k]!, b.loss.terms[k]!);
  assert.deepEqual([...a.grads.keys()].sort(), [...b.grads.keys()].sort());
  assert.ok(a.grads.size > 100, `${a.grads.size} gradients`);
  for (const [name, g] of a.grads) assertClose(`grad ${name}`, g, b.grads.get(name)!);
}

describe('FLMModel batched streams', () => {
  it('batched and per-stream forwards give the same outputs, losses and gradients (eval mode)', () => {
    tidy(() => {
      manualSeed(1);
      const c = flmConfig('tiny');
      const model = new FLMModel(c);
      model.eval();
      const input = batch(c, [12, 7, 4], 12);
      assertSamePath(runPath(model, input, () => { model.batchStreams = true; }), runPath(model, input, () => { model.batchStreams = false; }));
      model.dispose();
    });
  });

  it('train mode: the two streams draw different dropout masks from one embedding call', () => {
    tidy(() => {
      manualSeed(2);
      const c = withOverrides(flmConfig('tiny'), { drop_rate: 0.5 });
      const model = new FLMModel(c);
      model.train();
      const input = batch(c, [12, 7, 4], 12);
      const emb = model.text_transformer.embeddings;
      const calls: Tensor[] = [];
      const plain = emb.forward.bind(emb);
      emb.forward = (ids: Tensor) => {
        const y = plain(ids);
        if (ids.shape[0] === 2 * 3) calls.push(y);
        return y;
      };
      model.forward(input);
      assert.equal(calls.length, 1, 'one embedding call on both copies of the ids');
      const x = calls[0]!.view(3, 2, 12, -1); // [B, 2, L, H]: l2r, r2l
      const kept = x.ne(0); // dropout zeros
      const differ = kept.select(1, 0).ne(kept.select(1, 1)).to('float32').mean().item();
      assert.ok(differ > 0.3, `only ${differ} of the dropout mask entries differ between the streams`);
      model.dispose();
    });
  });

  it('lossFeatures + flmLossAtTargets (reconstructor and heads at the targets only) equal flmLoss on full-length logits, gradients too', () => {
    tidy(() => {
      manualSeed(3);
      const c = flmConfig('tiny');
      const model = new FLMModel(c);
      model.eval();
      const input = batch(c, [12, 7, 4], 12);
      const labelsLm = lmLabels(input.textIds);
      const pad = specialIds(c).pad;
      const recRows = flmTargetRows(labelsLm, pad);
      assert.deepEqual(recRows.shape, [11 + 6 + 3, 2]);
      for (const batched of [true, false]) {
        model.batchStreams = batched;
        const dense = model.forward(input, { lmLogits: false }).top;
        const rows = model.lossFeatures(input, recRows);
        assertClose(`${batched} rec rows`, rows.rec, dense.rec.index(recRows.select(1, 0), recRows.select(1, 1)));
        for (const opts of [{}, { r2lIgnoreFirstPad: true }, { aux: false }]) {
          const o = { ignoreIndex: pad, ...opts };
          const what = `batched ${batched} ${JSON.stringify(opts)}`;
          const full = (): ObjectiveResult => {
            const out = model.forward(input);
            return flmLoss({ recLogits: out.logits!.rec, fwdLogits: out.logits!.l2r, revLogits: out.logits!.r2l, labelsLm }, o);
          };
          const score = (r: { rec: Tensor; l2r?: Tensor; r2l?: Tensor }) => model.lmLogits(r);
          const atRows = (): ObjectiveResult => {
            const out = model.lossFeatures(input, recRows);
            return flmLossAtTargets({ rec: out.rec, fwd: out.fwd, rev: out.rev, labelsLm, score }, o);
          };
          const onDense = (): ObjectiveResult => {
            const out = model.forward(input, { lmLogits: false }).top;
            return flmLossAtTargets({ rec: out.rec, fwd: out.fwd, rev: out.rev, labelsLm, score }, o);
          };
          const b = full();
          for (const [name, a] of [['rows', atRows()], ['dense', onDense()]] as const) {
            assert.deepEqual(Object.keys(a.terms), Object.keys(b.terms));
            for (const k of Object.keys(b.terms)) assertClose(`${what} ${name} ${k}`, a.terms[k]!, b.terms[k]!, { atol: 1e-6, rtol: 1e-6 });
            assertClose(`${what} ${name} loss`, a.loss, b.loss, { atol: 1e-6, rtol: 1e-6 });
            for (const k of Object.keys(b.metrics)) assert.equal(a.metrics[k]!.item(), b.metrics[k]!.item(), `${what} ${name} ${k}`);
          }
          const ga = grads(model, () => atRows().loss);
          const gb = grads(model, () => full().loss);
          assert.deepEqual([...ga.keys()].sort(), [...gb.keys()].sort());
          for (const [name, g] of gb) assertClose(`${what} grad ${name}`, ga.get(name)!, g);
        }
      }
      model.dispose();
    });
  });

  it('packed streams (real tokens and the first pad) give the padded grid\'s outputs, losses and gradients', () => {
    tidy(() => {
      manualSeed(4);
      const c = flmConfig('tiny');
      const model = new FLMModel(c);
      model.eval();
      const lengths = [12, 7, 4, 2, 5, 3];
      const input = batch(c, lengths, 12);
      // the case the first pad exists for: fully blocked reconstructor rows (they weigh every pad key)
      const blocked = tidy(() => input.masks.bi.select(1, 0).lt(-1).all(-1).narrow(1, 1, 11).logicalAnd(input.textMasks.narrow(1, 1, 11).ne(0)).sum().item());
      assert.ok(blocked > 0, 'the batch has fully blocked target rows');
      const rows = streamRows(input.textIds, input.textMasks, specialIds(c).pad, streamMasksOf(input.masks), 2)!;
      assert.equal(rows.count, 2 * lengths.reduce((s, n) => s + Math.min(n + 1, 12), 0));
      assertSamePath(runPath(model, input, () => { model.packRows = true; }), runPath(model, input, () => { model.packRows = false; }));
      model.dispose();
    });
  });

  it('streams are packed only for right-padded captions of two or more tokens, and never under dropout', () => {
    tidy(() => {
      manualSeed(5);
      const c = flmConfig('tiny');
      const pad = specialIds(c).pad;
      const input = batch(c, [5, 3], 6);
      const sm = streamMasksOf(input.masks);
      const rows = streamRows(input.textIds, input.textMasks, pad, sm, 2)!;
      // the full grid maps every pad after the first to the first: caption 1 (3 tokens) computes 4 rows per stream
      assert.deepEqual(rows.full.view(4, 6).toArray(), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 15, 15], [16, 17, 18, 19, 19, 19]]);
      assert.deepEqual(rows.stream.toArray(), [...Array(6).fill(0), ...Array(6).fill(1), ...Array(4).fill(0), ...Array(4).fill(1)]);
      const gap = tensor([[1, 1, 0, 1, 0, 0], [1, 1, 1, 0, 0, 0]], { dtype: 'int64' });
      assert.equal(streamRows(input.textIds, gap, pad, streamMasksOf(flmMasks(gap)), 2), null, 'a real token after a pad');
      const short = tensor([[1, 1, 1, 1, 1, 0], [1, 0, 0, 0, 0, 0]], { dtype: 'int64' });
      assert.equal(streamRows(input.textIds, short, pad, streamMasksOf(flmMasks(short)), 2), null, 'a caption of one token: its pad rows see no key');
      const notPad = input.textIds.clone().indexPut([tensor([1], { dtype: 'int64' }), tensor([5], { dtype: 'int64' })], tensor([7], { dtype: 'int64' }));
      assert.equal(streamRows(notPad, input.textMasks, pad, sm, 2), null, 'a non-pad id under a zero mask');
      const seesPad = sm.clone().indexPut([tensor([2], { dtype: 'int64' }), tensor([0], { dtype: 'int64' }), tensor([1], { dtype: 'int64' }), tensor([4], { dtype: 'int64' })], tensor([0]));
      assert.equal(streamRows(input.textIds, input.textMasks, pad, seesPad, 2), null, 'a row that sees a pad key');
      const padRowsDiffer = sm.clone().indexPut([tensor([2], { dtype: 'int64' }), tensor([0], { dtype: 'int64' }), tensor([5], { dtype: 'int64' }), tensor([1], { dtype: 'int64' })], tensor([-10000]));
      assert.equal(streamRows(input.textIds, input.textMasks, pad, padRowsDiffer, 2), null, 'pad rows that see different keys');
      const single = streamRows(input.textIds, input.textMasks, pad, input.masks.fwd, 1)!;
      assert.deepEqual(single.full.view(2, 6).toArray(), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 9, 9]], 'one stream');
      assert.ok(streamRows(input.textIds, input.textMasks, pad, flmMasks(input.textMasks.narrow(0, 1, 1)).fwd, 1), 'one mask for the whole batch');
      assert.equal(streamRows(input.textIds, input.textMasks, pad, input.masks.fwd.expand(2, 2, 6, 6), 1), null, 'a mask per head');
      assert.equal(streamRows(input.textIds, input.textMasks, pad, input.masks.fwd.div(4), 1), null, 'mask values between visible and blocked');
      assert.equal(streamRows(input.textIds, input.textMasks, pad, sm.narrow(0, 0, 3), 2), null, 'masks for neither one nor every stream row');

      const d = withOverrides(c, { drop_rate: 0.1 });
      const model = new FLMModel(d);
      const x = batch(d, [12, 7, 4], 12);
      const seen = textRowsSeen(model);
      model.train();
      model.forward(x);
      model.eval();
      model.forward(x);
      assert.deepEqual(seen, [6, 2 * (12 + 8 + 5)], 'train with dropout: the padded grid [2B, L, H]; eval: the packed rows [N, H]');
      model.dispose();
    });
  });
});
