// The FLM objective (spec §D.1-D.3, official `compute_lm(lm_type='flm')` with
// `enable_flm_aux_lm_loss`): the reconstructor predicts every token from its corrupted context, plus
// plain left-to-right / right-to-left LM losses on the two streams, averaged with weights.
//
// Position/label map (§D.12), with labelsLm = text_ids[:, 1:] ([B, L-1]):
//   FLM  reconstructor positions 1..L-1 predict their own token   labels labelsLm
//   L2R  forward positions 1..L-2 predict token q+1               labels labelsLm[:, 1:]
//   R2L  reverse positions 2..L-1 predict token q-1               labels labelsLm[:, :-1]
// Logits may be given for all L positions ([B, L, V]) or already sliced to those positions.
//
// Official quirk kept (§D.2, §H.8): the R2L label of the first pad position (q = n) is `</s>`, not
// the pad id, so one trivial target per padded caption enters the R2L loss. This is part of the
// objective the fixtures pin down; `r2lIgnoreFirstPad: true` drops it.
import { type Tensor, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy, positions, tokenCrossEntropy } from './common.js';

export interface FlmLossInputs {
  /** lm_score(reconstructor output): [B, L, V] or positions 1..L-1 [B, L-1, V] */
  recLogits: Tensor;
  /** lm_score_r(forward stream): [B, L, V] or positions 1..L-2 [B, L-2, V]; needed for the aux losses */
  fwdLogits?: Tensor;
  /** lm_score_f(reverse stream): [B, L, V] or positions 2..L-1 [B, L-2, V]; needed for the aux losses */
  revLogits?: Tensor;
  /** text_ids[:, 1:] with pads = the pad id: [B, L-1] */
  labelsLm: Tensor;
}

export interface FlmLossOptions {
  /** the pad id (official: 1, hard-coded for RoBERTa) */
  ignoreIndex?: number;
  /** flm_aux_lm_loss_l2r_weight (1.0) */
  l2rWeight?: number;
  /** flm_aux_lm_loss_r2l_weight (1.0) */
  r2lWeight?: number;
  /** enable_flm_aux_lm_loss; default: true when both stream logits are given */
  aux?: boolean;
  /** ignore the R2L `</s>` target of the first pad position (not official; see the header) */
  r2lIgnoreFirstPad?: boolean;
}

/**
 * loss = (L_flm + w_l2r·L_l2r + w_r2l·L_r2l) / (1 + w_l2r + w_r2l) (§D.3), each term a token mean.
 * terms: flm, l2r, r2l; metrics: flmAccuracy (the official `flm/accuracy`), l2rAccuracy, r2lAccuracy.
 */
export function flmLoss(inputs: FlmLossInputs, opts: FlmLossOptions = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const ignore = opts.ignoreIndex ?? 1;
    const labels = inputs.labelsLm; // [B, L-1]
    const L = labels.size(1) + 1;
    const rec = positions(inputs.recLogits, 1, L - 1, 'flmLoss recLogits'); // [B, L-1, V]
    const lFlm = tokenCrossEntropy(rec, labels, ignore);
    const accFlm = accuracy(rec, labels, ignore);
    const aux = opts.aux ?? (inputs.fwdLogits !== undefined && inputs.revLogits !== undefined);
    if (!aux) {
      return { loss: lFlm, terms: { flm: lFlm }, metrics: { flmAccuracy: accFlm.accuracy } };
    }
    if (inputs.fwdLogits === undefined || inputs.revLogits === undefined) {
      throw new TypeError('flmLoss: aux losses need fwdLogits and revLogits');
    }
    const fwd = positions(inputs.fwdLogits, 1, L - 2, 'flmLoss fwdLogits'); // [B, L-2, V]
    const rev = positions(inputs.revLogits, 2, L - 2, 'flmLoss revLogits'); // [B, L-2, V]
    const l2rLabels = labels.narrow(1, 1, L - 2); // [B, L-2]
    let r2lLabels = labels.narrow(1, 0, L - 2); // [B, L-2]
    if (opts.r2lIgnoreFirstPad) r2lLabels = r2lLabels.where(l2rLabels.ne(ignore), ignore); // q = n: label q+1 is a pad
    const lL2r = tokenCrossEntropy(fwd, l2rLabels, ignore);
    const lR2l = tokenCrossEntropy(rev, r2lLabels, ignore);
    const w1 = opts.l2rWeight ?? 1;
    const w2 = opts.r2lWeight ?? 1;
    const loss = lFlm.add(lL2r.mul(w1)).add(lR2l.mul(w2)).mul(1 / (1 + w1 + w2)); // [] (official: 1 / total * (...))
    return {
      loss,
      terms: { flm: lFlm, l2r: lL2r, r2l: lR2l },
      metrics: {
        flmAccuracy: accFlm.accuracy,
        l2rAccuracy: accuracy(fwd, l2rLabels, ignore).accuracy,
        r2lAccuracy: accuracy(rev, r2lLabels, ignore).accuracy,
      },
    };
  });
}
