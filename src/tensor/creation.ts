// Tensor creation, random sampling and generator state.
import { native } from '../native/binding.js';
import {
  type DType, type Device, checkDevice, dtypeCode, dtypeOfTypedArray, elementSize,
} from './dtype.js';
import { tidy } from './scope.js';
import { argError, checkInt, checkInts, checkNumber, checkOptions, describeValue } from './args.js';
import { publicFunction } from './public.js';
import { Tensor, tensorArg, wrap, type NestedArray, type Scalar } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

// Each exported function is a publicFunction (public.ts): an error from inside it (a dtype check, the
// native op) names the function, and a failing call frees the tensors it made.

function dt(o: CreateOptions | undefined): number | null {
  return o?.dtype ? dtypeCode(o.dtype) : null;
}
function dev(o: CreateOptions | undefined): string | null {
  return o?.device ? checkDevice(o.device) : null;
}
function finish(t: Tensor, o: CreateOptions | undefined): Tensor {
  // an integer tensor cannot require grad: the public wrapper frees `t` when this throws
  if (o?.requiresGrad) t.requiresGrad_(true);
  return t;
}
function shapeOf(op: string, s: readonly number[]): number[] {
  checkInts(op, 'shape', s);
  for (const d of s) if (d < 0) argError(op, `negative dimension ${d} in shape [${s.join(', ')}]`);
  return s as number[];
}

export const zeros = publicFunction('zeros', function zeros(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.zeros(shapeOf('zeros', shape), dt(o), dev(o))), o);
});
export const ones = publicFunction('ones', function ones(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.ones(shapeOf('ones', shape), dt(o), dev(o))), o);
});
export const empty = publicFunction('empty', function empty(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.empty(shapeOf('empty', shape), dt(o), dev(o))), o);
});
/** A tensor filled with value: bool for a boolean value (as PyTorch), else float32 unless dtype says otherwise. */
export const full = publicFunction('full', function full(shape: readonly number[], value: Scalar, o?: CreateOptions): Tensor {
  const code = typeof value === 'boolean' && !o?.dtype ? dtypeCode('bool') : dt(o);
  return finish(wrap(native.full(shapeOf('full', shape), value, code, dev(o))), o);
});
export const zerosLike = publicFunction('zerosLike', function zerosLike(t: Tensor, o?: CreateOptions): Tensor {
  tensorArg('zerosLike', t, 't');
  return zeros(t.shape, { dtype: t.dtype, device: t.device, ...o });
});
export const onesLike = publicFunction('onesLike', function onesLike(t: Tensor, o?: CreateOptions): Tensor {
  tensorArg('onesLike', t, 't');
  return ones(t.shape, { dtype: t.dtype, device: t.device, ...o });
});
/** arange(end) or arange(start, end, step); int64 when all arguments are integers, as in PyTorch. */
export const arange = publicFunction('arange', function arange(startOrEnd: number, end?: number, step = 1, o?: CreateOptions): Tensor {
  const [s, e] = end === undefined ? [0, checkNumber('arange', 'end', startOrEnd)] : [checkNumber('arange', 'start', startOrEnd), checkNumber('arange', 'end', end)];
  if (checkNumber('arange', 'step', step) === 0) argError('arange', 'step must be nonzero');
  const allInt = Number.isInteger(s) && Number.isInteger(e) && Number.isInteger(step);
  const code = o?.dtype ? dtypeCode(o.dtype) : allInt ? dtypeCode('int64') : null;
  return finish(wrap(native.arange(s, e, step, code, dev(o))), o);
});
export const linspace = publicFunction('linspace', function linspace(start: number, end: number, steps: number, o?: CreateOptions): Tensor {
  return finish(wrap(native.linspace(start, end, checkInt('linspace', 'steps', steps), dt(o), dev(o))), o);
});
export const eye = publicFunction('eye', function eye(n: number, m?: number, o?: CreateOptions): Tensor {
  return finish(wrap(native.eye(checkInt('eye', 'n', n), checkInt('eye', 'm', m ?? n), dt(o), dev(o))), o);
});
export const randn = publicFunction('randn', function randn(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.randn(shapeOf('randn', shape), dt(o), dev(o))), o);
});
export const rand = publicFunction('rand', function rand(shape: readonly number[], o?: CreateOptions): Tensor {
  return finish(wrap(native.rand(shapeOf('rand', shape), dt(o), dev(o))), o);
});
/** Integers uniform in [low, high). */
export const randint = publicFunction('randint', function randint(low: number, high: number, shape: readonly number[], o?: CreateOptions): Tensor {
  checkInt('randint', 'low', low);
  checkInt('randint', 'high', high);
  if (!(high > low)) argError('randint', `high (${high}) must be greater than low (${low})`);
  return wrap(native.randint(low, high, shapeOf('randint', shape), dt(o), dev(o)));
});
export const randperm = publicFunction('randperm', function randperm(n: number, o?: CreateOptions): Tensor {
  return wrap(native.randperm(checkInt('randperm', 'n', n), dt(o), dev(o)));
});
/** Bernoulli draws with probabilities p (a tensor), or with a scalar p in the shape of `like`. */
export const bernoulli: { (p: Tensor): Tensor; (like: Tensor, p: number): Tensor } = publicFunction('bernoulli', function bernoulli(a: Tensor, p?: number): Tensor {
  if (p === undefined) return wrap(native.bernoulli(tensorArg('bernoulli', a, 'p')));
  return wrap(native.bernoulliP(tensorArg('bernoulli', a), p));
});
/** Binomial(count, prob) draws, elementwise (float tensors, as torch.binomial). */
export const binomial = publicFunction('binomial', function binomial(count: Tensor, prob: Tensor): Tensor {
  return wrap(native.binomial(tensorArg('binomial', count, 'count'), tensorArg('binomial', prob, 'prob')));
});
export const multinomial = publicFunction('multinomial', function multinomial(probs: Tensor, numSamples: number, replacement = false): Tensor {
  return wrap(native.multinomial(tensorArg('multinomial', probs, 'probs'), checkInt('multinomial', 'numSamples', numSamples), replacement));
});

