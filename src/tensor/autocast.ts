// Mixed precision as torch.autocast does it: inside the region, the ops libtorch lists as safe in lower
// precision (matmul, linear, conv, attention's bmm, ...) run in bfloat16 (CPU) or float16/bfloat16
// (CUDA), while reductions, softmax, layer norm and losses stay in float32. Parameters stay float32;
// gradients flow back through the casts. Run the backward pass outside the region, as PyTorch advises.
import { native } from '../native/binding.js';
import { dtypeCode, type DType } from './dtype.js';
import { argError, checkFunction, checkOptions, describeValue } from './args.js';

export type AutocastDevice = 'cpu' | 'cuda';

export interface AutocastOptions {
  device?: AutocastDevice;
  /** default bfloat16 (the only CPU choice) */
  dtype?: Extract<DType, 'bfloat16' | 'float16'>;
  /** false runs fn as it is (a switch for callers) */
  enabled?: boolean;
}

/** Runs fn with autocast on; nested regions and exceptions restore the previous state. */
export function autocast<T>(fn: () => T, o: AutocastOptions = {}): T {
  // checked here, not by the native autocastEnter, so that errors name autocast (autocast runs user code,
  // so it is not a publicFunction: an error from fn leaves unchanged)
  checkFunction('autocast', 'fn', fn);
  checkOptions('autocast', o);
  if (o.enabled === false) return fn();
  const device = o.device ?? 'cpu';
  const dtype = o.dtype ?? 'bfloat16';
  if (device !== 'cpu' && device !== 'cuda') argError('autocast', `device must be 'cpu' or 'cuda', got ${typeof device === 'string' ? `'${device}'` : describeValue(device)}`);
  if (dtype !== 'bfloat16' && (dtype !== 'float16' || device === 'cpu')) {
    argError('autocast', `dtype must be bfloat16${device === 'cpu' ? ' on the CPU' : ' or float16'}, got ${typeof dtype === 'string' ? dtype : describeValue(dtype)}`);
  }
  const code = dtypeCode(dtype);
  const [prevEnabled, prevDtype] = native.autocastEnter(device, code);
  try {
    return fn();
  } finally {
    native.autocastExit(device, prevEnabled, prevDtype);
  }
}
