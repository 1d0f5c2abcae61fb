// Autograd: finite-difference gradchecks for every differentiable op family (float64), known
// gradients, and the grad-mode scopes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Tensor, enableGrad, full, gradcheck, isGradEnabled, manualSeed, noGrad, ones, randn, tensor, tidy, zeros,
} from '../src/tensor/index.js';
import { assertExact, assertValues } from './tensor-helpers.js';

/** A float64 leaf requiring grad, from seeded normal draws (distinct values, away from kinks). */
function rn(shape: number[], seed: number, f?: (t: Tensor) => Tensor): Tensor {
  manualSeed(seed);
  let t = randn(shape, { dtype: 'float64' });
  if (f) t = f(t);
  return t.detach().requiresGrad_();
}
const pos = (t: Tensor): Tensor => t.abs().add(0.5);
const i64 = (d: number[] | number[][]): Tensor => tensor(d, { dtype: 'int64' });

function check(name: string, fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]): void {
  const r = tidy(() => gradcheck(fn, inputs));
  assert.ok(r.ok, `${name}: gradcheck failed (max error ${r.maxAbsError}; worst ${r.worst})`);
}

test('gradcheck detects a wrong gradient (the checker can fail)', () => tidy(() => {
  const x = rn([4], 1);
  // x * detach(x) has autograd gradient x but true derivative 2x
  const r = gradcheck((a) => a.mul(a.detach()), [x]);
  assert.equal(r.ok, false);
  assert.match(r.worst, /input 0, element \d: analytic/);
  assert.ok(gradcheck((a) => a.mul(a), [x]).ok);
  assert.throws(() => gradcheck((a) => a.exp(), [randn([2]).requiresGrad_()]), /float64/);
}));

test('gradcheck: elementwise unary ops', () => tidy(() => {
  const x = rn([2, 3], 2);
  const p = rn([2, 3], 3, pos);
  const unary: [string, (a: Tensor) => Tensor, Tensor][] = [
    ['exp', (a) => a.exp(), x], ['tanh', (a) => a.tanh(), x], ['sigmoid', (a) => a.sigmoid(), x], ['relu', (a) => a.relu(), x],
    ['gelu', (a) => a.gelu(), x], ['geluTanh', (a) => a.gelu('tanh'), x], ['silu', (a) => a.silu(), x], ['erf', (a) => a.erf(), x],
    ['sin', (a) => a.sin(), x], ['cos', (a) => a.cos(), x], ['abs', (a) => a.abs(), x], ['neg', (a) => a.neg(), x],
    ['square', (a) => a.square(), x], ['expm1', (a) => a.expm1(), x], ['quickGelu', (a) => F.quickGelu(a), x],
    ['clamp', (a) => a.clamp(-0.5, 0.5), x], ['powScalar', (a) => a.pow(3), x],
    ['log', (a) => a.log(), p], ['log1p', (a) => a.log1p(), p], ['sqrt', (a) => a.sqrt(), p], ['rsqrt', (a) => a.rsqrt(), p],
    ['reciprocal', (a) => a.reciprocal(), p], ['powFrac', (a) => a.pow(1.5), p],
  ];
  for (const [name, f, input] of unary) check(name, f, [input]);
}));

test('gradcheck: binary ops with broadcasting', () => tidy(() => {
  const a = rn([2, 3], 4);
  const b = rn([3], 5);
  const c = rn([2, 1], 6, pos);
  check('add', (x, y) => x.add(y), [a, b]);
  check('addAlpha', (x, y) => x.add(y, -2.5), [a, b]);
  check('sub', (x, y) => x.sub(y), [a, c]);
  check('mul', (x, y) => x.mul(y), [a, b]);
  check('div', (x, y) => x.div(y), [a, c]);
  check('pow', (x, y) => x.pow(y), [rn([2, 3], 7, pos), b]);
  check('minimum', (x, y) => x.minimum(y), [a, rn([2, 3], 8)]);
  check('maximum', (x, y) => x.maximum(y), [a, rn([2, 3], 8)]);
  const cond = tensor([[true, false, true], [false, false, true]]);
  check('where', (x, y) => F.where(cond, x, y), [a, b]);
  check('maskedFill', (x) => x.maskedFill(cond, 2), [a]);
}));

