// Determinism: same seed, same numbers (every random op and a small training run), and RNG state
// save/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F, Tensor, bernoulli, binomial, empty, full, getRngState, manualSeed, multinomial, noGrad, ones, rand, randint, randn,
  randperm, setRngState, tensor, tidy,
} from '../src/tensor/index.js';

/** One draw from every random op, flattened to numbers. */
function drawAll(): number[] {
  return tidy(() => {
    const parts: Tensor[] = [
      randn([5]), rand([4]), randn([3], { dtype: 'float64' }), randint(-3, 7, [6]), randperm(7),
      bernoulli(full([6], 0.3)), bernoulli(ones([6]), 0.6), binomial(full([3], 10), full([3], 0.5)),
      multinomial(tensor([0.2, 0.5, 0.3]), 5, true), empty([3]).normal_(2, 0.5), empty([3]).uniform_(-2, 2),
      F.dropout(ones([8]), 0.5, true),
    ];
    return parts.flatMap((t) => t.toFlatArray());
  });
}

test('same seed gives the same numbers; a different seed gives different ones', () => {
  manualSeed(1234);
  const a = drawAll();
  manualSeed(1234);
  const b = drawAll();
  assert.deepEqual(b, a);
  manualSeed(1235);
  const c = drawAll();
  assert.notDeepEqual(c, a);
  // draws advance the generator
  manualSeed(1234);
  drawAll();
  assert.notDeepEqual(drawAll(), a);
});

test('getRngState/setRngState: restoring the state repeats the next numbers', () => {
  manualSeed(99);
  drawAll();
  const state = getRngState();
  assert.ok(state instanceof Uint8Array);
  assert.ok(state.length > 0);
  const next = drawAll();
  const next2 = drawAll();
  setRngState(state);
  assert.deepEqual(drawAll(), next, 'same numbers after restore');
  assert.deepEqual(drawAll(), next2, 'and the ones after those');
  // restoring works across a reseed, and the saved bytes are a copy (drawing does not change them)
  const copy = Uint8Array.from(state);
  manualSeed(5);
  drawAll();
  assert.deepEqual(state, copy);
  setRngState(state);
  assert.deepEqual(drawAll(), next);
});

/** A tiny seeded MLP trained with plain SGD, with dropout: returns the loss per step. */
function trainRun(seed: number, steps: number): number[] {
  manualSeed(seed);
  const w1 = randn([4, 8]).mul(0.5).requiresGrad_();
  const w2 = randn([8, 3]).mul(0.5).requiresGrad_();
  const x = randn([16, 4]);
  const y = randint(0, 3, [16]);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const h = F.dropout(x.matmul(w1).relu(), 0.2, true);
      const loss = F.crossEntropy(h.matmul(w2), y);
      loss.backward();
      losses.push(loss.item());
      noGrad(() => {
        for (const w of [w1, w2]) {
          w.sub_(w.grad!.mul(0.1));
          w.grad = null;
        }
      });
    });
  }
  for (const t of [w1, w2, x, y]) t.dispose();
  return losses;
}

test('a seeded training run is bit-for-bit reproducible', () => {
  const a = trainRun(7, 25);
  const b = trainRun(7, 25);
  assert.deepEqual(b, a);
  assert.ok(a[a.length - 1]! < a[0]!, `loss goes down (${a[0]} -> ${a[a.length - 1]})`);
  assert.notDeepEqual(trainRun(8, 25), a);
});
