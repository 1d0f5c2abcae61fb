// Span corruption of the reconstructor mask (spec §C.7, official `get_corr_bi_attention_mask`).
//
// Split into a deterministic part (corruptionParams), the random draws (sampleSpanDraws: one Binomial
// over [B, 1, L], then one Bernoulli over [B, 1, L], the official call order, so a manualSeed gives
// libtorch's numbers) and the deterministic span application (applySpans). Draws can be injected.
// Fully vectorised: the spans are built by comparing column indices with per-row bounds, which equals
// the official loop over the largest span length.
import { type Tensor, arange, bernoulli, binomial, tidy } from '../tensor/index.js';
import { biMask } from './stream-masks.js';
import { keepOneVisibleKey } from './keep-visible.js';

/** The random part of one corruption: both [B, 1, L] int64. */
export interface SpanDraws {
  /** m: extra corrupted context tokens per row, ~ Binomial(T_q - 1, p_q) */
  m: Tensor;
  /** left: how many of them lie left of the target, floor(m/2) + (m odd ? Bernoulli(0.5) : 0) */
  left: Tensor;
}

export interface CorruptionParams {
  /** T_q = 1 + allowed keys of row q of the rate-0 mask; row 0 := 1. [B, 1, L] int64 */
  textLen: Tensor;
  /** p_q = max(0, (T_q r - 1) / (T_q - 1 + 1e-5)), float32 as the official code. [B, 1, L] */
  prob: Tensor;
}

export interface CorruptionOptions {
  /** injected draws (each [B, 1, L] or [B, L], any integer or float dtype) instead of sampling */
  draws?: SpanDraws;
  /** re-open one key in fully blocked rows (keep-visible.ts); default false = official behaviour */
  keepOneVisible?: boolean;
}

/** Deterministic inputs of the draws (§C.7 steps 2-3) from the rate-0 allowed mask [B, 1, L, 2L]. */
export function corruptionParams(bi: Tensor, rate: number): CorruptionParams {
  return tidy(() => {
    const L = bi.size(2);
    const notRow0 = arange(L, undefined, 1, { device: bi.device }).ne(0); // [L]
    const textLen = bi.sum(-1).add(1).where(notRow0, 1); // [B, 1, L] int64
    // same op order and float32 arithmetic as the official code, so p matches it bit for bit
    const num = textLen.mul(rate).sub(1); // [B, 1, L]
    const den = textLen.sub(1).add(1e-5); // [B, 1, L] float32
    const prob = num.div(den).clamp(0); // [B, 1, L] float32
    return { textLen, prob: prob.to('float32') };
  });
}

/** Samples m ~ Binomial(T_q - 1, p_q) and the left/right split on the default generator (§C.7 steps 3-4). */
export function sampleSpanDraws(params: CorruptionParams): SpanDraws {
  return tidy(() => {
    const count = params.textLen.to('float32').sub(1); // [B, 1, L]
    const m = binomial(count, params.prob).to('int32'); // [B, 1, L]
    const half = m.div(2).sub(m.floorDivide(2)); // [B, 1, L] float32: 0.5 where m is odd
    const left = m.floorDivide(2).add(bernoulli(half)); // [B, 1, L] float32
    return { m: m.to('int64'), left: left.to('int64') };
  });
}

/**
 * Applies the spans to the rate-0 allowed mask [B, 1, L, 2L] (§C.7 steps 5-8):
 * s = max(q - left, 0) blocks forward columns s..q-1; e = min(s + L + m, 2L-1) blocks reverse columns
 * L+q+1..e. The left clamp at the CLS wastes budget, the right end follows the clamped start, overflow
 * into pads is wasted; nothing is unblocked; row 0 is never corrupted.
 */
export function applySpans(bi: Tensor, draws: SpanDraws): Tensor {
  return tidy(() => {
    const [B, , L] = bi.shape as [number, number, number];
    const dev = bi.device;
    const m = draws.m.to('int64').reshape(B, 1, L); // [B, 1, L]
    const left = draws.left.to('int64').reshape(B, 1, L); // [B, 1, L]
    const q = arange(L, undefined, 1, { device: dev }); // [L]
    const s = q.sub(left).clamp(0); // [B, 1, L]
    const e = s.add(L).add(m).clamp(null, 2 * L - 1); // [B, 1, L]
    const col = arange(2 * L, undefined, 1, { device: dev }); // [2L]
    const qc = q.unsqueeze(1); // [L, 1]
    const fwdSpan = col.ge(s.unsqueeze(-1)).logicalAnd(col.lt(qc)); // [B, 1, L, 2L]
    const revSpan = col.gt(qc.add(L)).logicalAnd(col.le(e.unsqueeze(-1))); // [B, 1, L, 2L]
    const notRow0 = qc.ne(0); // [L, 1]
    const blocked = fwdSpan.logicalOr(revSpan).logicalAnd(notRow0); // [B, 1, L, 2L]
    return bi.logicalAnd(blocked.logicalNot()); // [B, 1, L, 2L]
  });
}

/**
 * The span-corrupted reconstructor mask at rate r (§C.7), as an allowed mask [B, 1, L, 2L].
 * `base` is the rate-0 allowed mask (biMask) or the two stream masks it is built from.
 * rate 0 without injected draws returns the rate-0 mask (every p_q is 0, so m = 0).
 */
export function corruptedBiMask(base: Tensor | { fwd: Tensor; rev: Tensor }, rate: number, opts: CorruptionOptions = {}): Tensor {
  return tidy(() => {
    const bi0 = 'fwd' in base ? biMask(base.fwd, base.rev) : allowedOf(base); // [B, 1, L, 2L]
    const draws = opts.draws ?? sampleSpanDraws(corruptionParams(bi0, rate));
    const out = applySpans(bi0, draws);
    return opts.keepOneVisible ? keepOneVisibleKey(out, bi0) : out;
  });
}

/** Accepts an allowed (bool) mask or an additive one (-10000 = blocked, as the official code tests). */
function allowedOf(mask: Tensor): Tensor {
  return mask.dtype === 'bool' ? mask.alias() : mask.ne(-10000);
}
