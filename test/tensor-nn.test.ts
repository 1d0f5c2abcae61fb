// Known-value tests for the functional (nn) ops and the random number generator, against PyTorch 1.13.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Tensor, bernoulli, full, manualSeed, multinomial, ones, rand, randint, randn, randperm, empty, tensor, tidy, zeros,
} from '../src/tensor/index.js';
import { assertExact, assertKnown, assertValues, known, pat } from './tensor-helpers.js';

const i64 = (d: number[] | number[][]): Tensor => tensor(d, { dtype: 'int64' });

test('interpolate bicubic 7x7 -> 9x9 matches PyTorch (positional-embedding resize)', () => tidy(() => {
  const x = pat(98, 3).reshape(1, 2, 7, 7);
  const y = F.interpolate(x, [9, 9], 'bicubic');
  assert.deepEqual(y.shape, [1, 2, 9, 9]);
  assertKnown(y, 'bicubic79', 2e-6);
  assertKnown(F.interpolate(x, [9, 9], 'bicubic', true), 'bicubic79ac', 2e-6);
  // The way a ViT resizes its grid: [49, D] tokens -> [1, D, 7, 7] (a non-contiguous view) -> [81, D].
  const tokens = x.permute(0, 2, 3, 1).reshape(49, 2).contiguous();
  const grid = tokens.reshape(1, 7, 7, 2).permute(0, 3, 1, 2);
  assert.ok(!grid.isContiguous());
  const resized = F.interpolate(grid, [9, 9], 'bicubic').permute(0, 2, 3, 1).reshape(81, 2);
  const expected = known('bicubic79').v as number[];
  const flat = resized.toFlatArray();
  for (let p = 0; p < 81; p++) {
    for (let c = 0; c < 2; c++) assertValues([flat[p * 2 + c]!], [expected[c * 81 + p]!], `token ${p} channel ${c}`, 2e-6);
  }
  // a same-size bicubic resize is the identity
  assert.ok(F.interpolate(x, [7, 7], 'bicubic').allclose(x, 1e-6, 1e-6));
}));

test('interpolate bilinear and nearest', () => tidy(() => {
  const x = pat(12, 1).reshape(1, 1, 3, 4);
  assertKnown(F.interpolate(x, [5, 3]), 'bilinear');
  assertKnown(F.interpolate(x, [5, 3], 'bilinear', true), 'bilinearAc');
  assertKnown(F.interpolate(x, [6, 2], 'nearest'), 'nearest');
}));

test('layerNorm with and without affine parameters', () => tidy(() => {
  const x = pat(24, 2).reshape(2, 3, 4).mul(3);
  assertKnown(F.layerNorm(x, [4], pat(4, 5).add(1.5), pat(4, 8).mul(0.5)), 'ln4');
  assertKnown(F.layerNorm(x, [3, 4], null, null, 1e-3), 'ln34');
  const y = F.layerNorm(x, [4]);
  assertValues(y.mean(-1).toFlatArray(), new Array(6).fill(0), 'normalized rows have mean 0', 1e-6);
}));

test('conv2d: stride, padding, dilation, groups, bias', () => tidy(() => {
  const x = pat(50, 0).reshape(1, 2, 5, 5);
  const w = pat(54, 4).reshape(3, 2, 3, 3);
  const b = tensor([0.1, -0.2, 0.3]);
  assertKnown(F.conv2d(x, w, b), 'conv');
  assertKnown(F.conv2d(x, w, b, { stride: 2, padding: 1 }), 'convS2P1');
  assertKnown(F.conv2d(x, pat(18, 6).reshape(2, 1, 3, 3), null, { padding: [2, 1], dilation: 2, groups: 2 }), 'convG2D2');
  assertKnown(F.conv2d(x, w, null, { stride: [2, 1] }), 'convS21');
}));

