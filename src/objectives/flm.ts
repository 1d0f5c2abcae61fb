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
import { type Tensor, tensor, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy, labelledPositions, positions, tokenCrossEntropy } from './common.js';

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
    const rec = { logits: positions(inputs.recLogits, 1, L - 1, 'flmLoss recLogits'), labels }; // [B, L-1, V], [B, L-1]
    const aux = opts.aux ?? (inputs.fwdLogits !== undefined && inputs.revLogits !== undefined);
    if (!aux) return combine(rec, null, ignore, opts);
    if (inputs.fwdLogits === undefined || inputs.revLogits === undefined) {
      throw new TypeError('flmLoss: aux losses need fwdLogits and revLogits');
    }
    const { l2rLabels, r2lLabels } = auxLabels(labels, ignore, opts);
    return combine(rec, {
      l2r: { logits: positions(inputs.fwdLogits, 1, L - 2, 'flmLoss fwdLogits'), labels: l2rLabels }, // [B, L-2, V]
      r2l: { logits: positions(inputs.revLogits, 2, L - 2, 'flmLoss revLogits'), labels: r2lLabels }, // [B, L-2, V]
    }, ignore, opts);
  });
}

export interface FlmFeatureInputs {
  /** reconstructor output (top.rec) [B, L, H], or only its rows at flmTargetRows(labelsLm) [N, H] */
  rec: Tensor;
  /** forward stream output (top.fwd) [B, L, H]; needed for the aux losses */
  fwd?: Tensor;
  /** reverse stream output (top.rev) [B, L, H]; needed for the aux losses */
  rev?: Tensor;
  /** text_ids[:, 1:] with pads = the pad id: [B, L-1] */
  labelsLm: Tensor;
  /** the LM heads: rows [N, H] of each stream -> logits [N, V] (FLMModel.lmLogits) */
  score: (rows: { rec: Tensor; l2r?: Tensor; r2l?: Tensor }) => { rec: Tensor; l2r?: Tensor; r2l?: Tensor };
}

/**
 * flmLoss from the streams' final features: only the positions that have a target (label != the
 * ignore index) go through the LM heads, so no logits are computed for padding. Same terms, metrics
 * and gradients as flmLoss on the full-length logits, up to float summation order.
 */
export function flmLossAtTargets(inputs: FlmFeatureInputs, opts: FlmLossOptions = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const ignore = opts.ignoreIndex ?? 1;
    const labels = inputs.labelsLm; // [B, L-1]
    const rec = inputs.rec.shape.length === 2
      ? { rows: inputs.rec, labels: labelledPositions(labels, ignore).labels } // already the rows at the targets
      : targetRows(inputs.rec, 1, labels, ignore); // [N, H], [N]
    const aux = opts.aux ?? (inputs.fwd !== undefined && inputs.rev !== undefined);
    if (!aux) return combine({ logits: inputs.score({ rec: rec.rows }).rec, labels: rec.labels }, null, ignore, opts);
    if (inputs.fwd === undefined || inputs.rev === undefined) throw new TypeError('flmLossAtTargets: aux losses need fwd and rev');
    const { l2rLabels, r2lLabels } = auxLabels(labels, ignore, opts);
    const l2r = targetRows(inputs.fwd, 1, l2rLabels, ignore); // positions 1..L-2
    const r2l = targetRows(inputs.rev, 2, r2lLabels, ignore); // positions 2..L-1
    const logits = inputs.score({ rec: rec.rows, l2r: l2r.rows, r2l: r2l.rows }); // [N_*, V]
    if (logits.l2r === undefined || logits.r2l === undefined) throw new TypeError('flmLossAtTargets: score() returned no l2r / r2l logits');
    return combine({ logits: logits.rec, labels: rec.labels }, {
      l2r: { logits: logits.l2r, labels: l2r.labels },
      r2l: { logits: logits.r2l, labels: r2l.labels },
    }, ignore, opts);
  });
}

/**
 * The reconstructor positions that have an FLM target: (caption, position) pairs [N, 2] int64, row by
 * row (positions 1..L-1 whose label in labelsLm [B, L-1] is not the ignore index). FLMModel.lossFeatures
 * computes the reconstructor for these rows only; flmLossAtTargets then takes them as `rec`.
 */
export function flmTargetRows(labelsLm: Tensor, ignoreIndex = 1): Tensor {
  return tidy(() => labelsLm.ne(ignoreIndex).nonzero().add(tensor([[0, 1]], { dtype: 'int64', device: labelsLm.device }))); // [N, 2]
}

/** Rows of x [B, L, H] at positions start.. whose label in labels [B, n] is a target: [N, H], and those labels [N]. */
function targetRows(x: Tensor, start: number, labels: Tensor, ignore: number): { rows: Tensor; labels: Tensor } {
  const t = labelledPositions(labels, ignore);
  return { rows: x.narrow(1, start, labels.size(1)).index(t.b, t.q), labels: t.labels };
}

/** Labels of the aux losses (position map in the header): l2r = labelsLm[:, 1:], r2l = labelsLm[:, :-1]. [B, L-2] */
function auxLabels(labels: Tensor, ignore: number, opts: FlmLossOptions): { l2rLabels: Tensor; r2lLabels: Tensor } {
  const n = labels.size(1) - 1;
  const l2rLabels = labels.narrow(1, 1, n); // [B, L-2]
  let r2lLabels = labels.narrow(1, 0, n); // [B, L-2]
  if (opts.r2lIgnoreFirstPad) r2lLabels = r2lLabels.where(l2rLabels.ne(ignore), ignore); // q = n: label q+1 is a pad
  return { l2rLabels, r2lLabels };
}

interface Scored {
  logits: Tensor; // [..., V]
  labels: Tensor; // [...]
}

function combine(rec: Scored, aux: { l2r: Scored; r2l: Scored } | null, ignore: number, opts: FlmLossOptions): ObjectiveResult {
  const lFlm = tokenCrossEntropy(rec.logits, rec.labels, ignore);
  const accFlm = accuracy(rec.logits, rec.labels, ignore);
  if (!aux) return { loss: lFlm, terms: { flm: lFlm }, metrics: { flmAccuracy: accFlm.accuracy } };
  const lL2r = tokenCrossEntropy(aux.l2r.logits, aux.l2r.labels, ignore);
  const lR2l = tokenCrossEntropy(aux.r2l.logits, aux.r2l.labels, ignore);
  const w1 = opts.l2rWeight ?? 1;
  const w2 = opts.r2lWeight ?? 1;
  const loss = lFlm.add(lL2r.mul(w1)).add(lR2l.mul(w2)).mul(1 / (1 + w1 + w2)); // [] (official: 1 / total * (...))
  return {
    loss,
    terms: { flm: lFlm, l2r: lL2r, r2l: lR2l },
    metrics: {
      flmAccuracy: accFlm.accuracy,
      l2rAccuracy: accuracy(aux.l2r.logits, aux.l2r.labels, ignore).accuracy,
      r2lAccuracy: accuracy(aux.r2l.logits, aux.r2l.labels, ignore).accuracy,
    },
  };
}
