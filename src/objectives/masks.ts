// The attention masks of FLM (spec §C) in one place: the deterministic stream masks
// (stream-masks.ts), span corruption of the reconstructor mask (span-corruption.ts), the
// keep-one-visible safety option (keep-visible.ts) and the per-batch id tensors (flm-batch.ts).
import { type DType, type Tensor, tidy } from '../tensor/index.js';
import { biMask, forwardMask, reverseMask, toAdditive } from './stream-masks.js';
import { corruptedBiMask, type CorruptionOptions } from './span-corruption.js';

export interface FlmMasks {
  /** forward stream [B, 1, L, L] (additive) */
  fwd: Tensor;
  /** reverse stream [B, 1, L, L] (additive) */
  rev: Tensor;
  /** reconstructor [B, 1, L, 2L] (additive), span-corrupted when rate > 0 */
  bi: Tensor;
}

export interface FlmMaskOptions extends CorruptionOptions {
  /** span corruption rate r (§C.7); 0 (the released default) hides only the target */
  rate?: number;
  /** model dtype of the additive masks (fp32 even under AMP in the official code) */
  dtype?: DType;
}

/** All three additive masks of the three-stream model for one batch (§B.5 step 3). */
export function flmMasks(textMasks: Tensor, opts: FlmMaskOptions = {}): FlmMasks {
  return tidy(() => {
    const fwd = forwardMask(textMasks);
    const rev = reverseMask(textMasks, fwd);
    const rate = opts.rate ?? 0;
    const bi = rate > 0 || opts.draws
      ? corruptedBiMask({ fwd, rev }, rate, opts)
      : biMask(fwd, rev, { keepOneVisible: opts.keepOneVisible });
    return { fwd: toAdditive(fwd, opts.dtype), rev: toAdditive(rev, opts.dtype), bi: toAdditive(bi, opts.dtype) };
  });
}

export {
  MASK_NEG, paddingMask, forwardMask, nonPadArea, reverseMask, biMask, toAdditive, oneStreamMask, prefixLmMask,
  type BiMaskOptions,
} from './stream-masks.js';
export {
  corruptedBiMask, corruptionParams, sampleSpanDraws, applySpans,
  type CorruptionOptions, type SpanDraws, type CorruptionParams,
} from './span-corruption.js';
export { keepOneVisibleKey, fullyBlockedRows } from './keep-visible.js';
export { fusionIds, lmLabels } from './flm-batch.js';
