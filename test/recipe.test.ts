// --recipe fast | official: the init scale of new Linear layers and the VQA classifier's starting biases.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed } from '../src/tensor/index.js';
import { BERT_INIT, Linear, withInitScale } from '../src/nn/index.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { finetune, finetuneDefaults } from '../src/tasks/finetune.js';
import { resolveSettings } from '../src/config/resolve.js';
import { VQA } from '../src/tasks/vqa/spec.js';

const root = mkdtempSync(join(tmpdir(), 'flm-recipe-'));
after(() => rmSync(root, { recursive: true, force: true }));

function weightStd(l: Linear): number {
  const w = l.weight.toFlatArray();
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  return Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
}

describe('init scale', () => {
  it('fan-in: std max(0.02, 1/sqrt(fan_in)) inside withInitScale, N(0, 0.02) outside and after a throw', () => {
    manualSeed(0);
    const fan = withInitScale('fan-in', () => new Linear(256, 128, { init: BERT_INIT }));
    assert.ok(Math.abs(weightStd(fan) - 1 / 16) < 0.003, `fan-in std ${weightStd(fan)}`);
    const wide = withInitScale('fan-in', () => new Linear(4096, 8, { init: BERT_INIT }));
    assert.ok(Math.abs(weightStd(wide) - 0.02) < 0.002, `wide layers keep 0.02: ${weightStd(wide)}`);
    assert.throws(() => withInitScale('fan-in', () => { throw new Error('boom'); }), /boom/);
    const official = new Linear(256, 128, { init: BERT_INIT });
    assert.ok(Math.abs(weightStd(official) - 0.02) < 0.002, `official std ${weightStd(official)}`);
    for (const l of [fan, wide, official]) l.dispose();
  });

  it('--recipe is a setting of every training command, fast by default', () => {
    assert.equal(resolveSettings(VQA).recipe, 'fast');
    assert.equal(resolveSettings(VQA, { flags: { recipe: 'official' } }).recipe, 'official');
    assert.throws(() => resolveSettings(VQA, { flags: { recipe: 'quick' } }), /recipe/);
  });
});

describe('VQA classifier biases', () => {
  const spec = 'shapes:train?n=16&seed=5&size=32&task=vqa';
  async function startBias(recipe: 'fast' | 'official'): Promise<number[]> {
    const out = join(root, recipe);
    manualSeed(0);
    // lr 1e-12: the saved weights are the initial ones (to 1e-12)
    await finetune({
      ...finetuneDefaults('vqa'), recipe, preset: 'tiny', data: spec, valData: null, out, steps: 1, lr: 1e-12, batchSize: 4, microBatch: 4, workers: 0,
      saveEvery: 1, evalEvery: 1, tensorboard: false,
    }, { quiet: true });
    const { tensors } = loadSafetensors(join(out, 'checkpoints', 'step-00000001', 'model.safetensors'), (n) => n === 'vqa_classifier.3.bias');
    const b = tensors.get('vqa_classifier.3.bias')!;
    try {
      return b.toFlatArray();
    } finally {
      b.dispose();
    }
  }

  it('fast: the log-odds of each answer\'s mean soft target (rare answers far below 0, none above); official: zeros', async () => {
    const fast = await startBias('fast');
    assert.ok(fast.every((v) => v < 0) && Math.min(...fast) < -5, `fast biases ${fast.map((v) => v.toFixed(2)).join(' ')}`);
    // 'yes' and 'no' answer about a third of the questions between them: their log-odds are the largest
    assert.ok(Math.max(fast[0]!, fast[1]!) > -3, `yes/no biases ${fast[0]}, ${fast[1]}`);
    const official = await startBias('official');
    assert.ok(official.every((v) => Math.abs(v) < 1e-9), `official biases ${official.join(' ')}`);
  });
});