test('crossEntropy: reductions, class weights, ignoreIndex, labelSmoothing, [N, C, d] and probability targets', () => tidy(() => {
  const lg = pat(20, 3).reshape(4, 5).mul(2);
  const tg = i64([1, 3, 4, 0]);
  assertKnown(F.crossEntropy(lg, tg), 'ce');
  assertKnown(F.crossEntropy(lg, tg, { reduction: 'none' }), 'ceNone');
  assertKnown(F.crossEntropy(lg, tg, { reduction: 'sum' }), 'ceSum');
  assertKnown(F.crossEntropy(lg, tg, { ignoreIndex: 3 }), 'ceIgnore');
  const ign = F.crossEntropy(lg, tg, { ignoreIndex: 3, reduction: 'none' });
  assertKnown(ign, 'ceIgnoreNone');
  assert.equal(ign.toFlatArray()[1], 0, 'the ignored position has zero loss');
  assertKnown(F.crossEntropy(lg, tg, { labelSmoothing: 0.1 }), 'ceLS');
  assertKnown(F.crossEntropy(lg, tg, { labelSmoothing: 0.1, reduction: 'none' }), 'ceLSNone');
  assertKnown(F.crossEntropy(lg, tg, { labelSmoothing: 0.2, ignoreIndex: 3 }), 'ceLSIgnore');
  assertKnown(F.crossEntropy(lg, tg, { labelSmoothing: 0.2, ignoreIndex: 3, reduction: 'none' }), 'ceLSIgnoreNone');
  const cw = tensor([1, 2, 0.5, 1, 3]);
  assertKnown(F.crossEntropy(lg, tg, { weight: cw }), 'ceWeight');
  assertKnown(F.crossEntropy(lg, tg, { weight: cw, labelSmoothing: 0.1 }), 'ceWeightLS');
  assertKnown(F.crossEntropy(lg, i64([1, -100, 4, -100])), 'ceDefaultIgnore');
  const lg3 = pat(30, 2).reshape(2, 5, 3);
  const tg3 = i64([[0, 4, 2], [1, 1, 3]]);
  assertKnown(F.crossEntropy(lg3, tg3), 'ce3d');
  assertKnown(F.crossEntropy(lg3, tg3, { reduction: 'none' }), 'ce3dNone');
  assertKnown(F.crossEntropy(lg, pat(20, 6).reshape(4, 5).softmax(1)), 'ceProb');
  assertKnown(F.nllLoss(lg.logSoftmax(1), tg), 'nll');
  assertKnown(F.nllLoss(lg.logSoftmax(1), tg, { ignoreIndex: 4, reduction: 'sum' }), 'nllIgnore');
  // crossEntropy = nllLoss(logSoftmax)
  assert.ok(F.crossEntropy(lg, tg).allclose(F.nllLoss(F.logSoftmax(lg, 1), tg)));
}));

test('binaryCrossEntropyWithLogits, mseLoss, normalize, oneHot', () => tidy(() => {
  const bl = pat(6, 1).reshape(2, 3).mul(3);
  const bt = tensor([[0, 1, 1], [0.25, 0, 1]]);
  assertKnown(F.binaryCrossEntropyWithLogits(bl, bt), 'bce');
  assertKnown(F.binaryCrossEntropyWithLogits(bl, bt, { reduction: 'none' }), 'bceNone');
  assertKnown(F.binaryCrossEntropyWithLogits(bl, bt, { posWeight: tensor([1, 2, 0.5]) }), 'bcePosW');
  assertKnown(F.binaryCrossEntropyWithLogits(bl, bt, { weight: tensor([[2], [0.5]]), reduction: 'sum' }), 'bceW');
  assertKnown(F.binaryCrossEntropyWithLogits(tensor([100, -100]), tensor([0, 1]), { reduction: 'none' }), 'bceBig');
  assertKnown(F.mseLoss(bl, bt), 'mse');
  assertKnown(F.mseLoss(bl, bt, 'none'), 'mseNone');
  assertKnown(F.mseLoss(bl, bt, 'sum'), 'mseSum');
  assertKnown(F.normalize(bl), 'normalize');
  assertKnown(F.normalize(bl, 1, 0), 'normalize0p1');
  assertExact(F.normalize(zeros([1, 3])), [[0, 0, 0]], 'eps keeps zero vectors finite');
  const oh = F.oneHot(i64([0, 2, 1]), 4);
  assert.equal(oh.dtype, 'int64');
  assertKnown(oh, 'oneHot');
  assertKnown(F.oneHot(i64([[0, 2], [1, 0]])), 'oneHotAuto');
}));

