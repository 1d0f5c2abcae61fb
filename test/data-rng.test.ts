// The data side's one seeded PRNG (src/data/rng.ts): both seeding paths and the generator pinned to
// recorded values. Data order, caption choice, augmentation, streamed shuffles, retrieval negatives
// (hashSeed) and every scene, caption and question of the shapes world (mixSeed / Prng.fromKeys)
// depend on these streams, so any change here changes datasets and recorded results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng, hashSeed, mixSeed, permutation } from '../src/data/rng.js';
import { hashSeed as dataHashSeed, mixSeed as dataMixSeed, Prng as DataPrng } from '../src/data/index.js';

const u32s = (r: Prng, n: number): number[] => Array.from({ length: n }, () => r.nextU32());

test('rng: hashSeed (text keys, data order / augmentation / negatives) is pinned', () => {
  assert.equal(hashSeed('order', 11, 3), 2033240571);
  assert.equal(hashSeed('augment', 0, 1, 'k', 2, 0), 1924845385);
  assert.equal(hashSeed(), 2872998923);
  // keys are joined as text: the number 1 and the string '1' seed alike
  assert.equal(hashSeed('x', 1), hashSeed('x', '1'));
  const r = new Prng(hashSeed('buffer', 5, 2, 0));
  assert.deepEqual(u32s(r, 3), [2419174498, 3467537565, 2620511402]);
  assert.equal(r.int(1000), 538);
  assert.deepEqual(Array.from(permutation(10, 42)), [0, 7, 3, 5, 2, 1, 8, 9, 4, 6]);
});

test('rng: mixSeed / Prng.fromKeys (integer key mixing, the shapes world) is pinned', () => {
  assert.equal(mixSeed('shapes-world', 7, 'train', 3), 2683932319);
  assert.equal(mixSeed(0), 2821445922);
  assert.equal(mixSeed(2 ** 32), 3560119392); // high bits are folded in: differs from mixSeed(0)
  assert.equal(mixSeed(), 1779033703);
  const r = Prng.fromKeys('shapes-world', 7, 'train', 3);
  assert.deepEqual(u32s(r, 3), [1935277568, 3088260545, 2629293802]);
  assert.equal(r.intBetween(2, 5), 4);
  const items = [1, 2, 3, 4, 5, 6];
  assert.deepEqual(r.shuffled(items), [2, 5, 4, 6, 1, 3]);
  assert.deepEqual(items, [1, 2, 3, 4, 5, 6], 'shuffled leaves its input alone');
  assert.equal(Prng.fromKeys(1, 'x').fork('y').nextU32(), 2552652031);
  // the two seedings differ for the same keys; fromKeys is exactly new Prng(mixSeed(...))
  assert.notEqual(hashSeed('shapes-world', 7), mixSeed('shapes-world', 7));
  assert.deepEqual(u32s(Prng.fromKeys('a', 1), 4), u32s(new Prng(mixSeed('a', 1)), 4));
});

test('rng: shuffle (in place) and shuffled (copy) make the same draws', () => {
  const a = new Prng(99).shuffle([10, 20, 30, 40, 50, 60, 70]);
  const b = new Prng(99).shuffled([10, 20, 30, 40, 50, 60, 70]);
  assert.deepEqual(b, a);
  const t = new Prng(99).shuffle(Uint32Array.from([10, 20, 30, 40, 50, 60, 70]));
  assert.deepEqual(Array.from(t), a);
  const r = new Prng(5);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(7);
    const m = r.intBetween(-2, 2);
    const u = r.uniform(3, 4);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7 && Number.isInteger(m) && m >= -2 && m <= 2 && u >= 3 && u < 4);
  }
  assert.throws(() => r.pick([]), /empty list/);
  assert.equal(new Prng(1).weighted(['a', 'b'], [0, 1]), 'b');
});

test('rng: the data namespace exports the same functions', () => {
  assert.equal(dataHashSeed, hashSeed);
  assert.equal(dataMixSeed, mixSeed);
  assert.equal(DataPrng, Prng);
});
