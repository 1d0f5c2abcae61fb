// Mixed precision: CPU autocast regions (bfloat16 for matmul-like ops, float32 kept for the rest), their
// nesting and error safety, gradients back to float32 parameters, and a bf16 pretraining step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F, autocast, manualSeed, ones, randn, tensor, tidy, zeros } from '../src/tensor/index.js';
import { pretrain, PRETRAIN_DEFAULTS, validatePretrainConfig } from '../src/tasks/pretrain/recipe.js';

test('autocast: linear runs in bfloat16 inside the region, float32 outside; layer norm and losses in float32; state restored', () => {
  tidy(() => {
    manualSeed(0);
    const x = randn([4, 8]);
    const w = randn([3, 8], { requiresGrad: true });
    const y = autocast(() => F.linear(x, w, null));
    assert.equal(y.dtype, 'bfloat16');
    assert.equal(F.linear(x, w, null).dtype, 'float32');
    const ln = autocast(() => F.layerNorm(F.linear(x, w, null), [3], ones([3]), zeros([3])));
    assert.equal(ln.dtype, 'float32');
    const ce = autocast(() => F.crossEntropy(F.linear(x, w, null), tensor([0, 1, 2, 0], { dtype: 'int64' })));
    assert.equal(ce.dtype, 'float32');
    // nested regions, and an exception inside one, leave autocast off afterwards
    autocast(() => autocast(() => F.linear(x, w, null)));
    assert.throws(() => autocast(() => { throw new Error('inside'); }), /inside/);
    assert.equal(F.linear(x, w, null).dtype, 'float32');
    // the gradient reaches the float32 parameter as float32, close to the float32 gradient
    y.to('float32').sum().backward();
    const g16 = w.grad!;
    assert.equal(g16.dtype, 'float32');
    w.grad = null;
    F.linear(x, w, null).sum().backward();
    const diff = g16.sub(w.grad!).abs().max().item();
    assert.ok(diff < 0.05, `bf16 vs fp32 gradient differ by ${diff}`);
    assert.equal(autocast(() => F.linear(x, w, null), { enabled: false }).dtype, 'float32');
  });
});

test('pretraining with precision bf16: finite losses close to float32 ones; bad precision rejected', async () => {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'flm-bf16-')));
  const cfg = { ...PRETRAIN_DEFAULTS, objective: 'flm' as const, preset: 'tiny' as const, data: 'shapes:train?n=16&seed=3', steps: 2, batchSize: 4, microBatch: 4, logEvery: 1, threads: 1, workers: 0, warmup: 1 };
  try {
    const a = await pretrain({ ...cfg, out: dirs[0]!, precision: 'fp32' }, { quiet: true });
    const b = await pretrain({ ...cfg, out: dirs[1]!, precision: 'bf16' }, { quiet: true });
    assert.ok(Number.isFinite(b.finalLoss!));
    assert.ok(Math.abs(a.finalLoss! - b.finalLoss!) / a.finalLoss! < 0.05, `fp32 ${a.finalLoss} vs bf16 ${b.finalLoss}`);
    assert.throws(() => validatePretrainConfig({ ...cfg, out: dirs[0]!, precision: 'fp8' as 'fp32' }), /precision must be one of fp32, bf16/);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
