// Per-batch id tensors of FLM derived from text_ids / text_masks (spec §C.9, D.1).
import { type Tensor, arange, tidy } from '../tensor/index.js';

/**
 * Reconstructor query ids `text_all_masks_ids` (§C.9, official `get_flm_batch`): text_masks * <mask>,
 * then column 0 := text_ids[:, 0] (`<s>`) and column n-1 := text_ids[:, n-1] (`</s>`). Pads hold 0
 * (the `<s>` id, not the pad id: §H.9). [B, L] int64.
 * A row without real tokens (n = 0) copies column L-1, as Python's index -1 does.
 */
export function fusionIds(textIds: Tensor, textMasks: Tensor, maskId: number): Tensor {
  return tidy(() => {
    const L = textIds.size(1);
    const ids = textIds.to('int64'); // [B, L]
    const n = textMasks.ne(0).sum(1, { keepdim: true }); // [B, 1]
    const last = n.sub(1).remainder(L); // [B, 1]
    const col = arange(L, undefined, 1, { device: textIds.device }).unsqueeze(0); // [1, L]
    const keepId = col.eq(0).logicalOr(col.eq(last)); // [B, L]
    const masked = textMasks.to('int64').mul(maskId); // [B, L]
    return ids.where(keepId, masked); // [B, L]
  });
}

/** LM labels `text_labels_lm` = text_ids[:, 1:] (collate): pads stay the pad id, the LM ignore index. [B, L-1] */
export function lmLabels(textIds: Tensor): Tensor {
  return tidy(() => textIds.slice(1, 1).to('int64').contiguous());
}
