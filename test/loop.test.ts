import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrainClock, TrainLoop, cleanUp } from '../src/train/loop.js';
import { AdamW } from '../src/optim/index.js';
import { tensor, zeros, type Tensor } from '../src/tensor/index.js';

const busy = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
};

test('TrainClock: paused spans are not counted, time before a resume is', async () => {
  const clock = new TrainClock(10);
  busy(30);
  await clock.paused(() => busy(200));
  busy(30);
  const e = clock.elapsed() - 10;
  assert.ok(e >= 0.055 && e < 0.15, `elapsed ${e}`);
});

test('TrainLoop: accumulation averages micro-batch losses, non-finite steps are skipped and counted, then the run stops', async () => {
  const w = zeros([1], { requiresGrad: true });
  const opt = new AdamW([w], { lr: 0.1 });
  const values = [1, 3, 2, 4, NaN, 5, 6, 6];
  let i = 0;
  const logged: number[] = [];
  const after: number[] = [];
  const loop = new TrainLoop<number>({
    steps: 4, accum: 2, schedule: { kind: 'polynomial', totalSteps: 4, warmup: 0, lrInit: 0.1, lrEnd: 0, power: 1 },
    clipNorm: 0, maxNonFinite: 0, logEvery: 1, timeBudgetS: 0, opt, quiet: true, clipParams: () => [w],
    nextBatch: async () => values[i++]!,
    loss: (v) => ({ loss: w.mul(0).add(tensor([v])).sum() as Tensor, tokens: 1, images: 1 }),
    onLog: (r) => logged.push(r.loss as number),
    afterStep: async (s) => { after.push(s); },
  });
  // maxNonFinite 0: the first non-finite step stops the run
  await assert.rejects(loop.run(), /1 consecutive non-finite/);
  loop.close();
  assert.deepEqual(logged, [2, 3]);
  assert.deepEqual(after, [1, 2]);
  assert.equal(loop.skippedNonFinite, 1);
  opt.dispose();
  w.dispose();
});

test('cleanUp runs every step even when one fails, then rethrows the first failure', async () => {
  const ran: number[] = [];
  await assert.rejects(cleanUp(
    () => ran.push(1),
    () => { throw new Error('first'); },
    async () => { ran.push(3); throw new Error('second'); },
    () => ran.push(4),
  ), /first/);
  assert.deepEqual(ran, [1, 3, 4]);
  await cleanUp(() => ran.push(5));
  assert.deepEqual(ran, [1, 3, 4, 5]);
});
