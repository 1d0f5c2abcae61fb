/**
 * How fast the mini preset's image tower learns shapes when it is told them directly, to set beside what
 * a pretraining teaches it in the same number of steps (README, "What the 5-minute models lack: shapes").
 * The tower is flm's own (`--recipe fast` init, the preset's conv stem and 2 blocks, flm's AdamW, linear
 * warmup over 10% then linear decay, batch 32), trained on shapes-world scenes (48 px) with one of three
 * read-outs and cross-entropy over the 6 shapes:
 *
 *   largest  [CLS ; mean of the patch tokens] -> linear: the shape of the largest object (scenes with one
 *            largest object), the pooled read-out of `flm probe`'s lp_shape
 *   object   the token of the patch holding an object's centre -> linear: that object's shape (every
 *            object), the read-out of lp_shape_local
 *   bound    a learnt query per colour attends over the tokens (one softmax) -> linear: the shape of the
 *            object of that colour (objects whose colour is unique in their scene); the object has to be
 *            found by its colour first, as a caption's "the red ..." has to find it
 *
 * Prints the test accuracy (1,000 test scenes' examples; chance 1/6) every 50 steps.
 *
 *   node dist/bench/shape-signal.js [--modes largest,object,bound] [--steps 300] [--lr 5e-4] [--train 4000] [--test 1000] [--seed 0]
 */
import { parseArgs } from 'node:util';
import { createModel } from '../src/models/index.js';
import { buildWithRecipeInit } from '../src/tasks/common/init-scale.js';
import { attributeLabel, loadProbeImages, type ProbeImages } from '../src/compare/probes.js';
import { cellAt } from '../src/compare/object-token-probe.js';
import { COLOURS, SHAPES } from '../src/data/shapes/index.js';
import { AdamW } from '../src/optim/index.js';
import { F, manualSeed, noGrad, randn, tensor, tidy, zeros, type Tensor } from '../src/tensor/index.js';
import { Prng } from '../src/data/rng.js';

const MODES = ['largest', 'object', 'bound'] as const;
type Mode = (typeof MODES)[number];

const { values: args } = parseArgs({
  options: {
    modes: { type: 'string', default: MODES.join(',') }, steps: { type: 'string', default: '300' }, lr: { type: 'string', default: '5e-4' },
    train: { type: 'string', default: '4000' }, test: { type: 'string', default: '1000' }, seed: { type: 'string', default: '0' },
  },
});
const SIZE = 48;
const BATCH = 32;
const modes = args.modes!.split(',').map((m) => {
  if (!(MODES as readonly string[]).includes(m)) throw new Error(`--modes: unknown mode "${m}" (${MODES.join(', ')})`);
  return m as Mode;
});

/** One example: an image, the token (object mode) or colour (bound mode) it is read at, and its shape. */
interface Example { image: number; at: number; shape: number }

function examples(set: ProbeImages, mode: Mode, grid: number): Example[] {
  const out: Example[] = [];
  set.scenes!.forEach((scene, image) => {
    if (mode === 'largest') {
      const shape = attributeLabel(scene, 'shape');
      if (shape !== null) out.push({ image, at: 0, shape });
      return;
    }
    for (const o of scene.objects) {
      if (mode === 'object') out.push({ image, at: 1 + cellAt(o.x, o.y, grid), shape: SHAPES.indexOf(o.shape) });
      else if (scene.objects.filter((p) => p.colour === o.colour).length === 1) out.push({ image, at: COLOURS.indexOf(o.colour), shape: SHAPES.indexOf(o.shape) });
    }
  });
  return out;
}

