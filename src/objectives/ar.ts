// Autoregressive LM (spec §D.5) and caption fine-tuning (§D.11).
//
// AR: positions 1..L-2 predict token q+1 (labels text_ids[:, 2:] = labelsLm[:, 1:]), ignore the pad
// id. Position 0 (CLS) never predicts token 1 (§D.12), as in the official `compute_lm(lm_type='ar')`.
import { type Tensor, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy, labelledPositions, positions, tokenCrossEntropy } from './common.js';

export interface ArLossInputs {
  /** LM logits [B, L, V], or positions 1..L-2 [B, L-2, V] */
  logits: Tensor;
  /** text_ids[:, 1:] [B, L-1] */
  labelsLm: Tensor;
}

/** Next-token loss; terms.ar, metrics.arAccuracy. */
export function arLoss(inputs: ArLossInputs, opts: { ignoreIndex?: number } = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const ignore = opts.ignoreIndex ?? 1;
    const L = inputs.labelsLm.size(1) + 1;
    const logits = positions(inputs.logits, 1, L - 2, 'arLoss logits'); // [B, L-2, V]
    const labels = inputs.labelsLm.narrow(1, 1, L - 2); // [B, L-2]
    const loss = tokenCrossEntropy(logits, labels, ignore);
    return { loss, terms: { ar: loss }, metrics: { arAccuracy: accuracy(logits, labels, ignore).accuracy } };
  });
}

/**
 * The AR targets of labelsLm [B, L-1] (text_ids[:, 1:]): the feature positions q in 1..L-2 whose next
 * token is not `ignoreIndex`, as (caption, position) [N] each, and their labels [N].
 */
export function arTargets(labelsLm: Tensor, ignoreIndex = 1): { rows: Tensor; q: Tensor; labels: Tensor } {
  return tidy(() => {
    const L = labelsLm.size(1) + 1;
    const t = labelledPositions(labelsLm.narrow(1, 1, L - 2), ignoreIndex); // labelsLm[:, 1:L-1] is feature position q's label at q - 1
    return { rows: t.b, q: t.q.add(1), labels: t.labels };
  });
}

/** arLoss on the LM logits of arTargets' positions only, [N, V] against their labels [N]: the same loss and accuracy. */
export function arLossAtTargets(inputs: { logits: Tensor; labels: Tensor }, opts: { ignoreIndex?: number } = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const ignore = opts.ignoreIndex ?? 1;
    const loss = tokenCrossEntropy(inputs.logits, inputs.labels, ignore);
    return { loss, terms: { ar: loss }, metrics: { arAccuracy: accuracy(inputs.logits, inputs.labels, ignore).accuracy } };
  });
}

export interface CaptionLossInputs {
  /** LM head on the forward stream (`text_feats1`), [B, L, V] or [B, L-2, V]: the default source */
  fwdLogits?: Tensor;
  /** LM head on the reconstructor (`text_feats`), needed only with compat 'official' */
  recLogits?: Tensor;
  labelsLm: Tensor;
}

export interface CaptionLossOptions {
  ignoreIndex?: number;
  /**
   * 'official' computes the caption loss on the reconstructor output, as the released
   * `ft_cap_coco` + `causal_flm` recipe does (§D.11, §H.12). That is a bug: the reconstructor query q
   * sees the reverse-stream feature of token q+1, its own target, so the loss is trivial, and decoding
   * then reads the forward stream anyway. The default trains the forward stream, which the greedy
   * decoder uses.
   */
  compat?: 'official';
}

/** Which stream's LM logits the caption loss reads under these options. */
export function captionLossSource(opts: CaptionLossOptions = {}): 'forward' | 'reconstructor' {
  return opts.compat === 'official' ? 'reconstructor' : 'forward';
}

/** Caption fine-tuning loss (AR on the chosen stream); terms.caption, metrics.captionAccuracy. */
export function captionLoss(inputs: CaptionLossInputs, opts: CaptionLossOptions = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const source = captionLossSource(opts);
    const logits = source === 'forward' ? inputs.fwdLogits : inputs.recLogits;
    if (logits === undefined) {
      throw new TypeError(`captionLoss: ${source === 'forward' ? 'fwdLogits' : 'recLogits'} is required (source: ${source} stream)`);
    }
    const r = arLoss({ logits, labelsLm: inputs.labelsLm }, { ignoreIndex: opts.ignoreIndex });
    return { loss: r.loss, terms: { caption: r.loss }, metrics: { captionAccuracy: r.metrics.arAccuracy! } };
  });
}
