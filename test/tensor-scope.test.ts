// Memory scopes: tidy/keep/dispose, nested scopes, use after dispose, `using` via Symbol.dispose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Tensor, TorchError, dispose, keep, memory, ones, randn, tensor, tidy, zeros } from '../src/tensor/index.js';
import { assertExact } from './tensor-helpers.js';

const live = (): number => memory().numTensors;

test('tidy frees intermediates and lets returned tensors escape', () => {
  const before = live();
  let inner: Tensor | undefined;
  const out = tidy(() => {
    const a = ones([2, 2]);
    inner = a.mul(3);
    return inner.add(a);
  });
  assert.equal(live(), before + 1, 'only the returned tensor is alive');
  assert.ok(inner!.isDisposed);
  assert.ok(!out.isDisposed);
  assertExact(out, [[4, 4], [4, 4]]);
  out.dispose();
  assert.equal(live(), before);
});

test('tidy: tensors in returned arrays, plain objects and Maps escape; tensors in class instances do not', () => {
  const before = live();
  class Box { constructor(readonly t: Tensor) {} }
  const r = tidy(() => {
    const m = new Map<string, Tensor>([['m', ones([1])]]);
    return { arr: [ones([1]), [ones([2])]], obj: { deep: { t: ones([3]) } }, m, box: new Box(ones([4])), n: 5 };
  });
  assert.equal(r.n, 5);
  assert.ok(!(r.arr[0] as Tensor).isDisposed);
  assert.ok(!(r.arr[1] as Tensor[])[0]!.isDisposed);
  assert.ok(!r.obj.deep.t.isDisposed);
  assert.ok(!r.m.get('m')!.isDisposed);
  assert.ok(r.box.t.isDisposed, 'class instances are not searched');
  assert.equal(live(), before + 4);
  dispose(r);
  assert.equal(live(), before, 'dispose(value) frees every tensor found in the value');
});

test('nested tidy: an inner result moves to the outer scope', () => {
  const before = live();
  let fromInner: Tensor | undefined;
  const out = tidy(() => {
    fromInner = tidy(() => ones([2]).mul(2));
    assert.ok(!fromInner.isDisposed, 'alive after the inner scope');
    const kept = tidy(() => {
      const t = tidy(() => zeros([1]));
      return [t];
    })[0]!;
    assert.ok(!kept.isDisposed);
    return fromInner.add(1);
  });
  assert.ok(fromInner!.isDisposed, 'freed with the outer scope');
  assertExact(out, [3, 3]);
  out.dispose();
  assert.equal(live(), before);
});

test('keep exempts a tensor from every scope; the caller disposes it', () => {
  const before = live();
  let k: Tensor | undefined;
  tidy(() => {
    tidy(() => {
      k = keep(ones([3]));
      ones([1]);
    });
  });
  assert.ok(!k!.isDisposed);
  assert.equal(live(), before + 1);
  // a kept tensor that is also returned stays alive and is not double-freed
  const same = tidy(() => k!);
  assert.equal(same, k);
  assert.ok(!k!.isDisposed);
  k!.dispose();
  k!.dispose(); // idempotent
  assert.equal(live(), before);
});

test('tidy disposes its tensors when fn throws, and rejects async functions', () => {
  const before = live();
  let made: Tensor | undefined;
  assert.throws(() => tidy(() => {
    made = ones([5]);
    throw new Error('inside');
  }), /inside/);
  assert.ok(made!.isDisposed);
  assert.equal(live(), before);
  assert.throws(() => tidy((async () => ones([1])) as unknown as () => Tensor), /synchronous/);
  assert.equal(live(), before);
});

test('a disposed tensor throws "used after dispose" naming the op, and disposal is visible', () => {
  const t = ones([2, 3]);
  assert.deepEqual(t.shape, [2, 3]); // cache the shape first: it must not outlive the tensor
  t.dispose();
  assert.ok(t.isDisposed);
  assert.equal(String(t), 'Tensor(disposed)');
  const uses: [string, () => unknown][] = [
    ['add', () => t.add(1)], ['add', () => ones([2, 3]).add(t)], ['shape', () => t.shape], ['item', () => t.item()],
    ['cat', () => F.cat([t])], ['softmax', () => F.softmax(t, 0)], ['matmul', () => ones([3, 2]).matmul(t)],
    ['toArray', () => t.toArray()], ['backward', () => t.backward()], ['grad', () => t.grad],
  ];
  for (const [op, use] of uses) {
    assert.throws(use, (e: unknown) => {
      assert.ok(e instanceof TorchError, `${op}: a TorchError`);
      assert.match(e.message, /used after dispose/);
      assert.equal(e.op, op);
      assert.ok(e.message.startsWith(`${op}:`), e.message);
      return true;
    });
  }
});

test('`using` disposes at the end of the block (Symbol.dispose)', () => {
  const before = live();
  let escaped: Tensor | undefined;
  {
    using x = ones([4]);
    escaped = x;
    assert.equal(live(), before + 1);
    assert.equal(tidy(() => x.sum().item()), 4);
  }
  assert.ok(escaped.isDisposed);
  assert.equal(live(), before);
  {
    using y = tidy(() => randn([2]).mul(2));
    assert.ok(!y.isDisposed);
    assert.equal(live(), before + 1);
  }
  assert.equal(live(), before);
});

test('memory() counts live handles and bytes; aliases are handles of their own', () => {
  const m0 = memory();
  const t = zeros([256], { dtype: 'float64' });
  const m1 = memory();
  assert.equal(m1.numTensors, m0.numTensors + 1);
  assert.equal(m1.numBytes, m0.numBytes + 256 * 8);
  const a = t.alias();
  assert.equal(live(), m0.numTensors + 2);
  t.dispose();
  tidy(() => assertExact(a.narrow(0, 0, 2), [0, 0], 'the alias keeps the storage alive'));
  a.dispose();
  assert.deepEqual(memory(), m0);
});

test('the grad getter returns a fresh handle each time: disposing it keeps the gradient', () => {
  const w = tensor([1, 2]).requiresGrad_();
  tidy(() => w.mul(w).sum().backward());
  const before = live();
  tidy(() => {
    const g = w.grad!;
    assertExact(g, [2, 4]);
  });
  assert.equal(live(), before);
  const g2 = w.grad!;
  assertExact(g2, [2, 4], 'the gradient survives the disposal of an earlier handle');
  g2.dispose();
  w.dispose();
});
