// Image-text contrastive loss (not in the official code, spec §D.7: a `contrastive_loss` helper and
// `cl` presets exist but no task; added because retrieval users expect it). CLIP's symmetric InfoNCE
// over the in-batch pairs with a learnable log temperature, initialised to log(1/0.07).
import { type Tensor, F, arange, full, noGrad, tidy } from '../tensor/index.js';
import { type ObjectiveResult, accuracy } from './common.js';

/** CLIP's initial log logit scale, log(1/0.07). */
export const ITC_INIT_LOG_SCALE = Math.log(1 / 0.07);
/** CLIP's cap on the logit scale: 100. */
export const ITC_MAX_LOG_SCALE = Math.log(100);

/** A fresh learnable log logit scale (0-d float32, requiresGrad); register it as a model parameter. */
export function createLogitScale(init = ITC_INIT_LOG_SCALE, device?: Tensor['device']): Tensor {
  return full([], init, { dtype: 'float32', device, requiresGrad: true });
}

/** Clamps the stored log scale to [0, log 100] in place, as CLIP does after each optimizer step. */
export function clampLogitScale_(logScale: Tensor): void {
  noGrad(() => logScale.clamp_(0, ITC_MAX_LOG_SCALE));
}

export interface ItcLossInputs {
  /** image embeddings [B, D] */
  imageEmbeds: Tensor;
  /** text embeddings [B, D]; row i pairs with image row i */
  textEmbeds: Tensor;
  /** learnable log logit scale (0-d) */
  logitScale: Tensor;
}

/**
 * (CE(s·I·Tᵀ, arange) + CE(s·T·Iᵀ, arange)) / 2 on L2-normalised embeddings, s = exp(clamp(logScale,
 * 0, log 100)). Clamping inside the loss matches CLIP's in-place clamp (no gradient past the bound).
 * terms: i2t, t2i; metrics: i2tAccuracy, t2iAccuracy, logitScale (s).
 */
export function itcLoss(inputs: ItcLossInputs, opts: { normalize?: boolean } = {}): ObjectiveResult {
  return tidy((): ObjectiveResult => {
    const norm = opts.normalize ?? true;
    const img = norm ? F.normalize(inputs.imageEmbeds, 2, -1) : inputs.imageEmbeds; // [B, D]
    const txt = norm ? F.normalize(inputs.textEmbeds, 2, -1) : inputs.textEmbeds; // [B, D]
    const scale = inputs.logitScale.clamp(0, ITC_MAX_LOG_SCALE).exp(); // []
    const perImage = img.matmul(txt.transpose(0, 1)).mul(scale); // [B, B]
    const perText = perImage.transpose(0, 1); // [B, B]
    const target = arange(img.size(0), undefined, 1, { device: img.device }); // [B]
    const i2t = F.crossEntropy(perImage, target);
    const t2i = F.crossEntropy(perText, target);
    return {
      loss: i2t.add(t2i).div(2),
      terms: { i2t, t2i },
      metrics: {
        i2tAccuracy: accuracy(perImage, target).accuracy,
        t2iAccuracy: accuracy(perText, target).accuracy,
        logitScale: scale.detach(),
      },
    };
  });
}
