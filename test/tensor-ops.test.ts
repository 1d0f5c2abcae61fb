// Known-value tests for the engine's op families: creation, dtypes, elementwise math, linear algebra,
// reductions, shape and indexing ops. Expected numbers come from PyTorch 1.13 (tensor-known-values.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DTYPES, F, Tensor, arange, eye, full, linspace, ones, scalar, tensor, tidy, zeros, zerosLike, onesLike, type DType,
} from '../src/tensor/index.js';
import { assertExact, assertKnown, assertValues } from './tensor-helpers.js';

const A = (): Tensor => tensor([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]]);
const B = (): Tensor => tensor([[1.5, 2.0, -0.5], [-1.0, 0.25, 4.0]]);
const P = (): Tensor => tensor([[0.5, 1.25, 2.0], [3.0, 0.75, 0.25]]);
const M = (): Tensor => tensor([[1, 2], [3, 4], [5, 6]]);
const X3 = (): Tensor => arange(0, 12, 1, { dtype: 'float32' }).reshape(2, 2, 3).div(4).sub(1);
const Y3 = (): Tensor => arange(0, 12, 1, { dtype: 'float32' }).reshape(2, 3, 2).div(3).sub(1.5);
const R = (): Tensor => tensor([[[1, -2, 3, 0.5], [4, 5, -6, 2]], [[0.25, 7, -1, 3], [2, -3, 8, -0.5]]]);
const Q = (): Tensor => arange(0, 24, 1, { dtype: 'float32' }).reshape(2, 3, 4);
const T4 = (): Tensor => arange(1, 17, 1, { dtype: 'float32' }).reshape(4, 4);
const i64 = (d: number[] | number[][]): Tensor => tensor(d, { dtype: 'int64' });

// ------------------------------------------------------------------ creation
test('creation: zeros, ones, full, arange, linspace, eye, scalar, *Like', () => tidy(() => {
  assertExact(zeros([2, 2]), [[0, 0], [0, 0]]);
  assertExact(ones([3], { dtype: 'int32' }), [1, 1, 1]);
  assert.equal(ones([3], { dtype: 'int32' }).dtype, 'int32');
  assertExact(full([2], 7.5), [7.5, 7.5]);
  assertExact(full([2], true), [true, true]);
  assert.equal(full([2], true).dtype, 'bool', 'a boolean fill makes a bool tensor, as in PyTorch');
  assert.equal(full([2], 3).dtype, 'float32');
  assertExact(full([2], 3, { dtype: 'int64' }), [3, 3]);
  const ai = arange(2, 11, 3);
  assert.equal(ai.dtype, 'int64', 'integer arange is int64 as in PyTorch');
  assertKnown(ai, 'arangeI');
  const af = arange(0, 1, 0.25);
  assert.equal(af.dtype, 'float32');
  assertKnown(af, 'arangeF');
  assertExact(arange(4), [0, 1, 2, 3]);
  assertKnown(linspace(-1, 1, 5), 'linspace');
  assertKnown(eye(2, 3), 'eye23');
  assertExact(eye(2), [[1, 0], [0, 1]]);
  const s = scalar(2.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 2.5);
  assert.equal(s.toArray(), 2.5);
  const like = zerosLike(tensor([[1, 2]], { dtype: 'float64' }));
  assert.equal(like.dtype, 'float64');
  assert.deepEqual(like.shape, [1, 2]);
  assertExact(onesLike(like), [[1, 1]]);
  assert.deepEqual(zeros([0, 3]).shape, [0, 3]);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.equal(zeros([2, 3]).numel, 6);
  assert.equal(zeros([2, 3]).size(-1), 3);
  assert.equal(zeros([2, 3]).ndim, 2);
}));

