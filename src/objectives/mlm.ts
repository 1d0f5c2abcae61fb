// Masked LM loss (spec §D.4): logits on all L positions against labels that hold the original id at
// the masked positions and -100 elsewhere (see mlm-masking.ts for producing them).
import { type Tensor, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy, tokenCrossEntropy } from './common.js';

export interface MlmLossInputs {
  /** mlm_score(text_feats): [B, L, V], or at the masked positions only [N, V] */
  logits: Tensor;
  /** [B, L]: original ids at masked positions, ignoreIndex elsewhere; [N] with logits [N, V] */
  labels: Tensor;
}

/** terms.mlm, metrics.mlmAccuracy (over masked positions only). */
export function mlmLoss(inputs: MlmLossInputs, opts: { ignoreIndex?: number } = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const ignore = opts.ignoreIndex ?? -100;
    const loss = tokenCrossEntropy(inputs.logits, inputs.labels, ignore);
    return { loss, terms: { mlm: loss }, metrics: { mlmAccuracy: accuracy(inputs.logits, inputs.labels, ignore).accuracy } };
  });
}
