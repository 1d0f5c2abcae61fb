// The fused CPU kernels (native/attention.cc, native/quick_gelu.cc) against the ATen composites they
// replace, written here with tensor ops: outputs and gradients for the shapes, strides and masks the models
// use, the same dropout draws for a seed, and the inputs they leave to the composites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { native } from '../src/native/binding.js';
import { F, Tensor, countFlops, getNumThreads, manualSeed, profileOps, randn, setNumThreads, tensor, tidy } from '../src/tensor/index.js';

/** softmax(q k^T / sqrt(d) + mask) v with dropout on the probabilities: the composite, op by op. */
function composite(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, p = 0, train = false): Tensor {
  const s = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(q.size(-1)));
  const probs = (mask ? s.add(mask) : s).softmax(-1);
  return F.dropout(probs, p, train).matmul(v);
}

function maxDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

/** q, k, v [B, h, L, d] as the models make them: head-split views of [B, L, h*d] projections. */
function headViews(B: number, h: number, Lq: number, Lk: number, d: number): [Tensor, Tensor, Tensor] {
  const split = (L: number): Tensor => randn([B, L, h * d]).view(B, L, h, d).permute(0, 2, 1, 3).detach().requiresGrad_();
  return [split(Lq), split(Lk), split(Lk)];
}

/** Output and input gradients of sum(attention * g) for fn. */
function run(fn: () => Tensor, inputs: Tensor[], g: Tensor): Tensor[] {
  for (const x of inputs) x.grad = null;
  const out = fn();
  out.mul(g).sum().backward();
  return [out.detach(), ...inputs.map((x) => x.grad!.clone())];
}

function assertSame(fused: Tensor[], ref: Tensor[], atol: number, what: string): void {
  ['output', 'dq', 'dk', 'dv'].forEach((name, i) => {
    assert.deepEqual(fused[i]!.shape, ref[i]!.shape, `${what}: ${name} shape`);
    const d = maxDiff(fused[i]!, ref[i]!);
    assert.ok(d <= atol, `${what}: ${name} differs by ${d}`);
  });
}

const fusedOn = process.env.FLM_FUSED_KERNELS !== '0' && existsSync('/proc/cpuinfo') && /\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8')) && /\bfma\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

test('fused attention = the composite: outputs and gradients, for every mask form and odd sizes', () => tidy(() => {
  manualSeed(3);
  const cases: [number, number, number, number, number, ((B: number, h: number, Lq: number, Lk: number) => Tensor) | null][] = [
    [2, 4, 24, 24, 64, (B, _h, Lq, Lk) => randn([B, 1, Lq, Lk]).mul(3)], // text self-attention: [B, 1, L, L]
    [3, 4, 24, 65, 64, (B, _h, _Lq, Lk) => randn([B, 1, 1, Lk]).mul(3)], // cross-attention to the image: a key mask
    [2, 4, 24, 48, 64, (_B, _h, Lq, Lk) => randn([Lq, Lk]).mul(3)], // the reconstructor's shape, a 2-D mask
    [2, 4, 65, 65, 64, null], // the ViT: no mask
    [2, 3, 7, 13, 20, (B, h, Lq, Lk) => randn([B, h, Lq, Lk])], // nothing a multiple of 8, a full mask
    [1, 1, 1, 1, 1, null],
    [2, 2, 9, 17, 8, (B, _h, _Lq, Lk) => randn([B, 1, 1, Lk]).gt(0).logicalNot().to('float32').mul(-10000)], // blocked keys
  ];
  for (const [B, h, Lq, Lk, d, makeMask] of cases) {
    const [q, k, v] = headViews(B, h, Lq, Lk, d);
    const mask = makeMask ? makeMask(B, h, Lq, Lk) : null;
    const g = randn([B, h, Lq, d]);
    let fused: Tensor[] = [];
    const ops = profileOps(() => { fused = run(() => F.attention(q, k, v, mask), [q, k, v], g); }).map((t) => t.op);
    if (fusedOn) assert.ok(ops.includes('flm::attention_scores'), `[${B}, ${h}, ${Lq}, ${Lk}, ${d}]: the fused kernel ran`);
    const ref = run(() => composite(q, k, v, mask), [q, k, v], g);
    assertSame(fused, ref, 2e-5 * Math.sqrt(Lk), `[${B}, ${h}, ${Lq}, ${Lk}, ${d}]`);
  }
}));

