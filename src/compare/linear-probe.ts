// Multinomial logistic regression on frozen features: the fitting step of every linear probe
// (probes.ts lp_*, object-token-probe.ts lp_shape_local).
import { AdamW } from '../optim/index.js';
import { F, noGrad, tensor, tidy, type Tensor } from '../tensor/index.js';

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export interface LinearProbeOptions {
  steps?: number;
  lr?: number;
  weightDecay?: number;
}

/**
 * Multinomial logistic regression (full batch, AdamW, features standardised with the training
 * statistics); returns the test accuracy (and each test item's hit) and the majority-class accuracy of the test labels.
 */
export function linearProbe(
  train: { x: Float32Array; y: readonly number[] }, test: { x: Float32Array; y: readonly number[] }, dim: number, classes: number, o: LinearProbeOptions = {},
): { accuracy: number; majority: number; train_accuracy: number; correct: number[] } {
  const nTr = train.y.length;
  const nTe = test.y.length;
  if (nTr === 0 || nTe === 0) throw new Error('linear probe: empty training or test set');
  return tidy(() => {
    const xTr = tensor(train.x.subarray(0, nTr * dim), { shape: [nTr, dim] }); // [N, D]
    const xTe = tensor(test.x.subarray(0, nTe * dim), { shape: [nTe, dim] }); // [M, D]
    const mu = xTr.mean(0, { keepdim: true }); // [1, D]
    const sd = xTr.std(0, { keepdim: true, correction: 0 }).add(1e-6); // [1, D]
    const a = xTr.sub(mu).div(sd);
    const b = xTe.sub(mu).div(sd);
    const yTr = tensor(Int32Array.from(train.y), { shape: [nTr] }).to('int64'); // [N]
    const W = tensor(new Float32Array(dim * classes), { shape: [dim, classes] }).requiresGrad_(true); // [D, C]
    const bias = tensor(new Float32Array(classes), { shape: [classes] }).requiresGrad_(true); // [C]
    const opt = new AdamW([W, bias], { lr: o.lr ?? 0.05, weightDecay: o.weightDecay ?? 1e-3 });
    try {
      for (let s = 0; s < (o.steps ?? 300); s++) {
        opt.zeroGrad();
        tidy(() => F.crossEntropy(a.matmul(W).add(bias), yTr).backward());
        opt.step();
      }
      const hits = (x: Tensor, y: readonly number[]): number[] => noGrad(() => tidy(() => {
        const pred = x.matmul(W).add(bias).argmax(1).toTypedArray();
        return y.map((v, i) => (Number(pred[i]) === v ? 1 : 0));
      }));
      const counts = new Map<number, number>();
      for (const v of train.y) counts.set(v, (counts.get(v) ?? 0) + 1);
      const major = [...counts].sort((p, q) => q[1] - p[1])[0]![0];
      const correct = hits(b, test.y);
      return { accuracy: mean(correct), majority: test.y.filter((v) => v === major).length / nTe, train_accuracy: mean(hits(a, train.y)), correct };
    } finally {
      opt.dispose();
    }
  });
}