// ------------------------------------------------------------------ dtypes
test('dtype round trips for every dtype through tensor(), toTypedArray() and toArray()', () => tidy(() => {
  const cases: Record<DType, { data: number[] | boolean[]; typed: string; out: (number | boolean)[] }> = {
    float32: { data: [0.5, -1.25, 1e-3, 3.4e38], typed: 'Float32Array', out: [0.5, -1.25, Math.fround(1e-3), Math.fround(3.4e38)] },
    float64: { data: [0.1, -1 / 3, 1e-300, 1.7e308], typed: 'Float64Array', out: [0.1, -1 / 3, 1e-300, 1.7e308] },
    float16: { data: [0.5, -1.25, 0.1, 65504], typed: 'Float32Array', out: [0.5, -1.25, 0.0999755859375, 65504] },
    bfloat16: { data: [0.5, -1.25, 0.1, 1024], typed: 'Float32Array', out: [0.5, -1.25, 0.10009765625, 1024] },
    int64: { data: [0, -1, 2 ** 40, -(2 ** 53) + 1], typed: 'BigInt64Array', out: [0, -1, 2 ** 40, -(2 ** 53) + 1] },
    int32: { data: [0, -1, 2 ** 31 - 1, -(2 ** 31)], typed: 'Int32Array', out: [0, -1, 2 ** 31 - 1, -(2 ** 31)] },
    uint8: { data: [0, 1, 128, 255], typed: 'Uint8Array', out: [0, 1, 128, 255] },
    bool: { data: [true, false, false, true], typed: 'Uint8Array', out: [true, false, false, true] },
    int8: { data: [0, -1, 127, -128], typed: 'Int8Array', out: [0, -1, 127, -128] },
    int16: { data: [0, -1, 32767, -32768], typed: 'Int16Array', out: [0, -1, 32767, -32768] },
  };
  assert.deepEqual(Object.keys(cases).sort(), [...DTYPES].sort(), 'every dtype is covered');
  for (const d of DTYPES) {
    const c = cases[d];
    const t = tensor(c.data, { dtype: d });
    assert.equal(t.dtype, d, `${d}: dtype`);
    assert.deepEqual(t.shape, [4]);
    const ta = t.toTypedArray();
    assert.equal(ta.constructor.name, c.typed, `${d}: typed array class`);
    assert.deepEqual(t.toArray(), c.out, `${d}: toArray`);
    // 2-D nested round trip keeps the shape
    const t2 = tensor([c.data.slice(0, 2), c.data.slice(2)] as number[][], { dtype: d });
    assert.deepEqual(t2.toArray(), [c.out.slice(0, 2), c.out.slice(2)], `${d}: nested toArray`);
    // from the typed array back to a tensor of the same dtype (float16/bfloat16 go through float32)
    const back = tensor(ta, { dtype: d, shape: [2, 2] });
    assert.equal(back.dtype, d);
    assert.deepEqual(back.toArray(), [c.out.slice(0, 2), c.out.slice(2)], `${d}: typed array round trip`);
    assert.ok(back.equal(t.reshape(2, 2)), `${d}: equal after round trip`);
  }
  // int64 keeps full 64-bit precision through BigInt64Array
  const big = tensor(new BigInt64Array([2n ** 62n, -(2n ** 63n), 12345678901234567n]));
  assert.equal(big.dtype, 'int64');
  assert.deepEqual(Array.from(big.toTypedArray() as BigInt64Array), [2n ** 62n, -(2n ** 63n), 12345678901234567n]);
  // a bool tensor built from numbers stores 0/1, so it compares equal to true
  const b = tensor([2, 0, -3], { dtype: 'bool' });
  assert.deepEqual(Array.from(b.toTypedArray() as Uint8Array), [1, 0, 1]);
  assert.ok(b.equal(tensor([true, false, true])));
  assert.equal(b.sum().item(), 2);
  // booleans infer bool, numbers float32
  assert.equal(tensor([true]).dtype, 'bool');
  assert.equal(tensor([[1, 2]]).dtype, 'float32');
  assert.equal(tensor(new Int16Array([1, 2])).dtype, 'int16');
  assert.equal(tensor(new Uint8Array([1, 2])).dtype, 'uint8');
}));

