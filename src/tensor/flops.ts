// FLOP counting: what the matrix products and convolutions libtorch ran cost, counted from their operand
// shapes (forward and backward), for `flm bench step`'s achieved GFLOP/s. Counted natively (native/
// ops_flops.cc) on every aten kernel, so the backward GEMMs the autograd engine runs are counted too.
import { native } from '../native/binding.js';
import { checkFunction } from './args.js';
import { TorchError } from './errors.js';

/** One kernel's count: calls, and FLOPs (a multiply-add is 2) run with grad mode on (forward) and off (backward). */
export interface FlopCount {
  op: string;
  calls: number;
  forward: number;
  backward: number;
}

export interface FlopReport {
  /** all counted FLOPs */
  total: number;
  /** FLOPs run with grad mode on: a training step's forward */
  forward: number;
  /** FLOPs run with grad mode off: the backward (and anything under noGrad) */
  backward: number;
  byOp: FlopCount[];
}

/**
 * Runs fn (synchronous) and counts the FLOPs of every matrix product (mm, addmm, bmm, baddbmm, addbmm, mv)
 * and convolution (forward and backward) libtorch ran meanwhile, on any thread, and the products of the
 * fused attention kernel (op 'attention (fused)'). Elementwise ops, softmax, norms and the optimiser are
 * not counted (as torch.utils.flop_counter). Counting slows every op a little: count a separate run, not a
 * timed one. Not nestable.
 */
export function countFlops(fn: () => void): FlopReport {
  checkFunction('countFlops', 'fn', fn);
  try {
    native.flopCounterStart();
  } catch (e) {
    throw e instanceof TorchError ? new TorchError(`countFlops: ${e.message.replace(/^[^:]*: /, '')}`, 'countFlops', [], { cause: e }) : e;
  }
  let byOp: FlopCount[] = [];
  try {
    fn();
  } finally {
    byOp = native.flopCounterStop();
  }
  const forward = byOp.reduce((a, c) => a + c.forward, 0);
  const backward = byOp.reduce((a, c) => a + c.backward, 0);
  return { total: forward + backward, forward, backward, byOp };
}
