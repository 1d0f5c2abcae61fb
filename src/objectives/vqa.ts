// VQA (spec §D.8, official `compute_vqa`): multi-label BCE with logits over the answer vocabulary
// against soft scores, mean over B·C elements times C (= the sum over classes, averaged over the batch).
import { type Tensor, F, noGrad, tensor, tidy } from '../tensor/index.js';
import { type ObjectiveResult } from './common.js';

/** Soft score of an answer given by `count` of the 10 annotators (official `get_score`). */
export function vqaAnswerScore(count: number): number {
  if (count <= 0) return 0;
  if (count === 1) return 0.3;
  if (count === 2) return 0.6;
  if (count === 3) return 0.9;
  return 1;
}

/** Dense targets [B, C] float32 with t[b, labels[b][j]] = scores[b][j]. */
export function vqaTargets(labels: readonly (readonly number[])[], scores: readonly (readonly number[])[], numClasses: number, device?: Tensor['device']): Tensor {
  const t = new Float32Array(labels.length * numClasses);
  labels.forEach((row, b) => row.forEach((c, j) => {
    if (!(c >= 0 && c < numClasses)) throw new RangeError(`vqaTargets: label ${c} outside [0, ${numClasses})`);
    t[b * numClasses + c] = scores[b]?.[j] ?? 0;
  }));
  return tensor(t, { shape: [labels.length, numClasses], device });
}

/** loss = BCEWithLogits(logits, targets, mean) · C; metrics.vqaScore = mean target score of the argmax answer. */
export function vqaLoss(inputs: { logits: Tensor; targets: Tensor }): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const C = inputs.logits.size(-1);
    const targets = inputs.targets.to(inputs.logits.dtype); // [B, C]
    const loss = F.binaryCrossEntropyWithLogits(inputs.logits, targets).mul(C); // []
    return { loss, terms: { vqa: loss }, metrics: { vqaScore: argmaxScore(inputs.logits, targets) } };
  });
}

/**
 * VQA over answer scores that compete (answers scored by a language model): cross-entropy of the
 * answers' softmax against the soft targets normalised per question; metrics.vqaScore as vqaLoss's.
 */
export function vqaSoftmaxLoss(inputs: { logits: Tensor; targets: Tensor }): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const targets = inputs.targets.to(inputs.logits.dtype); // [B, C]
    const p = targets.div(targets.sum(-1, { keepdim: true }).clamp(1e-12)); // [B, C]
    const loss = p.mul(inputs.logits.logSoftmax(-1)).sum(-1).mean().neg(); // []
    return { loss, terms: { vqa: loss }, metrics: { vqaScore: argmaxScore(inputs.logits, targets) } };
  });
}

/** Mean target score of each row's argmax answer (detached): []. */
function argmaxScore(logits: Tensor, targets: Tensor): Tensor {
  return noGrad(() => targets.gather(1, logits.detach().argmax(-1, true)).mean());
}