test('dtype conversions with .to() follow PyTorch casting', () => tidy(() => {
  assertExact(tensor([1.7, -1.7, 300]).to('int8'), [1, -1, 44]);
  assertExact(tensor([2.5, 0, -3]).to('bool'), [true, false, true]);
  assertExact(tensor([true, false]).to('float32'), [1, 0]);
  assertExact(tensor([0.1]).double(), [0.10000000149011612]);
  assertExact(tensor([0.5, 1024]).to('float16').to('bfloat16').float(), [0.5, 1024]);
  assert.equal(tensor([1]).long().dtype, 'int64');
  assert.equal(tensor([1]).int().dtype, 'int32');
  assert.equal(tensor([1]).bool().dtype, 'bool');
  const x = tensor([1, 2]);
  assert.ok(x.to('float32').sharesStorage(x), 'same dtype without copy aliases');
  assert.ok(!x.to('float32', { copy: true }).sharesStorage(x), 'copy: true copies');
  assert.equal(x.cpu().device, 'cpu');
  assert.equal(x.isFloatingPoint, true);
  assert.equal(x.long().isFloatingPoint, false);
  assert.equal(tensor([3], { dtype: 'int64' }).item(), 3);
  assert.equal(tensor([true]).item(), 1);
}));

// ------------------------------------------------------------------ elementwise
test('elementwise unary ops', () => tidy(() => {
  const a = A();
  const unary: [string, (x: Tensor) => Tensor][] = [
    ['exp', (x) => x.exp()], ['tanh', (x) => x.tanh()], ['sigmoid', (x) => x.sigmoid()], ['relu', (x) => x.relu()],
    ['gelu', (x) => x.gelu()], ['geluTanh', (x) => x.gelu('tanh')], ['silu', (x) => x.silu()], ['erf', (x) => x.erf()],
    ['sin', (x) => x.sin()], ['cos', (x) => x.cos()], ['abs', (x) => x.abs()], ['neg', (x) => x.neg()],
    ['sign', (x) => x.sign()], ['floor', (x) => x.floor()], ['ceil', (x) => x.ceil()], ['round', (x) => x.round()],
    ['square', (x) => x.square()], ['expm1', (x) => x.expm1()], ['quickGelu', (x) => F.quickGelu(x)],
  ];
  for (const [name, f] of unary) assertKnown(f(a), `u_${name}`);
  const p = P();
  const positive: [string, (x: Tensor) => Tensor][] = [
    ['log', (x) => x.log()], ['sqrt', (x) => x.sqrt()], ['rsqrt', (x) => x.rsqrt()],
    ['reciprocal', (x) => x.reciprocal()], ['log1p', (x) => x.log1p()],
  ];
  for (const [name, f] of positive) assertKnown(f(p), `p_${name}`);
  assertExact(tensor([NaN, 1, Infinity]).isnan(), [true, false, false]);
  assertExact(tensor([NaN, 1, Infinity]).isfinite(), [false, true, false]);
  assertExact(tensor([true, false]).logicalNot(), [false, true]);
}));