test('gradcheck: matmul, mm, bmm, outer, linear, einsum', () => tidy(() => {
  check('mm', (x, y) => x.mm(y), [rn([2, 3], 9), rn([3, 2], 10)]);
  check('matmulBroadcast', (x, y) => x.matmul(y), [rn([2, 2, 3], 11), rn([3, 2], 12)]);
  check('matvec', (x, y) => x.matmul(y), [rn([2, 3], 13), rn([3], 14)]);
  check('bmm', (x, y) => x.bmm(y), [rn([2, 2, 3], 15), rn([2, 3, 2], 16)]);
  check('outer', (x, y) => x.outer(y), [rn([3], 17), rn([2], 18)]);
  check('linear', (x, w, b) => F.linear(x, w, b), [rn([2, 3], 19), rn([4, 3], 20), rn([4], 21)]);
  check('einsum', (x, y) => F.einsum('bij,bjk->bik', x, y), [rn([2, 2, 3], 22), rn([2, 3, 2], 23)]);
  check('einsumTrace', (x) => F.einsum('ii->', x), [rn([3, 3], 24)]);
}));

test('gradcheck: reductions', () => tidy(() => {
  const x = rn([2, 3, 2], 25);
  check('sumAll', (a) => a.sum(), [x]);
  check('sumDims', (a) => a.sum([0, 2], { keepdim: true }), [x]);
  check('mean', (a) => a.mean(1), [x]);
  check('prod', (a) => a.prod(1), [x]);
  check('amax', (a) => a.amax(1), [x]);
  check('maxDim', (a) => a.max(2).values, [x]);
  check('minDim', (a) => a.min(0, true).values, [x]);
  check('maxAll', (a) => a.max(), [x]);
  check('logsumexp', (a) => a.logsumexp(1, true), [x]);
  check('var', (a) => a.var(1), [x]);
  check('varCorrection0', (a) => a.var([0, 2], { correction: 0 }), [x]);
  check('std', (a) => a.std(2), [x]);
  check('norm2', (a) => a.norm(2, 1), [x]);
  check('norm1', (a) => a.norm(1), [x]);
  check('cumsum', (a) => a.cumsum(1), [x]);
}));

test('gradcheck: shape and indexing ops', () => tidy(() => {
  const x = rn([2, 3, 2], 26);
  const m = rn([3, 3], 27);
  check('reshape', (a) => a.reshape(3, 4), [x]);
  check('permute', (a) => a.permute(2, 0, 1), [x]);
  check('transpose', (a) => a.transpose(0, 1), [x]);
  check('expand', (a) => a.unsqueeze(0).expand(2, 2, 3, 2), [x]);
  check('repeat', (a) => a.repeat(1, 2, 1), [x]);
  check('repeatInterleave', (a) => a.repeatInterleave(2, 1), [x]);
  check('narrow', (a) => a.narrow(1, 1, 2), [x]);
  check('slice', (a) => a.slice(1, null, null, 2), [x]);
  check('select', (a) => a.select(2, 1), [x]);
  check('squeezeFlatten', (a) => a.narrow(2, 0, 1).squeeze(2).flatten(), [x]);
  check('flip', (a) => a.flip([0, 2]), [x]);
  check('roll', (a) => a.roll([1, 1], [1, 2]), [x]);
  check('tril', (a) => a.tril(), [m]);
  check('triu', (a) => a.triu(1), [m]);
  check('diagonal', (a) => a.diagonal(), [m]);
  check('cat', (a, b) => F.cat([a, b], 1), [rn([2, 2], 28), rn([2, 3], 29)]);
  check('stack', (a, b) => F.stack([a, b], 1), [rn([2, 3], 30), rn([2, 3], 31)]);
  check('split', (a) => { const [p, q] = a.split([1, 2], 1); return p!.mul(2).add(q!.sum(1, { keepdim: true })); }, [m]);
  check('chunk', (a) => { const [p, q] = a.chunk(2, 0); return F.cat([q!, p!.mul(3)], 0); }, [rn([4, 2], 32)]);
  check('unbind', (a) => { const [p, q, r] = a.unbind(0); return p!.mul(q!).add(r!); }, [m]);
  check('gather', (a) => a.gather(1, i64([[2, 0, 2], [1, 1, 0], [0, 2, 1]])), [m]);
  check('scatter', (a, s) => a.scatter(1, i64([[2, 0], [1, 2], [0, 1]]), s), [m, rn([3, 2], 33)]);
  check('scatterAdd', (a, s) => a.scatterAdd(0, i64([[0, 1, 0], [0, 2, 2]]), s), [m, rn([2, 3], 34)]);
  check('indexSelect', (a) => a.indexSelect(0, i64([2, 0, 2])), [m]);
  check('index', (a) => a.index(i64([0, 2, 2]), i64([1, 1, 0])), [m]);
  check('indexPut', (a, v) => a.indexPut([i64([0, 2, 0])], v, true), [rn([4, 2], 35), rn([3, 2], 36)]);
  check('maskedSelect', (a) => a.maskedSelect(tensor([[true, false, true], [false, true, true], [false, false, false]])), [m]);
  check('sortValues', (a) => a.sort(1).values, [m]);
  check('topkValues', (a) => a.topk(2, 0).values, [m]);
  check('expandAs', (a) => a.expandAs(zeros([2, 3, 3], { dtype: 'float64' })), [m]);
}));

