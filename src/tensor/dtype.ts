// Data types: names as in PyTorch, codes shared with native/core.cc.
import { TorchError } from './errors.js';
import { describeValue, kindOf } from './args.js';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool' | 'int8' | 'int16';
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

const CODES: Record<DType, number> = {
  float32: 0, float64: 1, float16: 2, bfloat16: 3, int64: 4, int32: 5, uint8: 6, bool: 7, int8: 8, int16: 9,
};
const NAMES: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool', 'int8', 'int16'];

export const DTYPES: readonly DType[] = NAMES;

// An unknown dtype or device is a TorchError naming the function below; a public function that calls
// one reports it under its own name (public.ts).

/** The native code of a dtype. */
export function dtypeCode(d: DType): number {
  const c = typeof d === 'string' && Object.prototype.hasOwnProperty.call(CODES, d) ? CODES[d] : undefined;
  if (c === undefined) throw new TorchError(`dtypeCode: unknown dtype ${typeof d === 'string' ? `'${d}'` : describeValue(d)}; expected one of ${NAMES.join(', ')}`, 'dtypeCode');
  return c;
}

/** The dtype of a native code. */
export function dtypeFromCode(c: number): DType {
  const d = Number.isInteger(c) ? NAMES[c] : undefined;
  if (d === undefined) throw new TorchError(`dtypeFromCode: ${describeValue(c)} is not a dtype code flm supports (0 to ${NAMES.length - 1})`, 'dtypeFromCode');
  return d;
}

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

export function elementSize(d: DType): number {
  switch (d) {
    case 'float64': case 'int64': return 8;
    case 'float32': case 'int32': return 4;
    case 'float16': case 'bfloat16': case 'int16': return 2;
    default: return 1;
  }
}

export type TypedArrayFor<D extends DType> =
  D extends 'float32' ? Float32Array :
  D extends 'float64' ? Float64Array :
  D extends 'int64' ? BigInt64Array :
  D extends 'int32' ? Int32Array :
  D extends 'int16' ? Int16Array :
  D extends 'int8' ? Int8Array :
  D extends 'uint8' | 'bool' ? Uint8Array :
  Float32Array; // float16/bfloat16 are widened to float32 on the way out

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** The dtype a TypedArray maps to by default. */
export function dtypeOfTypedArray(a: ArrayBufferView): DType {
  const op = 'dtypeOfTypedArray';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (!ArrayBuffer.isView(a)) throw new TorchError(`${op}: expected a TypedArray, got ${kindOf(a)}`, op);
  throw new TorchError(`${op}: unsupported ${kindOf(a).replace(/^an? /, '')}; use Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array or Uint8Array`, op);
}

/** Validates a device name. */
export function checkDevice(d: string): Device {
  if (typeof d === 'string' && (d === 'cpu' || d === 'cuda' || /^cuda:\d+$/.test(d))) return d as Device;
  throw new TorchError(`checkDevice: unknown device ${typeof d === 'string' ? `'${d}'` : describeValue(d)}; expected 'cpu', 'cuda' or 'cuda:N'`, 'checkDevice');
}
