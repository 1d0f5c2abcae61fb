// The object-token probe (lp_shape_local): the patch cell of a point, one row per object holding the
// tower's token at that cell (checked against a direct forward), and a probe that reads a shape code
// planted in exactly those tokens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cellAt, objectShapeProbe } from '../src/compare/object-token-probe.js';
import { imageTowerFeatures, loadProbeImages, type ProbeImages } from '../src/compare/probes.js';
import { SHAPES } from '../src/data/shapes/index.js';
import { createModel, type AnyFLMModel } from '../src/models/index.js';
import { manualSeed, noGrad, tensor, tidy, type Tensor } from '../src/tensor/index.js';

describe('object-token probe', () => {
  it('maps a point to its row-major patch cell, clamping the far edge', () => {
    assert.equal(cellAt(0, 0, 4), 0);
    assert.equal(cellAt(0.3, 0.1, 4), 1);
    assert.equal(cellAt(0.1, 0.3, 4), 4);
    assert.equal(cellAt(0.99, 0.99, 4), 15);
    assert.equal(cellAt(1, 1, 4), 15);
    assert.equal(cellAt(0.5, 0.74, 6), 4 * 6 + 3);
  });

  it('takes, for every object, the token of the cell holding its centre', async () => {
    manualSeed(0);
    const model = createModel('tiny');
    model.eval();
    const set = await loadProbeImages('shapes:test?n=6&seed=3&size=32', 32, 6);
    const rows = imageTowerFeatures(model, set, { batch: 4 }).objects!;
    const objects = set.scenes!.flatMap((s) => s.objects);
    assert.equal(rows.y.length, objects.length);
    assert.deepEqual(rows.y, objects.map((o) => SHAPES.indexOf(o.shape)));
    const W = rows.dim;
    assert.equal(rows.x.length, objects.length * W);
    const tok = noGrad(() => tidy(() => model.vit_model.forward(tensor(set.images, { shape: [6, 3, 32, 32] })).toTypedArray() as Float32Array)); // [6, 17, W]
    let k = 0;
    set.scenes!.forEach((scene, i) => {
      for (const o of scene.objects) {
        const at = (i * 17 + 1 + cellAt(o.x, o.y, 4)) * W;
        // batches of 4 against one of 6: equal up to float rounding
        rows.x.subarray(k * W, (k + 1) * W).forEach((v, j) => assert.ok(Math.abs(v - tok[at + j]!) < 1e-4, `object ${k} feature ${j}`));
        k++;
      }
    });
    model.dispose();
  });

  it('reads shape where the object tokens carry it', async () => {
    // a stand-in tower whose token of each patch cell is the first 6 pixels of the cell's top row; each
    // object's cell gets its shape one-hot there, so the probe must read every object right
    const plant = (set: ProbeImages): ProbeImages => {
      const images = set.images.slice();
      set.scenes!.forEach((scene, i) => {
        for (const o of scene.objects) {
          const cell = cellAt(o.x, o.y, 4);
          const row = Math.floor(cell / 4) * 8;
          const col = (cell % 4) * 8;
          for (let k = 0; k < 6; k++) images[i * 3 * 32 * 32 + row * 32 + col + k] = k === SHAPES.indexOf(o.shape) ? 3 : 0;
        }
      });
      return { ...set, images };
    };
    const tower = {
      vit_model: {
        forward(img: Tensor): Tensor {
          const n = img.size(0);
          const px = img.toTypedArray() as Float32Array;
          const x = new Float32Array(n * 17 * 6);
          for (let i = 0; i < n; i++) {
            for (let cell = 0; cell < 16; cell++) {
              const at = i * 3 * 32 * 32 + Math.floor(cell / 4) * 8 * 32 + (cell % 4) * 8;
              x.set(px.subarray(at, at + 6), (i * 17 + 1 + cell) * 6);
            }
          }
          return tensor(x, { shape: [n, 17, 6] });
        },
      },
    } as unknown as AnyFLMModel;
    const train = plant(await loadProbeImages('shapes:val?n=60&seed=1&size=32', 32, 60));
    const test = plant(await loadProbeImages('shapes:test?n=40&seed=1&size=32', 32, 40));
    const r = objectShapeProbe(imageTowerFeatures(tower, train).objects!, imageTowerFeatures(tower, test).objects!, { steps: 200 });
    assert.ok(r !== null);
    assert.equal(r.correct.length, test.scenes!.flatMap((s) => s.objects).length);
    assert.equal(r.accuracy, 1);
    // without scenes there is nothing to probe
    assert.equal(imageTowerFeatures(tower, { ...train, scenes: null }).objects, null);
    assert.equal(objectShapeProbe({ x: new Float32Array(0), y: [], dim: 6 }, imageTowerFeatures(tower, test).objects!), null);
    // the same pass gives the pooled features [CLS ; mean] and the object rows at the token width
    const both = imageTowerFeatures(tower, test);
    assert.equal(both.dim, 12);
    assert.equal(both.objects!.dim, 6);
  });
});
