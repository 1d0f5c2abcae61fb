// Image-text retrieval fine-tuning (spec §D.10, official `compute_irtr`): each image is scored
// against its true caption (candidate 0) and K-1 random captions with `rank_output(cls_feats)`; the
// loss is a K-way cross-entropy with the positive at index 0 (no hinge; the margin is unused).
// The official task adds the ITM loss with weight 0.5 (itm.ts); that combination is the caller's.
import { type Tensor, F, tidy, zeros } from '../tensor/index.js';
import { type ObjectiveResult, accuracy } from './common.js';

export interface IrtrLossInputs {
  /** rank_output scores, image-major: [B·K], [B·K, 1] or [B, K] (candidate 0 = the true caption) */
  scores: Tensor;
  /** K = 1 + draw_false_text (official 16); read from scores when they are [B, K] */
  numCandidates?: number;
}

/** terms.irtr, metrics.irtrAccuracy (share of images whose true caption scores highest). */
export function irtrLoss(inputs: IrtrLossInputs): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const s = inputs.scores;
    const K = inputs.numCandidates ?? (s.ndim === 2 && s.size(1) !== 1 ? s.size(1) : undefined);
    if (K === undefined) throw new TypeError('irtrLoss: numCandidates is required for flat scores');
    if (s.numel % K !== 0) throw new RangeError(`irtrLoss: ${s.numel} scores are not a multiple of K = ${K}`);
    const scores = s.reshape(-1, K); // [B, K] ("(bs fs) -> bs fs")
    const target = zeros([scores.size(0)], { dtype: 'int64', device: s.device }); // [B]
    const loss = F.crossEntropy(scores, target);
    return { loss, terms: { irtr: loss }, metrics: { irtrAccuracy: accuracy(scores, target).accuracy } };
  });
}
