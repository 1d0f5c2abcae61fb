// PrefixLM (the vestigial `prefixLM_collator` / `prefix_lm_alpha` baseline of the official code,
// §H.23, never wired up there): a random prefix of each caption is read bidirectionally, the rest is
// generated left to right. The mask builder is `prefixLmMask` in stream-masks.ts.
//
// Position q (0..L-2) predicts token q+1 when q+1 is in the suffix (q+1 >= P) and not a pad.
import { type Tensor, arange, rand, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy, positions, tokenCrossEntropy } from './common.js';

/** Prefix lengths P ~ Uniform{1, ..., n-1} per caption (n real tokens; P = 1 when n < 2). [B] int64 */
export function samplePrefixLengths(textMasks: Tensor): Tensor {
  return tidy(() => {
    const n = textMasks.ne(0).sum(1); // [B]
    const span = n.sub(1).clamp(1); // [B] number of choices
    const u = rand([n.size(0)], { device: textMasks.device }); // [B] in [0, 1)
    return u.mul(span).floor().to('int64').add(1).minimum(span); // [B] in [1, max(1, n-1)]
  });
}

/** Labels [B, L-1]: entry q is text_ids[q+1] when q+1 >= P_b and real, else ignoreIndex. */
export function prefixLmLabels(textIds: Tensor, textMasks: Tensor, prefixLengths: Tensor, ignoreIndex = -100): Tensor {
  return tidy(() => {
    const L = textIds.size(1);
    const next = textIds.narrow(1, 1, L - 1).to('int64'); // [B, L-1]: token q+1
    const realNext = textMasks.narrow(1, 1, L - 1).ne(0); // [B, L-1]
    const idx = arange(1, L, 1, { device: textIds.device }).unsqueeze(0); // [1, L-1]: q+1
    const inSuffix = idx.ge(prefixLengths.to('int64').unsqueeze(1)); // [B, L-1]
    return next.where(inSuffix.logicalAnd(realNext), ignoreIndex); // [B, L-1]
  });
}

export interface PrefixLmLossInputs {
  /** LM logits [B, L, V] (positions 0..L-2 are used) or [B, L-1, V] */
  logits: Tensor;
  /** prefixLmLabels(...) [B, L-1] */
  labels: Tensor;
}

/** terms.prefixLm, metrics.prefixLmAccuracy. */
export function prefixLmLoss(inputs: PrefixLmLossInputs, opts: { ignoreIndex?: number } = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const ignore = opts.ignoreIndex ?? -100;
    const L = inputs.labels.size(1) + 1;
    const logits = positions(inputs.logits, 0, L - 1, 'prefixLmLoss logits'); // [B, L-1, V]
    const loss = tokenCrossEntropy(logits, inputs.labels, ignore);
    return { loss, terms: { prefixLm: loss }, metrics: { prefixLmAccuracy: accuracy(logits, inputs.labels, ignore).accuracy } };
  });
}