async function run(mode: Mode, train: ProbeImages, test: ProbeImages): Promise<void> {
  manualSeed(Number(args.seed));
  const model = buildWithRecipeInit('fast', () => tidy(() => createModel('mini')));
  const tower = model.vit_model;
  const width = tower.arch.width;
  const grid = SIZE / tower.arch.patch_size;
  const inDim = mode === 'largest' ? 2 * width : width;
  const head = tidy(() => randn([inDim, SHAPES.length]).mul(1 / Math.sqrt(inDim))).requiresGrad_(true); // [D, 6]
  const bias = zeros([SHAPES.length]).requiresGrad_(true);
  const queries = tidy(() => randn([COLOURS.length, width]).mul(0.1)).requiresGrad_(true); // [7, W], read only in bound mode
  const params = [...tower.parameters().filter((p) => p.requiresGrad), head, bias, ...(mode === 'bound' ? [queries] : [])];
  const opt = new AdamW(params, { lr: Number(args.lr), weightDecay: 0.01 });
  const plane = 3 * SIZE * SIZE;
  const logits = (set: ProbeImages, ex: Example[]): Tensor => {
    const px = new Float32Array(ex.length * plane);
    ex.forEach((e, k) => px.set(set.images.subarray(e.image * plane, (e.image + 1) * plane), k * plane));
    const tok = tower.forward(tensor(px, { shape: [ex.length, 3, SIZE, SIZE] })); // [n, 1 + G², W]
    let x: Tensor;
    if (mode === 'largest') x = F.cat([tok.select(1, 0), tok.narrow(1, 1, tok.size(1) - 1).mean(1)], 1); // [n, 2W]
    else if (mode === 'object') {
      const rows = tensor(Int32Array.from(ex.map((e, k) => k * tok.size(1) + e.at)), { shape: [ex.length] }).to('int64');
      x = tok.reshape(-1, width).indexSelect(0, rows); // [n, W]
    } else {
      const q = queries.indexSelect(0, tensor(Int32Array.from(ex.map((e) => e.at)), { shape: [ex.length] }).to('int64')); // [n, W]
      const att = F.softmax(tok.matmul(q.unsqueeze(2)).squeeze(2).div(Math.sqrt(width)), -1); // [n, 1 + G²]
      x = att.unsqueeze(1).matmul(tok).squeeze(1); // [n, W]
    }
    return x.matmul(head).add(bias); // [n, 6]
  };
  const trainEx = examples(train, mode, grid);
  const testEx = examples(test, mode, grid);
  const accuracy = (): number => {
    model.eval();
    let hits = 0;
    for (let s = 0; s < testEx.length; s += 128) {
      const ex = testEx.slice(s, s + 128);
      const pred = noGrad(() => tidy(() => logits(test, ex).argmax(1).toTypedArray()));
      ex.forEach((e, k) => { if (Number(pred[k]) === e.shape) hits++; });
    }
    model.train();
    return hits / testEx.length;
  };
  const steps = Number(args.steps);
  const warmup = Math.max(1, Math.round(0.1 * steps));
  const rng = new Prng(Number(args.seed) + 1);
  const t0 = performance.now();
  console.log(`${mode}: ${trainEx.length} training and ${testEx.length} test examples, lr ${args.lr}, ${steps} steps`);
  for (let step = 1; step <= steps; step++) {
    opt.setLrFactor(step <= warmup ? step / warmup : (steps - step) / (steps - warmup));
    const ex = Array.from({ length: BATCH }, () => trainEx[rng.int(trainEx.length)]!);
    opt.zeroGrad();
    tidy(() => F.crossEntropy(logits(train, ex), tensor(Int32Array.from(ex.map((e) => e.shape)), { shape: [BATCH] }).to('int64')).backward());
    opt.step();
    if (step % 50 === 0 || step === steps) console.log(`  step ${String(step).padStart(5)}  test accuracy ${accuracy().toFixed(3)}  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  opt.dispose();
  for (const t of [head, bias, queries]) t.dispose();
  model.dispose();
}

const train = await loadProbeImages(`shapes:train?n=${args.train}&seed=1&size=${SIZE}`, SIZE, Number(args.train));
const test = await loadProbeImages(`shapes:test?n=${args.test}&seed=1&size=${SIZE}`, SIZE, Number(args.test));
for (const mode of modes) await run(mode, train, test);