test('fused attention reads strided heads in place (a chunk of a packed q/k/v projection) and merges heads for free', () => tidy(() => {
  manualSeed(4);
  const [B, L, h, d] = [2, 10, 4, 16];
  const qkv = randn([B, L, 3 * h * d]).requiresGrad_();
  const heads = (): Tensor[] => qkv.chunk(3, -1).map((t) => t.view(B, L, h, d).permute(0, 2, 1, 3));
  const g = randn([B, L, h * d]);
  const merged = (fn: (q: Tensor, k: Tensor, v: Tensor) => Tensor): Tensor[] => {
    qkv.grad = null;
    const [q, k, v] = heads() as [Tensor, Tensor, Tensor];
    const out = fn(q, k, v).permute(0, 2, 1, 3).reshape(B, L, h * d);
    out.mul(g).sum().backward();
    return [out.detach(), qkv.grad!.clone()];
  };
  const fused = merged((q, k, v) => F.attention(q, k, v, null));
  const ref = merged((q, k, v) => composite(q, k, v, null));
  assert.ok(maxDiff(fused[0]!, ref[0]!) < 1e-5);
  assert.ok(maxDiff(fused[1]!, ref[1]!) < 1e-5);
  if (fusedOn) {
    const [q, k, v] = heads() as [Tensor, Tensor, Tensor];
    assert.ok(F.attention(q, k, v, null).permute(0, 2, 1, 3).isContiguous(), 'the kernel writes in merged-head order: merging is a view');
    assert.ok(!composite(q, k, v, null).permute(0, 2, 1, 3).isContiguous(), 'the composite\'s is not');
  }
}));

test('fused attention dropout draws what ATen dropout draws for the same seed, and scales the gradient by it', () => tidy(() => {
  const [B, h, Lq, Lk, d] = [2, 4, 12, 20, 16];
  manualSeed(5);
  const [q, k, v] = headViews(B, h, Lq, Lk, d);
  const mask = randn([B, 1, 1, Lk]);
  const g = randn([B, h, Lq, d]);
  manualSeed(99);
  const fused = run(() => F.attention(q, k, v, mask, 0.3, true), [q, k, v], g);
  manualSeed(99);
  const ref = run(() => composite(q, k, v, mask, 0.3, true), [q, k, v], g);
  assertSame(fused, ref, 1e-4, 'dropout 0.3');
  manualSeed(100);
  const other = run(() => F.attention(q, k, v, mask, 0.3, true), [q, k, v], g);
  assert.ok(maxDiff(other[0]!, fused[0]!) > 1e-3, 'another seed drops other probabilities');
  const evalMode = run(() => F.attention(q, k, v, mask, 0.3, false), [q, k, v], g);
  assertSame(evalMode, run(() => composite(q, k, v, mask), [q, k, v], g), 1e-4, 'no dropout outside training');
}));

test('inputs the kernel leaves to the composite give the composite\'s results', () => tidy(() => {
  manualSeed(6);
  // float64, 3-D operands, a mask that needs a gradient, k and v broadcast over the batch
  const q64 = randn([2, 3, 5, 8], { dtype: 'float64' });
  const k64 = randn([2, 3, 6, 8], { dtype: 'float64' });
  assert.ok(maxDiff(F.attention(q64, k64, k64, null), composite(q64, k64, k64, null)) < 1e-12);
  const q3 = randn([4, 5, 8]);
  const k3 = randn([4, 6, 8]);
  assert.ok(maxDiff(F.attention(q3, k3, k3, null), composite(q3, k3, k3, null)) < 1e-6);
  const [q, k, v] = headViews(2, 2, 5, 6, 8);
  const m = randn([2, 1, 5, 6]).requiresGrad_();
  const out = F.attention(q, k, v, m);
  out.sum().backward();
  assert.ok(m.grad, 'a mask that needs a gradient gets one');
  const kb = randn([1, 2, 6, 8]);
  assert.ok(maxDiff(F.attention(q.detach(), kb, kb, null), composite(q.detach(), kb, kb, null)) < 1e-5);
  assert.throws(() => F.attention(q, randn([2, 2, 6, 7]), v, null), /attention/);
}));

