// Features the inference commands read from a model.
import { F, tidy, type Tensor } from '../../tensor/index.js';
import { FLMModel, type AnyFLMModel } from '../../models/index.js';
import { forwardMask, oneStreamMask, toAdditive } from '../../objectives/index.js';

/** Image features [B, Wv]: the CLIP tower's class token after ln_post (B.1; FLM never updates image tokens). */
export function imageFeatures(model: AnyFLMModel, image: Tensor): Tensor {
  return tidy(() => model.vit_model.forward(image).select(1, 0)); // [B, Wv]
}

/**
 * Text features [B, Ht] without an image: the CLS after the uni-modal bottom text layers. In the FLM
 * forward stream the CLS row sees every real token (post-CLS trick, C.2), so it summarises the whole
 * text; the one-stream model uses its own (padding or causal) mask, where the CLS also sees all tokens.
 */
export function textFeatures(model: AnyFLMModel, textIds: Tensor, textMasks: Tensor): Tensor {
  return tidy(() => {
    const mask = model instanceof FLMModel ? toAdditive(forwardMask(textMasks)) : oneStreamMask(textMasks, { causal: model.config.is_causal_mask }); // [B, 1, L|1, L]
    let x = model.text_transformer.embeddings.forward(textIds); // [B, L, Ht]
    for (const layer of model.text_transformer.layers) x = layer.forward(x, mask); // [B, L, Ht]
    return x.select(1, 0); // [B, Ht]
  });
}

/** Mean cross-entropy per row of logits [B, T, V] against labels [B, T], skipping `ignore`: [B]. */
export function rowCrossEntropy(logits: Tensor, labels: Tensor, ignore: number): Tensor {
  return tidy(() => {
    const valid = labels.ne(ignore); // [B, T]
    const lp = logits.logSoftmax(-1).gather(-1, labels.where(valid, 0).unsqueeze(-1)).squeeze(-1); // [B, T]
    const n = valid.sum(1).to('float32').clamp(1); // [B]
    return F.where(valid, lp, 0).sum(1).neg().div(n); // [B]
  });
}