test('elementwise binary ops, broadcasting, comparisons, clamp', () => tidy(() => {
  const a = A();
  const b = B();
  assertKnown(a.add(b), 'b_add');
  assertKnown(F.add(a, b), 'b_add');
  assertKnown(a.sub(b), 'b_sub');
  assertKnown(a.mul(b), 'b_mul');
  assertKnown(a.div(b), 'b_div');
  assertKnown(P().pow(b), 'b_pow');
  assertKnown(a.add(b, 2.5), 'b_addAlpha');
  assertKnown(a.pow(2), 'b_powScalar');
  assertKnown(a.remainder(0.75), 'b_remainder');
  assertKnown(a.floorDivide(0.75), 'b_floorDiv');
  assertKnown(a.minimum(b), 'b_min');
  assertKnown(a.maximum(b), 'b_max');
  assertKnown(a.mul(tensor([10, 20, 30])).add(tensor([[1], [2]])), 'b_bcast');
  assertKnown(a.lt(b), 'c_lt');
  assertKnown(a.ge(0.5), 'c_ge');
  assertKnown(a.eq(0), 'c_eq');
  assert.equal(a.lt(b).dtype, 'bool');
  assertExact(tensor([1, 2, 3]).ne(2), [true, false, true]);
  assertExact(tensor([1, 2, 3]).le(tensor([1, 1, 4])), [true, false, true]);
  assertExact(tensor([1, 2, 3]).gt(2), [false, false, true]);
  assertKnown(a.clamp(-1, 1), 'clamp');
  assertKnown(a.clamp(0), 'clampMin');
  assertExact(tensor([1, 5]).clamp(null, 2), [1, 2]);
  // integral bounds keep an int tensor int (as torch.clamp(int_tensor, max=2)); a fractional one promotes it
  const longs = tensor([1, 5], { dtype: 'int64' });
  assert.equal(longs.clamp(null, 2).dtype, 'int64');
  assertExact(longs.clamp(2, 4), [2, 4]);
  assert.equal(longs.clamp(null, 2.5).dtype, 'float32');
  assert.equal(longs.clone().clamp_(0, 3).dtype, 'int64');
  // int tensors stay int with integer scalars, as in Python
  const ints = tensor([1, 2, 3], { dtype: 'int64' });
  assert.equal(ints.add(2).dtype, 'int64');
  assert.equal(ints.mul(0.5).dtype, 'float32');
  assertExact(ints.mul(2), [2, 4, 6]);
  const t = tensor([true, false, true]);
  const f = tensor([true, true, false]);
  assertExact(t.logicalAnd(f), [true, false, false]);
  assertExact(t.logicalOr(f), [true, true, true]);
  assertExact(t.logicalXor(f), [false, true, true]);
}));

test('in-place ops mutate and return the same tensor', () => tidy(() => {
  const x = tensor([1, 2, 3]);
  assert.equal(x.add_(1), x);
  assertExact(x, [2, 3, 4]);
  x.add_(tensor([1, 1, 1]), 2);
  assertExact(x, [4, 5, 6]);
  x.sub_(tensor([1, 2, 3]), 1).mul_(2).div_(tensor([2, 3, 3]));
  assertExact(x, [3, 2, 2]);
  x.sub_(1);
  assertExact(x, [2, 1, 1]);
  x.clamp_(1.5, null);
  assertExact(x, [2, 1.5, 1.5]);
  x.maskedFill_(tensor([true, false, true]), -1);
  assertExact(x, [-1, 1.5, -1]);
  x.copy_(tensor([7, 8, 9]));
  assertExact(x, [7, 8, 9]);
  x.fill_(0.5);
  assertExact(x, [0.5, 0.5, 0.5]);
  x.zero_();
  assertExact(x, [0, 0, 0]);
  // a view writes through to its base
  const base = zeros([2, 3]);
  base.select(0, 1).fill_(4);
  assertExact(base, [[0, 0, 0], [4, 4, 4]]);
}));

