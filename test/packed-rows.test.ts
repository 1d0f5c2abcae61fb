// The one-stream model (MLM / AR / PrefixLM baselines) computes only each caption's real tokens and first
// pad in its text layers when the masks make that exact (packRows, the default without dropout): the
// same outputs and gradients as every padded row, under the padding mask, the causal mask and the
// PrefixLM mask; a mask under which pad rows differ keeps the padded grid.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, randint, randn, tensor, tidy } from '../src/tensor/index.js';
import { SingleStreamModel, singleConfig, specialIds, withOverrides, type FLMConfig, type OneStreamOutput } from '../src/models/index.js';
import { oneStreamMask, prefixLmMask, samplePrefixLengths, toAdditive } from '../src/objectives/index.js';
import { textRowsSeen } from './model-helpers.js';

const TOL = { atol: 2e-6, rtol: 1e-5 };

function assertClose(name: string, actual: Tensor, expected: Tensor): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  const bad = tidy(() => actual.sub(expected).abs().gt(expected.abs().mul(TOL.rtol).add(TOL.atol)).sum().item());
  assert.equal(bad, 0, `${name}: ${bad} elements differ (max |diff| ${tidy(() => actual.sub(expected).abs().max().item())})`);
}

function captions(c: FLMConfig, lengths: number[], L: number) {
  const ids = specialIds(c);
  const words = randint(4, c.vocab_size - 1, [lengths.length, L]).toFlatArray();
  const textIds = tensor(lengths.map((n, b) => Array.from({ length: L }, (_, j) => (j === 0 ? ids.bos : j === n - 1 ? ids.eos : j < n - 1 ? words[b * L + j]! : ids.pad))), { dtype: 'int64' });
  const textMasks = tensor(lengths.map((n) => Array.from({ length: L }, (_, j) => (j < n ? 1 : 0))), { dtype: 'int64' });
  return { textIds, textMasks, image: randn([lengths.length, 3, c.vit_arch.image_size, c.vit_arch.image_size]) };
}

function run(model: SingleStreamModel, input: { image: Tensor; textIds: Tensor; textMask: Tensor }) {
  const out = model.forward(input);
  model.zeroGrad();
  tidy(() => {
    const o = model.forward(input);
    o.textFeats.square().mean().add(o.pooled.sum()).backward(); // every row of the grid, pads included
  });
  const grads = new Map<string, Tensor>();
  for (const [name, p] of model.namedParameters()) if (p.grad) grads.set(name, p.grad.clone());
  return { out, grads };
}

function features(o: OneStreamOutput): [string, Tensor][] {
  return [['bottom', o.bottom], ['crossIn.text', o.crossIn.text], ['textFeats', o.textFeats], ['pooled', o.pooled]];
}

describe('one-stream model: packed text rows', () => {
  for (const kind of ['padding', 'causal', 'prefix'] as const) {
    it(`${kind} mask: packed and padded rows give the same features and gradients`, () => {
      tidy(() => {
        manualSeed(11);
        const c = singleConfig('tiny');
        const model = new SingleStreamModel(c);
        const { textIds, textMasks, image } = captions(c, [12, 7, 4, 2, 9], 12);
        const textMask = kind === 'prefix' ? toAdditive(prefixLmMask(textMasks, samplePrefixLengths(textMasks))) : oneStreamMask(textMasks, { causal: kind === 'causal' });
        const calls = textRowsSeen(model);
        model.packRows = true;
        const a = run(model, { image, textIds, textMask });
        model.packRows = false;
        const b = run(model, { image, textIds, textMask });
        assert.deepEqual(calls.slice(0, 1), [12 + 8 + 5 + 3 + 10], 'the packed rows reach the text layers');
        for (const [[name, x], [, y]] of features(a.out).map((f, i) => [f, features(b.out)[i]!] as const)) assertClose(name, x, y);
        assert.deepEqual([...a.grads.keys()].sort(), [...b.grads.keys()].sort());
        for (const [name, g] of a.grads) assertClose(`grad ${name}`, g, b.grads.get(name)!);
        model.dispose();
      });
    });
  }

  it('under dropout (train mode) the padded grid, in eval mode the packed rows', () => {
    tidy(() => {
      manualSeed(13);
      const c = withOverrides(singleConfig('tiny'), { drop_rate: 0.1 });
      const model = new SingleStreamModel(c);
      const { textIds, textMasks, image } = captions(c, [12, 5], 12);
      const calls = textRowsSeen(model);
      const textMask = oneStreamMask(textMasks, { causal: true });
      model.train();
      model.forward({ image, textIds, textMask });
      model.eval();
      model.forward({ image, textIds, textMask });
      assert.deepEqual(calls, [2, 12 + 6]);
      model.dispose();
    });
  });

  it('a mask under which a pad row sees a key the first pad row does not keeps the padded grid', () => {
    tidy(() => {
      manualSeed(12);
      const c = singleConfig('tiny');
      const model = new SingleStreamModel(c);
      model.eval();
      const { textIds, textMasks, image } = captions(c, [12, 5], 12);
      // plain causal (no padding): pad row q sees the pads before it
      const L = 12;
      const causal = tensor(Array.from({ length: L }, (_, q) => Array.from({ length: L }, (_, k) => (k <= q ? 0 : -10000)))).view(1, 1, L, L);
      const calls = textRowsSeen(model);
      model.forward({ image, textIds, textMask: causal.expand(2, 1, L, L) });
      model.forward({ image, textIds, textMask: oneStreamMask(textMasks, { causal: true }) });
      assert.deepEqual(calls, [2, 12 + 6]);
      model.dispose();
    });
  });
});