/** Seeds the default generator (and CUDA's): same seed, same numbers. */
export const manualSeed = publicFunction('manualSeed', function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) argError('manualSeed', `seed must be a non-negative safe integer, got ${describeValue(seed)}`);
  native.manualSeed(seed);
});
/** The default generator's state as bytes, for exact resume. */
export const getRngState = publicFunction('getRngState', function getRngState(): Uint8Array {
  const t = wrap(native.getRngState());
  const bytes = t.toTypedArray() as Uint8Array;
  t.dispose();
  return bytes;
});
export const setRngState = publicFunction('setRngState', function setRngState(state: Uint8Array): void {
  if (!(state instanceof Uint8Array)) argError('setRngState', 'state must be a Uint8Array from getRngState()');
  const t = wrap(native.fromBuffer(state, dtypeCode('uint8'), [state.length]));
  try {
    native.setRngState(t.handle);
  } finally {
    t.dispose();
  }
});

// ------------------------------------------------------------------ from host data
const MAX_DIMS = 64;

function inferShape(data: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    // libtorch's limit; also ends an array that contains itself
    if (shape.length === MAX_DIMS) argError(op, `nested array is deeper than ${MAX_DIMS} levels (an array that contains itself?)`);
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flattenInto(data: NestedArray, shape: number[], depth: number, out: number[], op: string): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) argError(op, 'ragged nested array (inconsistent depth)');
    if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else if (typeof data === 'number') out.push(data);
    else argError(op, `nested array holds a ${typeof data}, expected numbers or booleans`);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    argError(op, `ragged nested array: expected length ${shape[depth]} at depth ${depth}`);
  }
  for (const d of data) flattenInto(d, shape, depth + 1, out, op);
}