// ------------------------------------------------------------------ linear algebra
test('matmul, mm, bmm, outer, linear, einsum', () => tidy(() => {
  assertKnown(A().mm(M()), 'mm');
  assertKnown(A().matmul(M()), 'mm');
  assertKnown(F.matmul(A(), M()), 'mm');
  assertKnown(X3().bmm(Y3()), 'bmm');
  assertKnown(F.bmm(X3(), Y3()), 'bmm');
  assertKnown(X3().matmul(M()), 'matmulBcast');
  assertKnown(tensor([1, 2, 3]).outer(tensor([0.5, -1])), 'outer');
  assertKnown(F.linear(A(), tensor([[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]]), tensor([0.01, -0.02])), 'linear');
  assertKnown(F.einsum('ij,jk->ik', A(), M()), 'einsum_ij_jk');
  assertKnown(F.einsum('bij,bjk->bik', X3(), Y3()), 'einsum_bij_bjk');
  assertKnown(F.einsum('ii->', arange(0, 9, 1, { dtype: 'float32' }).reshape(3, 3)), 'einsum_trace');
  assertKnown(F.einsum('i,j->ij', tensor([1, 2]), tensor([3, 4, 5])), 'einsum_outer');
  const x4 = X3().reshape(1, 2, 2, 3);
  assertKnown(F.einsum('bhld,bhmd->bhlm', x4, x4), 'einsum_bhld');
  // linear without bias equals x W^T
  const w = tensor([[1, 0, -1], [2, 1, 0]]);
  assert.ok(F.linear(A(), w).allclose(A().matmul(w.T)));
}));

// ------------------------------------------------------------------ reductions
test('reductions: sum, mean, prod with dims and keepdim', () => tidy(() => {
  const r = R();
  assertKnown(r.sum(), 'sumAll');
  assert.deepEqual(r.sum().shape, []);
  assertKnown(r.sum(1, { keepdim: true }), 'sum1k');
  assertKnown(r.sum([0, 2]), 'sum02');
  assertKnown(r.mean(2), 'mean2');
  assertKnown(r.mean(-1, { keepdim: true }), 'mean2k');
  assertKnown(r.mean(), 'meanAll');
  assert.deepEqual(r.mean([], { keepdim: true }).shape, [1, 1, 1], 'keepdim over all dims keeps rank');
  assertKnown(r.prod(2), 'prod2');
  assertKnown(r.prod(), 'prodAll');
  assert.deepEqual(r.prod(0, true).shape, [1, 2, 4]);
  assert.equal(tensor([1, 2], { dtype: 'int32' }).sum().dtype, 'int64', 'integer sums promote to int64');
  assert.equal(tensor([1, 2]).sum(0, { dtype: 'float64' }).dtype, 'float64');
}));

test('reductions: max/min (values and indices), amax/amin, argmax/argmin', () => tidy(() => {
  const r = R();
  const m = r.max(2);
  assertKnown(m.values, 'max2v');
  assertKnown(m.indices, 'max2i');
  assert.equal(m.indices.dtype, 'int64');
  const n = r.min(1, true);
  assertKnown(n.values, 'min1kv');
  assertKnown(n.indices, 'min1ki');
  assertKnown(r.max(), 'maxAll');
  assertKnown(r.min(), 'minAll');
  assertKnown(r.amax([0, 2]), 'amax02');
  assertKnown(r.amin(1, true), 'amin1k');
  assertKnown(r.argmax(2), 'argmax2');
  assertKnown(r.argmax(), 'argmaxAll');
  assertKnown(r.argmin(0, true), 'argmin0k');
}));

test('reductions: logsumexp, var, std, norm', () => tidy(() => {
  const r = R();
  assertKnown(r.logsumexp(2), 'lse2');
  assertKnown(r.logsumexp([0, 1], true), 'lse01k');
  assertKnown(r.logsumexp([0, 1, 2]), 'lseAll');
  assertKnown(r.logsumexp([]), 'lseAll');
  assertKnown(r.var(2), 'var2');
  assertKnown(r.var(2, { correction: 0 }), 'var2c0');
  assertKnown(r.var(), 'varAll');
  assertKnown(r.var(1, { keepdim: true }), 'var1k');
  assertKnown(r.std(2), 'std2');
  assertKnown(r.std(), 'stdAll');
  assertKnown(r.std(0, { correction: 0, keepdim: true }), 'std0c0k');
  assertKnown(r.norm(), 'norm2');
  assertKnown(r.norm(1, 2), 'norm1d2');
  assertKnown(r.norm(2, 1, true), 'norm2d1k');
  assertKnown(r.norm(Infinity, 2), 'normInf');
}));

