// Shared pieces of the objectives: the result shape, cross-entropy over token grids and accuracy.
import { type Tensor, F, noGrad, tidy } from '../tensor/index.js';

/**
 * What every objective returns. `loss` is the scalar to backpropagate; `terms` are its components
 * (already inside `loss`, for logging only: do not sum them again); `metrics` are detached scalars.
 */
export interface ObjectiveResult {
  loss: Tensor;
  terms: Record<string, Tensor>;
  metrics: Record<string, Tensor>;
}

/** Argmax accuracy over the targets != ignoreIndex: detached 0-d tensors (accuracy is 0 when there is no target). */
export interface Accuracy {
  accuracy: Tensor;
  correct: Tensor;
  total: Tensor;
}

/** Accuracy of logits [..., C] against labels [...] (official: argmax match over non-ignored targets). */
export function accuracy(logits: Tensor, labels: Tensor, ignoreIndex = -100): Accuracy {
  return noGrad(() => tidy(() => {
    const pred = logits.detach().argmax(-1); // [...]
    const valid = labels.ne(ignoreIndex); // [...]
    const correct = pred.eq(labels).logicalAnd(valid).sum(); // [] int64
    const total = valid.sum(); // [] int64
    return { accuracy: correct.to('float32').div(total.clamp(1)), correct, total };
  }));
}

/** The positions of labels [B, n] that have a target (label != ignore), row by row: (caption, index) [N] each, and their labels [N]. */
export function labelledPositions(labels: Tensor, ignore: number): { b: Tensor; q: Tensor; labels: Tensor } {
  return tidy(() => {
    const at = labels.ne(ignore).nonzero(); // [N, 2]
    const b = at.select(1, 0); // [N]
    const q = at.select(1, 1); // [N]
    return { b, q, labels: labels.index(b, q) };
  });
}

/** Token-mean cross-entropy of logits [..., V] against labels [...], skipping ignoreIndex. */
export function tokenCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex: number): Tensor {
  return tidy(() => {
    const V = logits.size(-1);
    return F.crossEntropy(logits.reshape(-1, V), labels.reshape(-1), { ignoreIndex }); // []
  });
}

/**
 * Positions [start, start + count) of logits [B, L, V] along dim 1, or the logits themselves when
 * they already hold exactly `count` positions (pre-sliced by the caller).
 */
export function positions(logits: Tensor, start: number, count: number, what: string): Tensor {
  const n = logits.size(1);
  if (n === count) return logits.alias();
  if (n >= start + count) return logits.narrow(1, start, count);
  throw new RangeError(`${what}: logits have ${n} positions; expected ${count} (pre-sliced) or at least ${start + count}`);
}
