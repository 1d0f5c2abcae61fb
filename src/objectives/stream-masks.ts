// Deterministic attention masks of FLM (spec §C.2-C.5) and of the single-stream model (§B.9), built
// with tensor ops only (no per-row loops).
//
// Every builder returns a boolean "allowed" mask (true = the query may attend to the key), shape
// [B, 1, Q, K] with a broadcast head axis. `toAdditive` turns it into the official additive form
// (0 = attend, exactly -10000 = blocked, §B.10) in the model dtype.
import { type DType, type Tensor, F, arange, full, tidy } from '../tensor/index.js';
import { keepOneVisibleKey } from './keep-visible.js';

/** The additive value of a blocked entry (official convention, §B.10). */
export const MASK_NEG = -10000;

/** true where the token is real (text_masks != 0). */
function realTokens(textMasks: Tensor): Tensor {
  return textMasks.ne(0); // [B, L] bool
}

/** Bidirectional padding mask of the single-stream model (§B.9 step 3): [B, 1, 1, L]. */
export function paddingMask(textMasks: Tensor): Tensor {
  return tidy(() => realTokens(textMasks).unsqueeze(1).unsqueeze(1)); // [B, 1, 1, L]
}

/**
 * Forward (causal) mask with the post-CLS rule (§C.2): row 0 sees every real token, a row q >= 1
 * sees the real tokens 1..q, and column 0 is blocked for every row q >= 1. [B, 1, L, L].
 * It is also the single-stream causal mask (`is_decoder`, §B.9).
 */
export function forwardMask(textMasks: Tensor): Tensor {
  return tidy(() => {
    const L = textMasks.size(1);
    const ar = arange(L, undefined, 1, { device: textMasks.device }); // [L]
    const q = ar.unsqueeze(1); // [L, 1]
    const k = ar.unsqueeze(0); // [1, L]
    // row 0 is the causal row L-1 (sees all real keys); other rows: 1 <= k <= q
    const pattern = q.eq(0).logicalOr(k.le(q).logicalAnd(k.ge(1))); // [L, L]
    const real = realTokens(textMasks).unsqueeze(1).unsqueeze(1); // [B, 1, 1, L]
    return pattern.logicalAnd(real); // [B, 1, L, L]
  });
}

/** Non-pad area (§C.3): 1 where query and key are real and neither is position 0. [B, 1, L, L] int64. */
export function nonPadArea(textMasks: Tensor): Tensor {
  return tidy(() => nonPadAreaBool(textMasks).to('int64'));
}

function nonPadAreaBool(textMasks: Tensor): Tensor {
  const L = textMasks.size(1);
  const notFirst = arange(L, undefined, 1, { device: textMasks.device }).ge(1); // [L]
  const r = realTokens(textMasks).logicalAnd(notFirst.unsqueeze(0)); // [B, L]
  return r.unsqueeze(2).logicalAnd(r.unsqueeze(1)).unsqueeze(1); // [B, 1, L, L]
}

/**
 * Reverse (anti-causal) mask (§C.4): inside the non-pad area the transpose of the forward mask
 * (a real row q >= 1 sees q..n-1), elsewhere the forward mask (row 0, column 0, pad rows). [B, 1, L, L].
 */
export function reverseMask(textMasks: Tensor, fwd?: Tensor): Tensor {
  return tidy(() => {
    const f = fwd ?? forwardMask(textMasks); // [B, 1, L, L]
    const area = nonPadAreaBool(textMasks); // [B, 1, L, L]
    return f.transpose(2, 3).where(area, f); // [B, 1, L, L]
  });
}

export interface BiMaskOptions {
  /**
   * Leave at least one key visible in every row (see keep-visible.ts). Off by default, as in the
   * official code, where a fully blocked row is fully visible through the additive mask (§H.7).
   */
  keepOneVisible?: boolean;
}

/**
 * Reconstructor mask without span corruption (§C.5): cat(fwd, rev) along the keys, then for every
 * row q >= 1 the target's own columns q and L+q are blocked. Row 0 is untouched. [B, 1, L, 2L].
 */
export function biMask(fwd: Tensor, rev: Tensor, opts: BiMaskOptions = {}): Tensor {
  return tidy(() => {
    const L = fwd.size(-1);
    const q = arange(L, undefined, 1, { device: fwd.device }).unsqueeze(1); // [L, 1]
    const col = arange(2 * L, undefined, 1, { device: fwd.device }).unsqueeze(0); // [1, 2L]
    const own = col.eq(q).logicalOr(col.eq(q.add(L))).logicalAnd(q.ge(1)); // [L, 2L]
    const bi = F.cat([fwd, rev], -1).logicalAnd(own.logicalNot()); // [B, 1, L, 2L]
    return opts.keepOneVisible ? keepOneVisibleKey(bi, bi) : bi;
  });
}

/** Additive form of an allowed mask: 0 where allowed, exactly -10000 where blocked, in `dtype`. */
export function toAdditive(allowed: Tensor, dtype: DType = 'float32'): Tensor {
  return tidy(() => full(allowed.shape, MASK_NEG, { dtype, device: allowed.device }).maskedFill(allowed, 0));
}

/**
 * Additive mask of the single-stream model (`get_extended_attention_mask`, §B.9): the padding mask
 * [B, 1, 1, L], or with `causal` the post-CLS causal mask [B, 1, L, L].
 */
export function oneStreamMask(textMasks: Tensor, opts: { causal?: boolean; dtype?: DType } = {}): Tensor {
  return tidy(() => toAdditive(opts.causal ? forwardMask(textMasks) : paddingMask(textMasks), opts.dtype));
}

/**
 * PrefixLM mask (the vestigial `prefixLM_collator` baseline, §H.23): the first P_b tokens of row b
 * attend bidirectionally among themselves, later tokens causally (prefix + earlier suffix), pads never
 * visible. No post-CLS rule: the CLS is an ordinary prefix token. prefixLengths: [B] (>= 1).
 */
export function prefixLmMask(textMasks: Tensor, prefixLengths: Tensor): Tensor {
  return tidy(() => {
    const L = textMasks.size(1);
    const ar = arange(L, undefined, 1, { device: textMasks.device }); // [L]
    const causal = ar.unsqueeze(0).le(ar.unsqueeze(1)); // [L, L]: k <= q
    const inPrefix = ar.unsqueeze(0).lt(prefixLengths.to('int64').unsqueeze(1)); // [B, L]: k < P_b
    const real = realTokens(textMasks); // [B, L]
    const allowed = causal.unsqueeze(0).logicalOr(inPrefix.unsqueeze(1)); // [B, L, L]
    return allowed.logicalAnd(real.unsqueeze(1)).unsqueeze(1); // [B, 1, L, L]
  });
}