test('reductions: any, all, cumsum, countNonzero, allclose, equal', () => tidy(() => {
  const bo = tensor([[true, false, true], [false, false, true]]);
  assertKnown(bo.any(1), 'any1');
  assertKnown(bo.all(0), 'all0');
  assertKnown(bo.any(), 'anyAll');
  assertKnown(bo.all(), 'allAll');
  assert.deepEqual(bo.any(1, true).shape, [2, 1]);
  assertKnown(R().cumsum(1), 'cumsum1');
  assertKnown(R().cumsum(-1), 'cumsum2');
  const ci = i64([1, 2, 3, 4]).cumsum(0);
  assert.equal(ci.dtype, 'int64');
  assertKnown(ci, 'cumsumInt');
  assertKnown(tensor([[0, 1, 2], [0, 0, 3]]).countNonzero(1), 'countNz');
  assert.equal(tensor([[0, 1, 2], [0, 0, 3]]).countNonzero().item(), 3);
  assert.ok(tensor([1, 2]).allclose(tensor([1, 2 + 1e-7])));
  assert.ok(!tensor([1, 2]).allclose(tensor([1, 2.1])));
  assert.ok(tensor([1, 2]).equal(tensor([1, 2])));
  assert.ok(!tensor([1, 2]).equal(tensor([1, 3])));
}));

test('softmax and logSoftmax along a dim', () => tidy(() => {
  assertKnown(A().softmax(1), 'softmax1');
  assertKnown(F.softmax(A(), 0), 'softmax0');
  assertKnown(A().logSoftmax(1), 'logSoftmax1');
  assertKnown(F.logSoftmax(A(), -1), 'logSoftmax1');
  const sm = A().softmax(-1).sum(-1);
  assertValues(sm.toFlatArray(), [1, 1], 'rows sum to 1', 1e-6);
}));

