import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, tidy, Tensor, keep, manualSeed, randn } from '../src/tensor/index.js';
import { AdamW, FLM_GROUPING, SGD, clipGradNorm, flmParamGroups } from '../src/optim/index.js';

const W = (): Tensor => keep(tensor([[0.5, -1.0], [2.0, 0.25]]).requiresGrad_());
const C = [[1, 2], [3, 4]];

function lossStep(p: Tensor): void {
  tidy(() => p.pow(3).sum().add(p.mul(tensor(C)).sum()).backward());
}
function close(a: number[], b: number[], tol = 1e-6): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < tol, `element ${i}: ${x} vs ${b[i]}`));
}

// Expected values: torch 1.13 (torch.optim.AdamW / SGD, and the transformers-4.6 AdamW formula), 3 steps.
test('AdamW torch style matches torch.optim.AdamW', () => {
  const p = W();
  const opt = new AdamW([p], { lr: 0.1, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.01 });
  for (let k = 0; k < 3; k++) { opt.zeroGrad(); lossStep(p); opt.step(); }
  close(p.toFlatArray(), [0.20125843584537506, -1.2969902753829956, 1.6952755451202393, -0.05023624002933502]);
});

test('AdamW hf style matches transformers 4.6 AdamW', () => {
  const p = W();
  const opt = new AdamW([p], { lr: 0.1, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.01, style: 'hf' });
  for (let k = 0; k < 3; k++) { opt.zeroGrad(); lossStep(p); opt.step(); }
  close(p.toFlatArray(), [0.20155242085456848, -1.2966907024383545, 1.695572853088379, -0.049936894327402115]);
});

// The fused one-pass update against the same formula as separate libtorch ops, on tensors larger than
// one parallel chunk (odd sizes, a float64 parameter that must take the libtorch path), both styles.
for (const style of ['torch', 'hf'] as const) {
  test(`fused AdamW (${style}) agrees with the libtorch-op path`, () => {
    manualSeed(3);
    const shapes: number[][] = [[70001], [129, 257], [5]];
    const make = (): Tensor[] => shapes.map((s) => keep(randn(s).requiresGrad_())).concat([keep(randn([33], { dtype: 'float64' }).requiresGrad_())]);
    const a = make();
    const b = a.map((t) => keep(t.detach().clone().requiresGrad_()));
    const start = keep(a[0]!.detach().clone());
    const targets = a.map((t) => keep(randn(t.shape, { dtype: t.dtype })));
    const fused = new AdamW(a, { lr: 0.01, weightDecay: 0.05, style });
    const plain = new AdamW(b, { lr: 0.01, weightDecay: 0.05, style, fused: false });
    for (let k = 0; k < 4; k++) {
      for (const [opt, ps] of [[fused, a], [plain, b]] as const) {
        opt.zeroGrad();
        tidy(() => ps.forEach((p, i) => p.sub(targets[i]!).pow(2).sum().mul(k + 1).backward()));
        opt.step();
      }
    }
    a.forEach((p, i) => {
      const diff = tidy(() => p.sub(b[i]!).abs().max().item());
      assert.ok(diff < 1e-6, `tensor ${i}: fused and libtorch paths differ by ${diff}`);
    });
    const moved = tidy(() => a[0]!.sub(start).abs().max().item());
    assert.ok(moved > 0.01, `the parameters moved by ${moved} only`);
  });
}

test('a fused AdamW update counts as an in-place change of the parameter for autograd', () => {
  for (const fused of [true, false]) {
    const p = W();
    const opt = new AdamW([p], { lr: 0.1, fused });
    tidy(() => {
      const y = p.mul(p).sum(); // saves p for its backward
      p.grad = tensor([[1, 1], [1, 1]]);
      opt.step();
      assert.throws(() => y.backward(), /modified by an inplace operation/, `fused: ${fused}`);
    });
  }
});

test('SGD nesterov momentum matches torch.optim.SGD', () => {
  const p = W();
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true });
  for (let k = 0; k < 3; k++) { opt.zeroGrad(); lossStep(p); opt.step(); }
  close(p.toFlatArray(), [-0.6060274243354797, -20.348785400390625, -10.450349807739258, -5.149021625518799], 1e-4);
});

