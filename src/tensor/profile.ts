// Op profiling: where a step's time goes, op by op, for `flm bench step --profile`. Timed natively
// (native/ops_profile.cc) through the same RecordFunction callbacks the PyTorch profiler uses, so flm's
// table and the reference's torch.profiler table name the same aten ops.
import { native } from '../native/binding.js';
import { checkFunction } from './args.js';
import { TorchError } from './errors.js';

/** One op's time while profiling: self = without the aten ops it called; total = with them. */
export interface OpTime {
  op: string;
  calls: number;
  selfMs: number;
  totalMs: number;
}

/**
 * Runs fn (synchronous) and times every aten op (and autograd node) libtorch ran on this thread meanwhile,
 * the backward included. Sorted by self time, largest first. Timing slows each op by a little: profile a
 * separate run, not a timed one. Not nestable.
 */
export function profileOps(fn: () => void): OpTime[] {
  checkFunction('profileOps', 'fn', fn);
  try {
    native.opProfilerStart();
  } catch (e) {
    throw e instanceof TorchError ? new TorchError(`profileOps: ${e.message.replace(/^[^:]*: /, '')}`, 'profileOps', [], { cause: e }) : e;
  }
  let ops: OpTime[] = [];
  try {
    fn();
  } finally {
    ops = native.opProfilerStop();
  }
  return ops.sort((a, b) => b.selfMs - a.selfMs);
}
