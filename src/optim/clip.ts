import { native } from '../native/binding.js';
import { Tensor } from '../tensor/index.js';

/** Scales gradients so their global p-norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  return native.clipGradNorm(params.map((p) => p.handle), maxNorm, normType);
}
