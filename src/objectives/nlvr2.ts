// NLVR2 (spec §D.9, official `compute_nlvr2`): a 2-way classifier on cat(cls(image_0), cls(image_1)).
import { type Tensor, F, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy } from './common.js';

/** Cross-entropy of nlvr2_classifier logits [B, 2] against labels [B] (1 = "True"); terms.nlvr2, metrics.nlvr2Accuracy. */
export function nlvr2Loss(inputs: { logits: Tensor; labels: Tensor }): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const labels = inputs.labels.to('int64'); // [B]
    const loss = F.crossEntropy(inputs.logits, labels);
    return { loss, terms: { nlvr2: loss }, metrics: { nlvr2Accuracy: accuracy(inputs.logits, labels).accuracy } };
  });
}
