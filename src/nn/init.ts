// Parameter initialisers (in place, without recording gradients).
import { Tensor, noGrad } from '../tensor/index.js';

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  noGrad(() => t.normal_(mean, std));
  return t;
}
export function uniform_(t: Tensor, low: number, high: number): Tensor {
  noGrad(() => t.uniform_(low, high));
  return t;
}
export function zeros_(t: Tensor): Tensor {
  noGrad(() => t.zero_());
  return t;
}
export function ones_(t: Tensor): Tensor {
  noGrad(() => t.fill_(1));
  return t;
}
/** fan_in of a weight [out, in, ...]: in * receptive field size. */
export function fanIn(shape: readonly number[]): number {
  return shape.length < 2 ? shape[0]! : shape.slice(1).reduce((a, b) => a * b, 1);
}
/**
 * PyTorch's default Linear/Conv init: kaiming_uniform_(a=sqrt(5)) for the weight, which is
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
 */
export function torchDefault_(weight: Tensor, bias?: Tensor | null): void {
  const bound = 1 / Math.sqrt(fanIn(weight.shape));
  uniform_(weight, -bound, bound);
  if (bias) uniform_(bias, -bound, bound);
}
