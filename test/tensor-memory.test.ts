// Memory: 10,000 steps of a small training loop keep the live tensor count exactly flat and the
// process RSS flat (within slack for allocator and JIT noise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Tensor, manualSeed, memory, noGrad, randint, randn, tidy } from '../src/tensor/index.js';

test('10,000 training steps: zero growth in live tensors and bytes, RSS growth < 30 MB', () => {
  manualSeed(0);
  const w1 = randn([16, 32]).mul(0.2).requiresGrad_();
  const b1 = randn([32]).mul(0.1).requiresGrad_();
  const w2 = randn([32, 4]).mul(0.2).requiresGrad_();
  const x = randn([32, 16]);
  const y = randint(0, 4, [32]);
  const params = [w1, b1, w2];
  let lastLoss = NaN;
  const step = (): void => tidy(() => {
    const h = F.dropout(F.linear(x, w1.T, b1).relu(), 0.1, true);
    const loss = F.crossEntropy(h.matmul(w2), y);
    loss.backward();
    lastLoss = loss.item();
    noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.05));
        p.grad = null;
      }
    });
  });

  for (let i = 0; i < 300; i++) step(); // warm-up: allocator pools, JIT, lazy libtorch init
  const firstLoss = lastLoss;
  const m0 = memory();
  const rss0 = process.memoryUsage.rss();
  let rssMid = 0;
  for (let i = 0; i < 10_000; i++) {
    step();
    if (i === 4_999) rssMid = process.memoryUsage.rss();
  }
  const m1 = memory();
  const rss1 = process.memoryUsage.rss();
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;

  assert.equal(m1.numTensors, m0.numTensors, 'live tensor count is exactly flat');
  assert.equal(m1.numBytes, m0.numBytes, 'live tensor bytes are exactly flat');
  assert.ok(rss1 - rss0 < 30 * 2 ** 20, `RSS grew ${mb(rss1 - rss0)} over 10,000 steps (${mb(rss0)} -> ${mb(rss1)})`);
  assert.ok(rss1 - rssMid < 20 * 2 ** 20, `RSS grew ${mb(rss1 - rssMid)} over the last 5,000 steps`);
  assert.ok(Number.isFinite(lastLoss) && lastLoss < firstLoss, `the loop really trains (${firstLoss} -> ${lastLoss})`);

  const before = memory().numTensors;
  for (const t of [...params, x, y] as Tensor[]) t.dispose();
  assert.equal(memory().numTensors, before - 5);
});

test('a leaky loop is visible in memory() (the flatness check can fail)', () => {
  const x = randn([4]);
  const m0 = memory();
  const leaked: Tensor[] = [];
  for (let i = 0; i < 100; i++) leaked.push(x.mul(2)); // no tidy: every result stays alive
  assert.equal(memory().numTensors, m0.numTensors + 100);
  assert.equal(memory().numBytes, m0.numBytes + 100 * 4 * 4);
  for (const t of leaked) t.dispose();
  x.dispose();
  assert.equal(memory().numTensors, m0.numTensors - 1);
});