test('embedding: lookup, and the padding row gets zero gradient', () => tidy(() => {
  const w = pat(15, 1).reshape(5, 3).requiresGrad_();
  const ids = i64([[0, 2, 4], [2, 0, 1]]);
  const e = F.embedding(ids, w, 0);
  assertKnown(e, 'emb');
  e.mul(pat(18, 4).reshape(2, 3, 3)).sum().backward();
  const g = w.grad!;
  assertKnown(g, 'embGradPad0');
  assertExact(g.select(0, 0), [0, 0, 0], 'padding row has zero gradient');
  assertExact(g.select(0, 3), [0, 0, 0], 'unused row has zero gradient');
  w.grad = null;
  F.embedding(ids, w).mul(pat(18, 4).reshape(2, 3, 3)).sum().backward();
  assertKnown(w.grad!, 'embGrad');
  assert.ok(w.grad!.select(0, 0).abs().sum().item() > 0, 'without paddingIdx row 0 does get gradient');
  // int32 ids work too
  assert.ok(F.embedding(tensor([[0, 2]], { dtype: 'int32' }), w).equal(F.embedding(i64([[0, 2]]), w)));
}));

test('attention: plain, additive padding mask, causal mask, dropout only in training', () => tidy(() => {
  const q = pat(24, 1).reshape(1, 2, 3, 4);
  const k = pat(24, 5).reshape(1, 2, 3, 4).mul(2);
  const v = pat(24, 9).reshape(1, 2, 3, 4);
  assertKnown(F.attention(q, k, v), 'attn');
  const mask = tensor([0, 0, -1e9]).reshape(1, 1, 1, 3);
  const masked = F.attention(q, k, v, mask);
  assertKnown(masked, 'attnMask');
  // masking the last key is the same as dropping it
  const dropped = F.attention(q, k.narrow(2, 0, 2), v.narrow(2, 0, 2));
  assert.ok(masked.allclose(dropped, 1e-5, 1e-6));
  assertKnown(F.attention(q, k, v, full([3, 3], -10000).triu(1)), 'attnCausal');
  // dropout is the identity when not training, random when training
  assert.ok(F.attention(q, k, v, mask, 0.5, false).equal(masked));
  manualSeed(11);
  const d1 = F.attention(q, k, v, mask, 0.5, true);
  assert.ok(!d1.allclose(masked), 'training dropout changes the output');
  manualSeed(11);
  assert.ok(F.attention(q, k, v, mask, 0.5, true).equal(d1), 'same seed, same dropout');
}));

test('dropout: train vs eval, p = 0 and p = 1, scaling', () => tidy(() => {
  manualSeed(3);
  assertKnown(F.dropout(ones([8]), 0.5, true), 'seed3dropout');
  const x = randn([4, 5]);
  const ev = F.dropout(x, 0.5, false);
  assert.ok(ev.equal(x), 'eval: identity');
  assert.ok(F.dropout(x, 0, true).equal(x), 'p = 0: identity');
  assertExact(F.dropout(ones([3]), 1, true), [0, 0, 0], 'p = 1: all dropped');
  const big = F.dropout(ones([20000]), 0.3, true);
  const vals = big.toFlatArray();
  const zerosFrac = vals.filter((v) => v === 0).length / vals.length;
  assert.ok(Math.abs(zerosFrac - 0.3) < 0.02, `dropped fraction ${zerosFrac}`);
  assert.ok(vals.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6), 'kept values are scaled by 1/(1-p)');
}));

test('softmax with a dtype argument', () => tidy(() => {
  const s = pat(6, 2).reshape(2, 3).softmax(1, 'float64');
  assert.equal(s.dtype, 'float64');
  assertKnown(s, 'softmaxF64', 1e-7);
}));

test('random numbers match PyTorch for the same seed', () => tidy(() => {
  manualSeed(42);
  assertKnown(randn([4]), 'seed42randn', 1e-7);
  assertKnown(rand([3]), 'seed42rand', 1e-7);
  const ri = randint(0, 10, [5]);
  assert.equal(ri.dtype, 'int64');
  assertKnown(ri, 'seed42randint');
  assertKnown(randperm(6), 'seed42randperm');
  manualSeed(7);
  assertKnown(bernoulli(full([8], 0.5)), 'seed7bern');
  assertKnown(multinomial(tensor([0.1, 0.2, 0.3, 0.4]), 4, true), 'seed7multi');
  manualSeed(5);
  assertKnown(empty([3]).normal_(1, 2), 'seed5normal', 1e-6);
  assertKnown(empty([3]).uniform_(-1, 1), 'seed5uniform', 1e-6);
}));