// ------------------------------------------------------------------ shape ops
test('reshape, view, permute, transpose, squeeze/unsqueeze, flatten, expand, repeat', () => tidy(() => {
  const q = Q();
  assert.deepEqual(q.reshape(4, 6).shape, [4, 6]);
  assert.deepEqual(q.reshape([-1, 4]).shape, [6, 4]);
  assert.deepEqual(q.view(3, -1).shape, [3, 8]);
  assert.ok(q.view(24).sharesStorage(q), 'view shares storage');
  assertKnown(q.permute(2, 0, 1), 'permute');
  assertKnown(q.permute([2, 0, 1]), 'permute');
  assertKnown(q.transpose(0, 2), 'transpose');
  assert.ok(!q.transpose(0, 2).isContiguous());
  assert.ok(q.transpose(0, 2).contiguous().isContiguous());
  assert.deepEqual(q.strides, [12, 4, 1]);
  assertExact(tensor([[1, 2], [3, 4]]).T, [[1, 3], [2, 4]]);
  const u = q.unsqueeze(1);
  assert.deepEqual(u.shape, [2, 1, 3, 4]);
  assert.deepEqual(u.squeeze(1).shape, [2, 3, 4]);
  assert.deepEqual(zeros([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(q.flatten().shape, [24]);
  assert.deepEqual(q.flatten(1).shape, [2, 12]);
  assert.deepEqual(q.flatten(0, 1).shape, [6, 4]);
  assertKnown(tensor([[1], [2]]).expand(2, 3), 'expand');
  assertExact(tensor([[1], [2]]).expand(-1, 2), [[1, 1], [2, 2]]);
  assertExact(tensor([1, 2]).expandAs(zeros([2, 2])), [[1, 2], [1, 2]]);
  assertKnown(tensor([[1, 2]]).repeat(2, 3), 'repeat');
  assertKnown(tensor([[1, 2], [3, 4]]).repeatInterleave(2, 0), 'repeatInterleave');
  assertExact(tensor([1, 2]).repeatInterleave(2), [1, 1, 2, 2]);
}));

test('narrow, slice, select, diagonal, tril/triu, flip, roll', () => tidy(() => {
  const q = Q();
  assertKnown(q.narrow(2, 1, 2), 'narrow');
  assertKnown(q.slice(2, 1, null, 2), 'slice');
  assertKnown(q.slice(1, -2).slice(2, null, -1), 'sliceNeg');
  assert.deepEqual(q.slice(0, 5, 100).shape, [0, 3, 4], 'out-of-range bounds clamp as in Python');
  assertKnown(q.select(1, 2), 'select');
  assertExact(q.select(2, -1).select(0, 0), [3, 7, 11]);
  const t = T4();
  assertKnown(t.diagonal(), 'diagonal');
  assertKnown(t.diagonal(1), 'diagonal1');
  assertKnown(t.tril(), 'tril');
  assertKnown(t.tril(-1), 'trilm1');
  assertKnown(t.triu(1), 'triu1');
  assertKnown(t.triu(), 'triu');
  assertKnown(q.flip(0), 'flip0');
  assertKnown(q.flip([1, 2]), 'flip12');
  const a6 = arange(0, 6, 1, { dtype: 'float32' });
  assertKnown(a6.roll(2, 0), 'roll1');
  assertKnown(a6.roll(-1, 0), 'rollNeg');
  assertKnown(t.roll([1, -1], [0, 1]), 'roll2d');
}));

test('cat, stack, split, chunk, unbind', () => tidy(() => {
  assertKnown(F.cat([A(), B()], 0), 'cat0');
  assertKnown(F.cat([A(), B(), A()], 1), 'cat1');
  assertKnown(F.cat([A(), B(), A()], -1), 'cat1');
  assertKnown(F.stack([A(), B()]), 'stack0');
  assertKnown(F.stack([A(), B()], 2), 'stack2');
  const x = arange(0, 10, 1, { dtype: 'float32' });
  const parts = x.split(4);
  assert.deepEqual(parts.map((p) => p.toArray()), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const sized = x.split([2, 5, 3]);
  assert.deepEqual(sized.map((p) => p.shape[0]), [2, 5, 3]);
  assertExact(sized[1]!, [2, 3, 4, 5, 6]);
  const q = Q();
  const cols = q.split(1, 2);
  assert.equal(cols.length, 4);
  assert.deepEqual(cols[0]!.shape, [2, 3, 1]);
  const chunks = x.chunk(3);
  assert.deepEqual(chunks.map((p) => p.toArray()), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(q.chunk(2, 1).map((p) => p.shape), [[2, 2, 4], [2, 1, 4]]);
  const rows = q.unbind(1);
  assert.equal(rows.length, 3);
  assertExact(rows[2]!, [[8, 9, 10, 11], [20, 21, 22, 23]]);
  // cat of pieces gives back the whole
  assert.ok(F.cat(q.chunk(3, 2), 2).equal(q));
}));

test('topk, sort, argsort', () => tidy(() => {
  const v = tensor([3, 1, 4, 1.5, 5, 9, 2, 6]);
  const tk = v.topk(3);
  assertKnown(tk.values, 'topkV');
  assertKnown(tk.indices, 'topkI');
  const m = tensor([[3, 1, 4], [1.5, 5, 0]]);
  const small = F.topk(m, 2, 1, false);
  assertKnown(small.values, 'topkSmallV');
  assertKnown(small.indices, 'topkSmallI');
  const s = v.sort();
  assertKnown(s.values, 'sortV');
  assertKnown(s.indices, 'sortI');
  const sd = m.sort(0, true);
  assertKnown(sd.values, 'sortDescV');
  assertKnown(sd.indices, 'sortDescI');
  assertKnown(tensor([3, 1, 4, 1.5]).argsort(-1, true), 'argsort');
  // stable sort keeps equal keys in order
  assertExact(tensor([2, 1, 2, 1, 2]).sort(0, false, true).indices, [1, 3, 0, 2, 4]);
}));

// ------------------------------------------------------------------ indexing
test('gather, scatter, scatterAdd, indexSelect, index, indexPut', () => tidy(() => {
  assertKnown(A().gather(1, i64([[2, 0], [1, 1]])), 'gather1');
  assertKnown(A().gather(0, i64([[1, 0, 1]])), 'gather0');
  assertKnown(zeros([2, 4]).scatter(1, i64([[3, 0], [1, 2]]), tensor([[5, 6], [7, 8]])), 'scatter1');
  assertKnown(zeros([2, 4]).scatter(1, i64([[3], [0]]), 9), 'scatterScalar');
  assertKnown(ones([3]).scatterAdd(0, i64([0, 2, 0, 0]), tensor([1, 2, 3, 4])), 'scatterAdd');
  assertKnown(zeros([2, 3]).scatterAdd(1, i64([[0, 0, 2], [1, 1, 1]]), tensor([[1, 2, 3], [4, 5, 6]])), 'scatterAdd2');
  const base = zeros([3]);
  base.scatterAdd(0, i64([0]), tensor([1]));
  assertExact(base, [0, 0, 0], 'scatterAdd is out of place');
  assertKnown(Q().indexSelect(1, i64([2, 0, 2])), 'indexSelect');
  assertKnown(Q().indexSelect(1, tensor([2, 0, 2], { dtype: 'int32' })), 'indexSelect');
  assertKnown(Q().index(i64([1, 0]), i64([2, 1])), 'index');
  assertKnown(A().index(tensor([false, true])), 'indexBool');
  assertKnown(zeros([4]).indexPut([i64([0, 2, 0])], tensor([1, 2, 3]), true), 'indexPut');
  assertExact(zeros([4]).indexPut([i64([1, 3])], tensor([5, 6])), [0, 5, 0, 6]);
}));

test('maskedFill, maskedSelect, where, nonzero', () => tidy(() => {
  const a = A();
  assertKnown(a.maskedFill(a.lt(0), -9), 'maskedFill');
  assertKnown(a.maskedFill(tensor([true, false, true]), 0), 'maskedFillBcast');
  assertExact(tensor([1, 2]).maskedFill(tensor([false, true]), scalar(5)), [1, 5]);
  assertKnown(a.maskedSelect(a.gt(0.4)), 'maskedSelect');
  assertKnown(F.where(a.gt(0), a, B()), 'where');
  assertKnown(a.where(a.gt(0), B()), 'where');
  assertKnown(a.where(a.gt(0), 0), 'whereScalar');
  assertKnown(F.where(a.gt(0), 1, -1), 'whereSS');
  const nz = tensor([[0, 1], [2, 0]]).nonzero();
  assert.equal(nz.dtype, 'int64');
  assertKnown(nz, 'nonzero');
}));

test('clone is independent, alias and views share storage', () => tidy(() => {
  const x = tensor([1, 2, 3]);
  const c = x.clone();
  c.fill_(0);
  assertExact(x, [1, 2, 3]);
  assert.ok(!c.sharesStorage(x));
  const al = x.alias();
  assert.ok(al.isSame(x));
  al.fill_(7);
  assertExact(x, [7, 7, 7]);
  al.dispose();
  assertExact(x, [7, 7, 7], 'disposing an alias leaves the original usable');
  const d = x.detach();
  assert.ok(d.sharesStorage(x));
  assert.ok(!d.isSame(x));
  const dv = new Float32Array(x.dataView());
  dv[0] = 42;
  assert.equal(x.toFlatArray()[0], 42, 'dataView is zero-copy');
  assert.match(x.toString(), /shape=\[3\], dtype=float32, device=cpu/);
}));
