// The "keep one key visible" safety option for reconstructor masks (spec §H.7, §C.7 edge cases).
//
// With the official additive -10000 convention a row whose keys are all blocked gets a uniform
// softmax over every key, so a fully hidden target row suddenly sees the target's own features (a
// leak). This option re-opens exactly one key in such rows instead:
// - the key of the row's rate-0 context (`base`) that lies farthest from the target position, so the
//   corruption stays as close as possible to the intended span; a forward key wins a tie. Every
//   rate-0 key is leak-free (§C.5): forward feature j < q encodes tokens 1..j, reverse feature j > q
//   encodes tokens j..n-1.
// - when the rate-0 row is already empty (only row 1 of a caption `<s></s>`, whose target `</s>` has
//   no context at all) no leak-free key exists; column 0 (the forward CLS) is opened, which is still
//   less than the official fully visible row.
import { type Tensor, arange, tidy } from '../tensor/index.js';

/** [B, 1, L] bool: rows of an allowed mask [B, 1, L, K] with no allowed key. */
export function fullyBlockedRows(allowed: Tensor): Tensor {
  return tidy(() => allowed.any(-1).logicalNot());
}

/**
 * Returns `mask` ([B, 1, L, 2L] bool) with one key of `base` (the rate-0 mask, same shape) re-opened
 * in every row that `mask` blocks completely. Other rows are unchanged.
 */
export function keepOneVisibleKey(mask: Tensor, base: Tensor): Tensor {
  return tidy(() => {
    const L = mask.size(2);
    const K = mask.size(3);
    const dev = mask.device;
    const q = arange(L, undefined, 1, { device: dev }).unsqueeze(1); // [L, 1]
    const col = arange(K, undefined, 1, { device: dev }).unsqueeze(0); // [1, K]
    const isFwd = col.lt(L); // [1, K]
    const pos = col.sub(isFwd.logicalNot().to('int64').mul(L)); // [1, K] token position of the key
    const score = pos.sub(q).abs().mul(2).add(isFwd.to('int64')); // [L, K]: farther first, forward on ties
    const ranked = score.unsqueeze(0).unsqueeze(0).where(base, -1); // [B, 1, L, K]
    const pick = ranked.argmax(-1, true); // [B, 1, L, 1]; all -1 (empty base row) gives column 0
    const chosen = col.eq(pick); // [B, 1, L, K]
    const empty = fullyBlockedRows(mask).unsqueeze(-1); // [B, 1, L, 1]
    return mask.logicalOr(chosen.logicalAnd(empty)); // [B, 1, L, K]
  });
}