function typedFor(d: DType, values: number[]): ArrayBufferView {
  switch (d) {
    case 'float64': return Float64Array.from(values);
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(v)));
    case 'int32': return Int32Array.from(values);
    case 'int16': return Int16Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8': return Uint8Array.from(values);
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)); // bool bytes must be 0 or 1
    default: return Float32Array.from(values);
  }
}

/**
 * A tensor from nested arrays, a number, or a TypedArray (copied; give `shape` for TypedArrays, default 1-D).
 * Nested numbers default to float32 (int64 with dtype), booleans to bool.
 */
export const tensor = publicFunction('tensor', function tensor(data: NestedArray | ArrayBufferView, options: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  // tidy: a failing conversion (a dtype, a device) frees the tensors made before it
  return tidy(() => makeTensor(data, options));
});
function makeTensor(data: NestedArray | ArrayBufferView, options: CreateOptions & { shape?: readonly number[] }): Tensor {
  const op = 'tensor';
  // The options are read once, into plain values, before the data is looked at: reading them can run user
  // code (getters) that resizes or detaches a TypedArray's buffer. fromBuffer copies the bytes last.
  checkOptions(op, options);
  const { dtype, device, requiresGrad, shape: shapeOpt } = options;
  const o: CreateOptions = { dtype, device, requiresGrad };
  const shapeCopy = Array.isArray(shapeOpt) ? Array.from(shapeOpt as number[]) : shapeOpt;
  if (o.dtype !== undefined) dtypeCode(o.dtype);
  if (o.device !== undefined) checkDevice(o.device);
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const src = dtypeOfTypedArray(data);
    const n = data.byteLength / elementSize(src);
    const shape = shapeCopy ? shapeOf(op, shapeCopy) : [n];
    const need = shape.reduce((a, b) => a * b, 1);
    if (need !== n) argError(op, `the ${data.constructor.name} holds ${n} elements but shape [${shape.join(', ')}] needs ${need}`);
    t = wrap(native.fromBuffer(data, dtypeCode(src), shape, null));
    if ((o.dtype && o.dtype !== src) || o.device) {
      const conv = o.dtype && o.dtype !== src ? t.to(o.dtype) : t;
      if (conv !== t) t.dispose();
      t = conv;
      if (o.device) {
        const moved = t.to(o.device);
        if (moved !== t) t.dispose();
        t = moved;
      }
    }
    return finish(t, o);
  }
  const shape = inferShape(data, op);
  const flat: number[] = [];
  flattenInto(data, shape, 0, flat, op);
  let first: NestedArray = data;
  while (Array.isArray(first) && first.length) first = first[0]!;
  const d: DType = o.dtype ?? (typeof first === 'boolean' ? 'bool' : 'float32');
  if (d !== 'bool' && d !== 'float32' && d !== 'float64' && d !== 'float16' && d !== 'bfloat16') {
    // typed arrays would wrap an out-of-range integer silently (2**31 stored as -2**31 in int32)
    const [lo, hi] = INT_RANGE[d as keyof typeof INT_RANGE];
    for (const v of flat) {
      if (!Number.isFinite(v)) argError(op, `cannot store ${v} in a ${d} tensor`);
      if (v < lo || v > hi) argError(op, `${v} is out of the ${d} range [${lo}, ${hi}]`);
    }
  }
  const buf = typedFor(d === 'float16' || d === 'bfloat16' ? 'float32' : d, flat);
  const srcD: DType = d === 'float16' || d === 'bfloat16' ? 'float32' : d;
  t = wrap(native.fromBuffer(buf, dtypeCode(srcD), shape, o.device ? checkDevice(o.device) : null));
  if (srcD !== d) {
    const c = t.to(d);
    t.dispose();
    t = c;
  }
  return finish(t, o);
}

const INT_RANGE = {
  uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  // beyond 2**53 a JS number is not an exact integer anyway
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
} as const;

/** A scalar (0-D) tensor. */
export const scalar = publicFunction('scalar', function scalar(v: number, o?: CreateOptions): Tensor {
  return full([], v, { dtype: 'float32', ...o });
});
