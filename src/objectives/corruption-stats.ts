// Realised span-corruption statistics over many sampled masks (spec §C.7), in the layout of the
// fixtures' `stats.*` entries (shared/reference/flm_reference.py: mask_cases), so a sampler can be
// compared with the official one statistically.
//
// Per draw and query row: "extra blocked" = context keys visible at rate 0 but blocked after the
// corruption (split into forward / reverse halves), the Binomial draw m, and whether the row ended up
// fully blocked. Per-length figures pool the non-pad query rows 1..n-1 of one batch row.
import { type Tensor, arange, keep, tidy, zeros } from '../tensor/index.js';
import { biMask, forwardMask, reverseMask } from './stream-masks.js';
import { applySpans, corruptionParams, sampleSpanDraws } from './span-corruption.js';
import { keepOneVisibleKey } from './keep-visible.js';

/** All float64 except `lengths` / `rowsPerLength` (int64). Shapes: [B] per length, [B, L] per row. */
export interface CorruptionStats {
  lengths: Tensor;
  rowsPerLength: Tensor;
  meanExtraBlockedByLen: Tensor;
  stdExtraBlockedByLen: Tensor;
  seExtraBlockedByLen: Tensor;
  meanExtraBlockedFwdByLen: Tensor;
  seExtraBlockedFwdByLen: Tensor;
  meanExtraBlockedRevByLen: Tensor;
  seExtraBlockedRevByLen: Tensor;
  meanMaskNumByLen: Tensor;
  seMaskNumByLen: Tensor;
  expectedMaskNumByLen: Tensor;
  fracFullyBlockedRowsByLen: Tensor;
  meanExtraBlockedByRow: Tensor;
  stdExtraBlockedByRow: Tensor;
}

/** Per-row running sums over the draws: [B, L] float64 each. */
interface Sums { x: Tensor; x2: Tensor; f: Tensor; f2: Tensor; r: Tensor; r2: Tensor; m: Tensor; m2: Tensor; full: Tensor }

/**
 * Samples `numSamples` corrupted masks at `rate` on the default generator (seed it first for
 * reproducible numbers) and returns their statistics.
 */
export function corruptionStats(textMasks: Tensor, rate: number, numSamples: number, opts: { keepOneVisible?: boolean } = {}): CorruptionStats {
  return tidy(() => {
    const [B, L] = textMasks.shape as [number, number];
    const base = biMask(forwardMask(textMasks), reverseMask(textMasks)); // [B, 1, L, 2L]
    const params = corruptionParams(base, rate);
    const z = (): Tensor => keep(zeros([B, L], { dtype: 'float64', device: textMasks.device }));
    const s: Sums = { x: z(), x2: z(), f: z(), f2: z(), r: z(), r2: z(), m: z(), m2: z(), full: z() };
    try {
      for (let t = 0; t < numSamples; t++) accumulate(s, base, params, L, opts.keepOneVisible ?? false);
      return summarise(s, textMasks, params.textLen, params.prob, numSamples);
    } finally {
      for (const v of Object.values(s)) v.dispose();
    }
  });
}

function accumulate(s: Sums, base: Tensor, params: ReturnType<typeof corruptionParams>, L: number, keepOne: boolean): void {
  tidy(() => {
    const draws = sampleSpanDraws(params);
    let bi = applySpans(base, draws); // [B, 1, L, 2L]
    if (keepOne) bi = keepOneVisibleKey(bi, base);
    const newly = base.logicalAnd(bi.logicalNot()).squeeze(1).to('float64'); // [B, L, 2L]
    const x = newly.sum(-1); // [B, L]
    const f = newly.narrow(-1, 0, L).sum(-1); // [B, L]
    const r = newly.narrow(-1, L, L).sum(-1); // [B, L]
    const m = draws.m.squeeze(1).to('float64'); // [B, L]
    const full = bi.any(-1).logicalNot().squeeze(1).to('float64'); // [B, L]
    s.x.add_(x); s.x2.add_(x.square());
    s.f.add_(f); s.f2.add_(f.square());
    s.r.add_(r); s.r2.add_(r.square());
    s.m.add_(m); s.m2.add_(m.square());
    s.full.add_(full);
  });
}

function summarise(s: Sums, textMasks: Tensor, textLen: Tensor, prob: Tensor, N: number): CorruptionStats {
  const L = textMasks.size(1);
  const lengths = textMasks.ne(0).sum(1); // [B] int64
  const q = arange(L, undefined, 1, { device: textMasks.device }).unsqueeze(0); // [1, L]
  const sel = q.ge(1).logicalAnd(q.lt(lengths.unsqueeze(1))).to('float64'); // [B, L] non-pad rows >= 1
  const nRows = sel.sum(1); // [B]
  const nVals = nRows.mul(N).clamp(1); // [B] pooled values per length
  const pooledMean = (sum: Tensor): Tensor => sum.mul(sel).sum(1).div(nVals); // [B]
  const pooledStd = (sum: Tensor, sum2: Tensor): Tensor => {
    const mu = pooledMean(sum);
    return pooledMean(sum2).sub(mu.square()).clamp(0).sqrt(); // [B] population std
  };
  const se = (sum: Tensor, sum2: Tensor): Tensor => pooledStd(sum, sum2).div(nVals.sqrt()); // [B]
  const std = pooledStd(s.x, s.x2);
  const expected = textLen.squeeze(1).to('float64').sub(1).mul(prob.squeeze(1).to('float64')); // [B, L]
  const rowMean = s.x.div(N); // [B, L]
  return {
    lengths,
    rowsPerLength: nRows.mul(N).to('int64'),
    meanExtraBlockedByLen: pooledMean(s.x),
    stdExtraBlockedByLen: std,
    seExtraBlockedByLen: std.div(nVals.sqrt()),
    meanExtraBlockedFwdByLen: pooledMean(s.f),
    seExtraBlockedFwdByLen: se(s.f, s.f2),
    meanExtraBlockedRevByLen: pooledMean(s.r),
    seExtraBlockedRevByLen: se(s.r, s.r2),
    meanMaskNumByLen: pooledMean(s.m),
    seMaskNumByLen: se(s.m, s.m2),
    expectedMaskNumByLen: expected.mul(sel).sum(1).div(nRows.clamp(1)),
    fracFullyBlockedRowsByLen: pooledMean(s.full),
    meanExtraBlockedByRow: rowMean,
    stdExtraBlockedByRow: s.x2.div(N).sub(rowMean.square()).clamp(0).sqrt(),
  };
}
