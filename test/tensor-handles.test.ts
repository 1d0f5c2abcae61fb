// Tensor handles (numbers: a slot of the addon's tensor table and its generation) and the cheap dispatch
// path: a freed handle is an error naming the op, never another tensor; dispose is idempotent; tidy frees
// what it made; a tensor JS forgot outside every scope is freed by the garbage collector; memory() is exact
// over long loops; tensor-or-scalar arguments reach the right native entry; FLOPs are counted exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from '../src/native/binding.js';
import {
  F, Tensor, TorchError, countFlops, profileOps, keep, memory, ones, randn, tensor, tidy, zeros,
} from '../src/tensor/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Full collections until memory() stops changing (the guards' finalizers run during collection). Every
 * test that compares memory() first collects what earlier tests left to the collector, which could
 * otherwise be freed in the middle of a measurement.
 */
function collect(): void {
  let before = -1;
  for (let i = 0; i < 10 && memory().numTensors !== before; i++) {
    before = memory().numTensors;
    gc();
  }
}

function throwsTorch(fn: () => unknown, op: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TorchError, String(e));
    assert.equal(e.op, op, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('use after dispose is an error naming the called function, through methods, functions and the raw binding', () => {
  const t = ones([3]);
  const h = t.handle;
  t.dispose();
  throwsTorch(() => t.add(1), 'add', /^add: argument 0 \(a\) \(a tensor\) was used after dispose\(\)/);
  throwsTorch(() => F.relu(t), 'relu', /used after dispose/);
  throwsTorch(() => ones([3]).mul(t), 'mul', /argument 1 \(b\) \(a tensor\) was used after dispose\(\)/);
  throwsTorch(() => t.shape, 'shape', /used after dispose/);
  throwsTorch(() => native.neg(h), 'neg', /^neg: argument 0 \(a\) \(a tensor\) was used after dispose\(\) \(a: disposed\)$/);
  assert.equal(native.isDisposed(h), true);
  // anything that never was a handle is "must be a tensor"
  throwsTorch(() => native.neg(1.5 as never), 'neg', /^neg: argument 0 \(a\) must be a tensor$/);
  throwsTorch(() => native.neg({} as never), 'neg', /must be a tensor/);
  throwsTorch(() => native.dispose('x' as never), 'dispose', /must be a tensor/);
});

test('a stale handle never reaches the tensor that reuses its slot', () => {
  const t = ones([2]);
  const stale = t.handle;
  t.dispose();
  // thousands of tensors come and go: freed slots are reused, each with a new generation
  const live: Tensor[] = [];
  for (let i = 0; i < 20_000; i++) {
    live.push(zeros([1]));
    if (live.length > 50) live.shift()!.dispose();
  }
  throwsTorch(() => native.neg(stale), 'neg', /used after dispose/);
  const before = memory().numTensors;
  native.dispose(stale); // a no-op: it frees nobody else's tensor
  assert.equal(memory().numTensors, before);
  for (const x of live) x.dispose();
});

test('dispose is idempotent and counted once', () => {
  collect();
  const m0 = memory();
  const t = randn([4, 4]);
  assert.equal(memory().numTensors, m0.numTensors + 1);
  assert.equal(memory().numBytes, m0.numBytes + 64);
  t.dispose();
  t.dispose();
  t[Symbol.dispose]();
  native.dispose(t.handle);
  assert.equal(t.isDisposed, true);
  assert.deepEqual(memory(), m0);
});

test('tidy frees the tensors made inside it, also through the cheap path, and keeps what escapes', () => {
  const x = ones([8]);
  collect();
  const m0 = memory().numTensors;
  const kept = tidy(() => {
    let y = x;
    for (let i = 0; i < 100; i++) y = F.add(x, y);
    const a = x.mul(2); // not returned: freed
    assert.ok(!a.isDisposed);
    return y;
  });
  assert.equal(memory().numTensors, m0 + 1);
  assert.deepEqual(kept.toFlatArray(), Array(8).fill(101));
  kept.dispose();
  x.dispose();
  assert.equal(memory().numTensors, m0 - 1);
});

test('10,000 ops: memory() returns exactly to its start, in and out of tidy', () => {
  const x = ones([16]);
  collect();
  const m0 = memory();
  tidy(() => {
    let y = x;
    for (let i = 0; i < 10_000; i++) {
      const next = F.add(x, y);
      if (y !== x) y.dispose();
      y = next;
    }
  });
  assert.deepEqual(memory(), m0);
  // each mul result is forgotten outside every scope: the collector frees it (the loop runs in its own
  // function, whose frame would otherwise hold the last one)
  (() => {
    for (let i = 0; i < 10_000; i++) x.mul(i % 3).relu().dispose();
  })();
  collect();
  assert.deepEqual(memory(), m0, 'the intermediate of each x.mul(..).relu() was forgotten: the GC freed it');
  for (let i = 0; i < 10_000; i++) {
    const a = x.sub(1);
    const b = a.add_(2).mul_(x);
    assert.equal(a, b);
    a.dispose();
  }
  assert.deepEqual(memory(), m0);
  x.dispose();
});

test('the garbage collector frees a tensor JS forgot (outside every scope), also in a synchronous loop', () => {
  collect();
  const m0 = memory();
  (() => {
    for (let i = 0; i < 1000; i++) randn([64]);
  })();
  assert.ok(memory().numTensors >= m0.numTensors, 'made');
  collect();
  assert.deepEqual(memory(), m0, 'forgotten tensors are freed by the collector');
  // a tensor returned from the outermost tidy, and a kept one, are guarded too
  (() => {
    tidy(() => randn([8]));
    tidy(() => keep(randn([8])));
  })();
  collect();
  assert.deepEqual(memory(), m0);
  // a long synchronous loop that forgets large tensors stays bounded (no event-loop turn needed)
  let peak = 0;
  for (let i = 0; i < 3000; i++) {
    zeros([64 * 1024]); // 256 KiB each, forgotten: 750 MiB if none were freed
    if (i % 100 === 0) peak = Math.max(peak, memory().numBytes - m0.numBytes);
  }
  assert.ok(peak < 400 * 2 ** 20, `peak ${(peak / 2 ** 20).toFixed(0)} MiB of forgotten tensors`);
  collect();
  assert.deepEqual(memory(), m0);
});

test('a live tensor is never freed by the collector while a wrapper of it is reachable', () => {
  collect();
  const m0 = memory().numTensors;
  const t = randn([4]);
  const values = t.toFlatArray();
  const second = new Tensor(t.handle); // two wrappers of one handle, both outside every scope
  collect();
  assert.deepEqual(second.toFlatArray(), values);
  assert.deepEqual(t.toFlatArray(), values);
  assert.equal(memory().numTensors, m0 + 1);
  second.dispose(); // frees the handle for both
  throwsTorch(() => t.neg(), 'neg', /used after dispose/);
});

test('tensor-or-scalar arguments: the tensor and the scalar entry give PyTorch\'s results', () => tidy(() => {
  const a = tensor([1, 2, 3]);
  const b = tensor([10, 20, 30]);
  assert.deepEqual(a.add(b).toFlatArray(), [11, 22, 33]);
  assert.deepEqual(a.add(2).toFlatArray(), [3, 4, 5]);
  assert.deepEqual(a.add(b, 2).toFlatArray(), [21, 42, 63]);
  assert.deepEqual(a.mul(true).toFlatArray(), [1, 2, 3]);
  assert.deepEqual(a.pow(2).toFlatArray(), [1, 4, 9]);
  assert.deepEqual(a.gt(b.div(10)).toFlatArray(), [0, 0, 0]);
  assert.deepEqual(a.ge(2).toFlatArray(), [0, 1, 1]);
  assert.equal(tensor([1, 2], { dtype: 'int64' }).mul(3).dtype, 'int64', 'an integral scalar keeps an int tensor int');
  const mask = tensor([1, 0, 1]).bool();
  assert.deepEqual(a.maskedFill(mask, -1).toFlatArray(), [-1, 2, -1]);
  assert.deepEqual(a.maskedFill(mask, tensor(7)).toFlatArray(), [7, 2, 7]);
  assert.deepEqual(F.where(mask, a, b).toFlatArray(), [1, 20, 3]);
  assert.deepEqual(F.where(mask, 0, b).toFlatArray(), [0, 20, 0]);
  assert.deepEqual(F.where(mask, a, 5).toFlatArray(), [1, 5, 3]);
  assert.deepEqual(F.where(mask, 1, 2).toFlatArray(), [1, 2, 1]);
  assert.deepEqual(a.where(mask, 9).toFlatArray(), [1, 9, 3]);
  const idx = tensor([[0, 2]], { dtype: 'int64' });
  assert.deepEqual(zeros([1, 3]).scatter(1, idx, 5).toFlatArray(), [5, 0, 5]);
  assert.deepEqual(zeros([1, 3]).scatter(1, idx, tensor([[1, 2]])).toFlatArray(), [1, 0, 2]);
  const c = a.clone();
  c.add_(1).sub_(b, 0.1).mul_(2).div_(tensor([1, 2, 4]));
  assert.deepEqual(c.toFlatArray().map((v) => Math.round(v * 1e4) / 1e4), [2, 1, 0.5]);
  throwsTorch(() => a.add('1' as never), 'add', /^add: argument other must be a Tensor or a number, got string$/);
  throwsTorch(() => a.mul_({} as never), 'mul_', /must be a Tensor or a number, got an object/);
}));

test('public errors keep naming the called function: methods taken off their tensor and lookalikes', () => tidy(() => {
  const t = ones([2]);
  const add = t.add;
  throwsTorch(() => add(1), 'add', /called on undefined, not a Tensor/);
  const lookalike = Object.create(Tensor.prototype) as Tensor;
  throwsTorch(() => lookalike.relu(), 'relu', /called on an object posing as a Tensor/);
  throwsTorch(() => t.add(lookalike), 'add', /posing as a Tensor/);
  throwsTorch(() => F.add(new Proxy(t, {}), 1), 'add', /argument a must be a Tensor/);
  throwsTorch(() => F.matmul(t, 3 as never), 'matmul', /argument b must be a Tensor, got number/);
  // an error from a native op inside another public function names the function called
  throwsTorch(() => t.argsort(5), 'argsort', /argsort: /);
}));

test('countFlops counts matrix products and convolutions exactly, forward and backward', () => {
  const a = randn([64, 32]).requiresGrad_();
  const b = randn([32, 16]).requiresGrad_();
  const w = randn([8, 3, 4, 4]).requiresGrad_();
  const x = randn([2, 3, 16, 16]);
  const r = countFlops(() => tidy(() => {
    a.matmul(b).sum().backward(); // 1 mm forward, 2 backward
    F.linear(randn([5, 7, 32]), b.T).sum().backward(); // 1 mm forward (35 x 32 x 16), 1 backward (weight only)
    F.conv2d(x, w, null, { stride: 4 }).sum().backward(); // 4x4 outputs; backward: weight only
    randn([3, 4, 5]).bmm(randn([3, 5, 6])); // 2 * 3*4*5*6
  }));
  const mm = 2 * 64 * 32 * 16;
  const lin = 2 * 35 * 32 * 16;
  const conv = 2 * 2 * (8 * 3 * 4 * 4) * (4 * 4);
  const byOp = Object.fromEntries(r.byOp.map((c) => [c.op, c]));
  assert.deepEqual(byOp.mm, { op: 'mm', calls: 5, forward: mm + lin, backward: 2 * mm + lin });
  assert.deepEqual(byOp.convolution, { op: 'convolution', calls: 1, forward: conv, backward: 0 });
  assert.deepEqual(byOp.convolution_backward, { op: 'convolution_backward', calls: 1, forward: 0, backward: conv });
  assert.deepEqual(byOp.bmm, { op: 'bmm', calls: 1, forward: 2 * 3 * 4 * 5 * 6, backward: 0 });
  assert.equal(r.total, r.forward + r.backward);
  assert.equal(r.total, 3 * mm + 2 * lin + 2 * conv + 2 * 3 * 4 * 5 * 6);
  assert.equal(countFlops(() => tidy(() => ones([4]).add(1))).total, 0, 'elementwise ops are not counted');
  throwsTorch(() => countFlops(() => countFlops(() => {})), 'countFlops', /already on/);
  assert.equal(countFlops(() => {}).total, 0, 'a failed nested count leaves the counter usable');
  throwsTorch(() => countFlops(3 as never), 'countFlops', /must be a function/);
  for (const t of [a, b, w, x]) t.dispose();
});

test('profileOps times every aten op by name, self time within total, nested ops apart', () => {
  const a = randn([256, 256]).requiresGrad_();
  const ops = profileOps(() => tidy(() => {
    for (let i = 0; i < 3; i++) a.matmul(a).relu().sum().backward();
  }));
  const byOp = Object.fromEntries(ops.map((t) => [t.op, t]));
  assert.equal(byOp['aten::mm']?.calls, 9, 'three forward and six backward products');
  assert.equal(byOp['aten::relu']?.calls, 3);
  assert.ok(byOp['aten::matmul'], 'composites are listed too');
  // matmul's time is almost all spent in the mm it calls: self time leaves the child out
  assert.ok(byOp['aten::matmul']!.selfMs < byOp['aten::matmul']!.totalMs / 2, JSON.stringify(byOp['aten::matmul']));
  for (const t of ops) assert.ok(t.selfMs >= 0 && t.selfMs <= t.totalMs + 1e-9, JSON.stringify(t));
  for (let i = 1; i < ops.length; i++) assert.ok(ops[i - 1]!.selfMs >= ops[i]!.selfMs, 'sorted by self time');
  assert.ok(byOp['aten::mm']!.selfMs > 0);
  throwsTorch(() => profileOps(() => profileOps(() => {})), 'profileOps', /already on/);
  assert.deepEqual(profileOps(() => {}), [], 'a failed nested profile leaves the profiler usable and empty');
  throwsTorch(() => profileOps(3 as never), 'profileOps', /must be a function/);
  a.dispose();
});