test('gradcheck: nn ops', () => tidy(() => {
  check('softmax', (a) => a.softmax(1), [rn([2, 4], 40)]);
  check('logSoftmax', (a) => a.logSoftmax(0), [rn([3, 2], 41)]);
  check('layerNorm', (a, w, b) => F.layerNorm(a, [4], w, b), [rn([2, 4], 42), rn([4], 43), rn([4], 44)]);
  check('layerNorm2d', (a) => F.layerNorm(a, [2, 3]), [rn([2, 2, 3], 45)]);
  check('conv2d', (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [rn([1, 2, 4, 4], 46), rn([2, 2, 3, 3], 47), rn([2], 48)]);
  check('conv2dGroups', (x, w) => F.conv2d(x, w, null, { groups: 2, dilation: [1, 2], padding: [0, 1] }), [rn([1, 2, 3, 4], 49), rn([2, 1, 2, 2], 50)]);
  const tg = i64([1, 3, 0, 3]);
  check('crossEntropy', (a) => F.crossEntropy(a, tg), [rn([4, 4], 51)]);
  check('crossEntropyIgnoreSmooth', (a) => F.crossEntropy(a, tg, { ignoreIndex: 3, labelSmoothing: 0.1 }), [rn([4, 4], 52)]);
  check('crossEntropyWeightNone', (a) => F.crossEntropy(a, tg, { weight: tensor([1, 2, 0.5, 1], { dtype: 'float64' }), reduction: 'none' }), [rn([4, 4], 53)]);
  check('crossEntropyProbs', (a, p) => F.crossEntropy(a, p.softmax(1)), [rn([2, 3], 54), rn([2, 3], 55)]);
  check('nllLoss', (a) => F.nllLoss(a, tg, { reduction: 'sum' }), [rn([4, 4], 56)]);
  check('bceWithLogits', (a) => F.binaryCrossEntropyWithLogits(a, tensor([[0, 1, 0.5], [1, 0, 0]], { dtype: 'float64' }),
    { posWeight: tensor([1, 2, 0.5], { dtype: 'float64' }) }), [rn([2, 3], 57)]);
  check('mseLoss', (a, b) => F.mseLoss(a, b), [rn([2, 3], 58), rn([2, 3], 59)]);
  check('normalize', (a) => F.normalize(a, 2, 1), [rn([2, 3], 60)]);
  check('interpolateBicubic', (a) => F.interpolate(a, [4, 5], 'bicubic'), [rn([1, 1, 3, 3], 61)]);
  check('interpolateBilinear', (a) => F.interpolate(a, [3, 5], 'bilinear', true), [rn([1, 2, 2, 3], 62)]);
  // (without paddingIdx: the padding row's zero gradient is deliberate, see tensor-nn.test.ts)
  check('embedding', (w) => F.embedding(i64([[0, 2], [2, 1]]), w), [rn([3, 2], 63)]);
  const wp = rn([3, 2], 63);
  assert.equal(gradcheck((w) => F.embedding(i64([[0, 2], [2, 1]]), w, 1), [wp]).ok, false, 'paddingIdx freezes its row');
  const mask = tensor([0, -1e9, 0], { dtype: 'float64' }).reshape(1, 1, 1, 3);
  check('attention', (q, k, v) => F.attention(q, k, v, mask), [rn([1, 1, 2, 3], 64), rn([1, 1, 3, 3], 65), rn([1, 1, 3, 3], 66)]);
  // a fixed seed inside fn gives the same dropout mask on every evaluation
  check('dropout', (a) => { manualSeed(9); return F.dropout(a, 0.4, true); }, [rn([2, 4], 67)]);
  check('attentionDropout', (q) => { manualSeed(10); return F.attention(q, q, q, null, 0.3, true); }, [rn([1, 1, 3, 2], 68)]);
}));

test('known gradients: sum, mean, crossEntropy, accumulation, explicit gradient', () => tidy(() => {
  const x = tensor([1, 2, 3]).requiresGrad_();
  assert.ok(x.isLeaf);
  x.sum().backward();
  assertExact(x.grad!, [1, 1, 1]);
  x.mean().backward();
  assertValues(x.grad!.toFlatArray(), [4 / 3, 4 / 3, 4 / 3], 'gradients accumulate');
  x.grad = null;
  assert.equal(x.grad, null);
  x.mul(x).backward(tensor([1, 0.5, -1]));
  assertExact(x.grad!, [2, 2, -6], 'backward with an explicit gradient');
  // d/dlogits crossEntropy(mean) = (softmax - onehot) / N
  const logits = tensor([[1, 2, 0.5], [0, -1, 3]]).requiresGrad_();
  F.crossEntropy(logits, i64([2, 0])).backward();
  const expected = noGrad(() => logits.softmax(1).sub(tensor([[0, 0, 1], [1, 0, 0]])).div(2));
  assert.ok(logits.grad!.allclose(expected, 1e-5, 1e-6));
  // ignored targets get zero gradient
  logits.grad = null;
  F.crossEntropy(logits, i64([2, -100])).backward();
  assertExact(logits.grad!.select(0, 1), [0, 0, 0]);
}));

test('autograd plumbing: requiresGrad propagation, detach, retainGrad, retainGraph', () => tidy(() => {
  const x = tensor([1, 2]).requiresGrad_();
  const y = x.mul(3);
  assert.ok(y.requiresGrad);
  assert.ok(!y.isLeaf);
  assert.ok(!y.detach().requiresGrad);
  assert.ok(!tensor([1]).requiresGrad);
  assert.ok(tensor([1], { requiresGrad: true }).requiresGrad);
  y.retainGrad();
  const z = y.square().sum();
  z.backward(undefined, { retainGraph: true });
  assertExact(y.grad!, [6, 12], 'retained grad of an intermediate');
  assertExact(x.grad!, [18, 36]);
  z.backward();
  assertExact(x.grad!, [36, 72], 'second backward through a retained graph');
  assert.throws(() => z.backward(), /backward/, 'the graph is freed after a backward without retainGraph');
  x.requiresGrad_(false);
  assert.ok(!x.requiresGrad);
  // a gradient set by hand must match the tensor
  const w = zeros([2]).requiresGrad_();
  w.grad = ones([2]);
  assertExact(w.grad!, [1, 1]);
}));

test('grad mode: noGrad, enableGrad, nesting, restored after a throw', () => tidy(() => {
  const x = tensor([1, 2]).requiresGrad_();
  assert.equal(isGradEnabled(), true);
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = enableGrad(() => {
      assert.equal(isGradEnabled(), true);
      return x.mul(2);
    });
    assert.ok(inner.requiresGrad, 'enableGrad inside noGrad records');
    assert.equal(isGradEnabled(), false);
    return x.mul(2);
  });
  assert.ok(!y.requiresGrad, 'noGrad results do not require grad');
  assert.equal(isGradEnabled(), true);
  assert.throws(() => noGrad(() => { throw new Error('boom'); }), /boom/);
  assert.equal(isGradEnabled(), true, 'restored after an exception');
  // in-place updates of leaves are allowed under noGrad (an optimiser step)
  noGrad(() => x.sub_(tensor([0.5, 0.5])));
  assertExact(x.detach(), [0.5, 1.5]);
  assert.ok(x.requiresGrad);
  assert.throws(() => x.sub_(1), /sub_/, 'in-place on a leaf that requires grad throws outside noGrad');
  const ones2 = full([2], 1, { dtype: 'float64' });
  assert.ok(!noGrad(() => ones2.mul(2)).requiresGrad);
}));