test('AdamW state round trip continues exactly', () => {
  const a = W();
  const optA = new AdamW([a], { lr: 0.05 });
  for (let k = 0; k < 2; k++) { optA.zeroGrad(); lossStep(a); optA.step(); }
  const st = optA.stateDict();
  const saved = new Map([...st.tensors].map(([n, t]) => [n, keep(t.clone())]));
  const b = keep(a.detach().clone().requiresGrad_());
  const optB = new AdamW([b], { lr: 0.05 });
  optB.loadStateDict({ tensors: saved, meta: JSON.parse(JSON.stringify(st.meta)) });
  for (const [opt, p] of [[optA, a], [optB, b]] as const) { opt.zeroGrad(); lossStep(p); opt.step(); }
  assert.ok(a.equal(b));
});

test('parameters without gradient are untouched and keep no state', () => {
  const p = W();
  const q = W();
  const opt = new AdamW([p, q], { lr: 0.1 });
  lossStep(p);
  const before = q.toFlatArray();
  opt.step();
  assert.deepEqual(q.toFlatArray(), before);
  assert.equal(opt.stateDict().tensors.size, 2);
});

test('clipGradNorm scales to the max norm and returns the old norm', () => {
  const p = keep(tensor([3, 4]).requiresGrad_());
  tidy(() => p.mul(tensor([1, 1])).sum().backward());
  p.grad = tensor([3, 4]);
  const n = clipGradNorm([p], 1);
  assert.ok(Math.abs(n - 5) < 1e-6);
  close(p.grad!.toFlatArray(), [0.6, 0.8], 1e-5);
});

test('bad optimiser arguments throw clear errors', () => {
  assert.throws(() => new AdamW([], { lr: 0.1 }), /no parameters/);
  assert.throws(() => new AdamW([W()], { lr: -1 }), /learning rate/);
  assert.throws(() => new AdamW([W()], { lr: 0.1, betas: [1.5, 0.9] }), /betas/);
  const p = W();
  assert.throws(() => new AdamW([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one group/);
  assert.throws(() => new SGD([W()], { lr: 0.1, nesterov: true }), /nesterov/);
});

test('flmParamGroups follows the official substring rules', () => {
  const named: [string, Tensor][] = [
    ['vit_model.visual.ln_pre.weight', W()],
    ['text_transformer.encoder.layer.0.output.LayerNorm.weight', W()],
    ['cross_modal_text_layers.0.attention.self.query.weight', W()],
    ['cross_modal_text_layers.0.attention.self.query.bias', W()],
    ['lm_score.decoder.weight', W()],
    ['rank_output.weight', W()],
  ];
  const groups = flmParamGroups(named);
  const find = (n: string) => groups.find((g) => g.names!.includes(n))!;
  assert.equal(find('vit_model.visual.ln_pre.weight').weightDecay, 0.01); // CLIP LN weights are decayed (spec E.1)
  assert.equal(find('text_transformer.encoder.layer.0.output.LayerNorm.weight').weightDecay, 0);
  assert.equal(find('cross_modal_text_layers.0.attention.self.query.weight').lrMult, 5);
  assert.equal(find('cross_modal_text_layers.0.attention.self.query.bias').weightDecay, 0);
  assert.equal(find('lm_score.decoder.weight').lrMult, 5);
  assert.equal(find('rank_output.weight').lrMult, 1);
  assert.equal(find('vit_model.visual.ln_pre.weight'), find('rank_output.weight'), 'the image tower stays in the base group');
  // lrMultVision takes the image tower (and only it) out of base, keeping its decay rule
  const v = flmParamGroups(named, { ...FLM_GROUPING, lrMultVision: 4 });
  const inV = (n: string) => v.find((g) => g.names!.includes(n))!;
  assert.deepEqual([inV('vit_model.visual.ln_pre.weight').lrMult, inV('vit_model.visual.ln_pre.weight').weightDecay, inV('vit_model.visual.ln_pre.weight').names], [4, 0.01, ['vit_model.visual.ln_pre.weight']]);
  assert.equal(inV('rank_output.weight').lrMult, 1);
  assert.equal(inV('lm_score.decoder.weight').lrMult, 5);
});