test('the fused kernel is what runs for float32 CPU heads (its phases show in the op profile)', { skip: !fusedOn && 'no AVX2/FMA or FLM_FUSED_KERNELS=0' }, () => {
  const [q, k, v] = headViews(2, 4, 8, 8, 16);
  const ops = profileOps(() => tidy(() => F.attention(q, k, v, null).sum().backward())).map((t) => t.op);
  for (const phase of ['flm::attention_scores', 'flm::attention_context', 'flm::attention_backward_probs_values', 'flm::attention_backward_queries_keys']) {
    assert.ok(ops.includes(phase), `${phase} in ${ops.join(', ')}`);
  }
  assert.ok(!ops.includes('aten::bmm'), 'no batched product from the composite');
  // its products are counted as the composite's bmm calls would be: 2 of [8 x 16] . [16 x 8] per head forward, 4 backward
  const flops = countFlops(() => tidy(() => F.attention(q, k, v, null).sum().backward()));
  const fused = flops.byOp.find((c) => c.op === 'attention (fused)');
  const perProduct = 2 * 2 * 4 * 8 * 8 * 16;
  assert.deepEqual(fused, { op: 'attention (fused)', calls: 4, forward: 2 * perProduct, backward: 4 * perProduct });
  assert.equal(flops.byOp.find((c) => c.op === 'bmm'), undefined);
  for (const t of [q, k, v]) t.dispose();
});

test('fused QuickGELU = x * sigmoid(1.702 x): values and gradients, saturated and special inputs, strided and float64 inputs', () => tidy(() => {
  manualSeed(7);
  const quick = (x: Tensor): Tensor => x.mul(x.mul(1.702).sigmoid());
  for (const x of [randn([3, 1000, 37]).mul(4), tensor([-1000, -60, -20, -1, -1e-30, 0, 1e-30, 1, 20, 60, 1000])]) {
    const a = x.detach().requiresGrad_();
    const g = randn(x.shape);
    let y = a;
    const ops = profileOps(() => { y = F.quickGelu(a); }).map((t) => t.op);
    if (fusedOn) assert.ok(ops.includes('flm::quick_gelu'), 'the fused kernel ran');
    y.mul(g).sum().backward();
    const dFused = a.grad!.clone();
    a.grad = null;
    const yRef = quick(a);
    yRef.mul(g).sum().backward();
    // relative to the values: outputs reach |x| * 4
    assert.ok(maxDiff(y, yRef) <= 1e-6 * Math.max(1, tidy(() => yRef.abs().max().item())), `values differ by ${maxDiff(y, yRef)}`);
    assert.ok(maxDiff(dFused, a.grad!) <= 2e-6 * Math.max(1, tidy(() => g.abs().max().item())), `gradients differ by ${maxDiff(dFused, a.grad!)}`);
  }
  const special = F.quickGelu(tensor([NaN, Infinity])).toFlatArray();
  assert.ok(Number.isNaN(special[0]) && special[1] === Infinity, JSON.stringify(special));
  const strided = randn([6, 10]).T;
  assert.ok(maxDiff(F.quickGelu(strided), quick(strided)) < 1e-6, 'a transposed input');
  const x64 = randn([50], { dtype: 'float64' });
  assert.ok(maxDiff(F.quickGelu(x64), quick(x64)) < 1e-12, 'float64 keeps the composite');
  assert.equal(F.quickGelu(x64).dtype, 'float64');
}));

test('the addon\'s own parallel loops (fused kernels, AdamW) use the intra-op threads', { skip: availableParallelism() < 2 && 'one core' }, () => {
  const before = getNumThreads();
  try {
    setNumThreads(2);
    assert.equal(native.parallelForThreads(), 2, 'built without OpenMP, at::parallel_for in the addon runs on one thread');
    setNumThreads(1);
    assert.equal(native.parallelForThreads(), 1);
  } finally {
    setNumThreads(before);
  }
});
