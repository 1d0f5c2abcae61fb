// Argument generation for the API fuzzer: valid tensors of every dtype and several shapes (contiguous,
// transposed, expanded, sliced, requiring grad) mixed with bad values (wrong types, NaN, ±Infinity,
// huge/negative integers, 2**32, empty and ragged arrays, disposed and forged tensors, hostile objects).
import * as T from '../src/tensor/index.js';
import type { Rng } from './rng.js';

type Tensor = T.Tensor;
const { Tensor } = T;

export const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'] as const;
const FLOATS = ['float32', 'float64'] as const;
const SHAPES: readonly number[][] = [
  [], [0], [1], [3], [5], [2, 3], [3, 2], [4, 4], [1, 4], [2, 0, 3], [2, 3, 4], [1, 1, 4, 4], [2, 2, 3, 3], [2, 1, 3, 1], [2, 2, 2, 2, 2],
];
/** Integers that should be accepted (small) or refused (out of every range) without a crash. */
const GOOD_INTS = [0, 1, 2, 3, -1, -2, 4, 5, 8, 16];
export const BAD_NUMBERS = [
  NaN, Infinity, -Infinity, -0, 0.5, -0.5, 1.5, 1e-12, Number.MIN_VALUE, Number.EPSILON, -7, -100, 64, 1000,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 63, -(2 ** 63), 2 ** 64,
  1e300, -1e300, Number.MAX_VALUE,
];
const STRINGS = [
  '', 'float32', 'float64', 'int64', 'int32', 'uint8', 'bool', 'bfloat16', 'float16', 'complex64', 'cpu', 'cuda', 'cuda:0', 'cuda:99', 'cuda:-1', 'mps',
  'mean', 'sum', 'none', 'tanh', 'bilinear', 'bicubic', 'nearest', 'area', 'ij,jk->ik', 'i->', 'ii->i', '...ij->...ji', 'i,i->', '->', 'a'.repeat(300),
  '\0', 'ü', '__proto__', 'constructor', 'toString', '1', 'NaN',
];

/** An error thrown by the fuzzer's own code run by the API (callbacks, getters, proxy traps): it must pass through. */
export class UserCodeError extends Error {}

/** A callback as user code: whatever it throws is marked as user code (a TorchError from an op inside it too). */
export function userFn<F extends (...a: never[]) => unknown>(f: F): F {
  return ((...a: never[]) => {
    try {
      return f(...a);
    } catch (e) {
      throw new UserCodeError(e instanceof Error ? e.message : String(e), { cause: e });
    }
  }) as F;
}

export interface Pool {
  rng: Rng;
  made: Tensor[];
}

function fillValues(r: Rng, dtype: string, n: number): number[] {
  const out: number[] = [];
  const special = r.chance(0.15);
  for (let i = 0; i < n; i++) {
    if (dtype === 'bool') out.push(r.int(2));
    else if (dtype === 'uint8') out.push(r.int(256));
    else if (dtype.startsWith('int')) out.push(r.chance(0.1) ? r.pick([-1, -100, 127, 2 ** 20]) : r.range(-3, 9));
    else if (special && r.chance(0.3)) out.push(r.pick([NaN, Infinity, -Infinity, 0, -0, 1e30, -1e30, 1e-40]));
    else out.push((r.next() - 0.5) * 6);
  }
  if (dtype === 'int8') return out.map((v) => Math.max(-128, Math.min(127, v)));
  if (dtype === 'int16') return out.map((v) => Math.max(-32768, Math.min(32767, v)));
  return out;
}

/** A valid tensor of the given (or a random) dtype and shape, sometimes a view or a grad leaf. */
export function validTensor(p: Pool, dtype?: string, shape?: number[]): Tensor {
  const r = p.rng;
  const d = dtype ?? (r.chance(0.55) ? r.pick(FLOATS) : r.pick(DTYPES));
  const s = shape ?? r.pick(SHAPES);
  const n = s.reduce((a, b) => a * b, 1);
  const flat = fillValues(r, d, n);
  let t: Tensor = T.tensor(flat.length ? flat : [], { dtype: d as T.DType }).reshape(s);
  const kind = r.int(10);
  if (kind === 0 && s.length >= 2) t = t.transpose(0, s.length - 1);
  else if (kind === 1 && s.length >= 1 && s[0] === 1) t = t.expand([3, ...s.slice(1)]);
  else if (kind === 2 && s.length >= 1 && s[0]! > 1) t = t.slice(0, 0, null, 2);
  else if (kind === 3 && (d === 'float32' || d === 'float64')) t = t.clone().requiresGrad_(true);
  else if (kind === 4 && (d === 'float32' || d === 'float64')) t = t.clone().requiresGrad_(true).mul(2); // non-leaf
  p.made.push(t);
  return t;
}

export function indexTensor(p: Pool): Tensor {
  const r = p.rng;
  const n = r.range(0, 4);
  const vals = Array.from({ length: n }, () => (r.chance(0.85) ? r.range(0, 3) : r.pick([-1, -5, 7, 100, 2 ** 40])));
  const dtype = r.chance(0.8) ? 'int64' : r.pick(['int32', 'uint8', 'bool', 'float32'] as const);
  const fit = dtype === 'uint8' ? vals.map((v) => Math.max(0, Math.min(255, v))) : dtype === 'int32' ? vals.map((v) => Math.min(v, 2 ** 31 - 1)) : vals;
  const t = T.tensor(fit, { dtype });
  p.made.push(t);
  return t;
}

function forged(p: Pool): unknown {
  const r = p.rng;
  switch (r.int(7)) {
    case 0: { const t = validTensor(p); t.dispose(); return t; }
    case 1: return T.keep(new Tensor(r.pick([{}, [], 1, 'x', new ArrayBuffer(8), new Uint8Array(16), () => 0, Symbol('h')] as never[])));
    case 2: { const a = validTensor(p); const b = T.keep(new Tensor(a.handle)); a.dispose(); return b; } // a second wrapper of a freed handle
    case 3: return Object.create(Tensor.prototype);
    case 4: return { handle: validTensor(p).handle, shape: [2, 2], dtype: 'float32' };
    case 5: return new Proxy(validTensor(p), { get() { throw new UserCodeError('proxy trap'); } });
    default: { const t = validTensor(p); t.dispose(); return T.keep(new Tensor(t.handle)); }
  }
}

function hostile(p: Pool): unknown {
  const r = p.rng;
  switch (r.int(9)) {
    case 0: return { get dtype() { throw new UserCodeError('getter'); }, get shape() { throw new UserCodeError('getter'); } };
    case 1: return new Proxy({}, { get() { throw new UserCodeError('proxy trap'); }, has() { throw new UserCodeError('proxy trap'); }, ownKeys() { throw new UserCodeError('proxy trap'); } });
    case 2: return { valueOf: () => 3, toString: () => 'float32', [Symbol.toPrimitive]: () => 2 };
    case 3: return Symbol('s');
    case 4: return () => { throw new UserCodeError('callback'); };
    case 5: { const a = [1, 2, 3]; Object.defineProperty(a, 0, { get() { throw new UserCodeError('index getter'); } }); return a; }
    case 6: { const a: unknown[] = []; a.push(a); return a; } // cyclic
    case 7: return Object.create(null);
    default: return new Date(0);
  }
}

function typedArray(p: Pool): unknown {
  const r = p.rng;
  const n = r.pick([0, 1, 3, 4, 8]);
  switch (r.int(10)) {
    case 0: return new Float32Array(n).fill(r.pick([0, NaN, Infinity, 1]));
    case 1: return new Float64Array(n);
    case 2: return new BigInt64Array(n).fill(2n ** 62n);
    case 3: return new Uint16Array(n); // unsupported element type
    case 4: return new DataView(new ArrayBuffer(n));
    case 5: { const a = new Float32Array(4); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; } // detached
    case 6: return new Int32Array(new SharedArrayBuffer(4 * n));
    case 7: { const b = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(16, { maxByteLength: 64 }); return new Float32Array(b); } // length-tracking
    case 8: return new Uint8Array(new ArrayBuffer(9), 1, 8); // unaligned view
    default: return new Uint8ClampedArray(n);
  }
}

function array(p: Pool, depth: number): unknown {
  const r = p.rng;
  switch (r.int(12)) {
    case 0: return [];
    case 1: return Array.from({ length: r.range(1, 4) }, () => r.pick(GOOD_INTS));
    case 2: return Array.from({ length: r.range(1, 4) }, () => r.pick(BAD_NUMBERS));
    case 3: return [[1, 2], [3]]; // ragged
    case 4: return new Array(r.range(1, 5)); // holes
    case 5: return Array.from({ length: r.range(1, 3) }, () => validTensor(p));
    case 6: return [validTensor(p), forged(p)];
    case 7: return Array.from({ length: r.range(1, 3) }, () => r.pick(STRINGS));
    case 8: return Array.from({ length: 70 }, () => 1); // more dims than anything accepts
    case 9: return depth < 2 ? [anyValue(p, depth + 1), anyValue(p, depth + 1)] : [];
    case 10: return [2 ** 32, 1];
    default: return Array.from({ length: r.range(1, 3) }, () => r.pick([true, false, null, undefined, '2', 2n]));
  }
}

function options(p: Pool): Record<string, unknown> {
  const r = p.rng;
  const keys = ['dtype', 'device', 'requiresGrad', 'shape', 'keepdim', 'correction', 'copy', 'retainGraph', 'stride', 'padding', 'dilation', 'groups',
    'reduction', 'ignoreIndex', 'labelSmoothing', 'weight', 'posWeight', 'eps', 'atol', 'rtol', 'enabled'];
  const o: Record<string, unknown> = {};
  const k = r.range(1, 3);
  for (let i = 0; i < k; i++) {
    const key = r.pick(keys);
    o[key] = r.chance(0.5) ? plausibleFor(p, key) : anyValue(p, 2);
  }
  return o;
}

function plausibleFor(p: Pool, key: string): unknown {
  const r = p.rng;
  switch (key) {
    case 'dtype': return r.pick(DTYPES);
    case 'device': return r.pick(['cpu', 'cuda', 'cuda:1']);
    case 'shape': return r.pick(SHAPES);
    case 'reduction': return r.pick(['mean', 'sum', 'none']);
    case 'weight': case 'posWeight': return validTensor(p);
    case 'stride': case 'padding': case 'dilation': case 'groups': return r.pick([1, 2, 0, -1, [1, 1], [2, 2 ** 32]]);
    default: return r.chance(0.5) ? r.pick(GOOD_INTS) : r.chance(0.5);
  }
}

/** Anything: the bad-value generator. */
export function anyValue(p: Pool, depth = 0): unknown {
  const r = p.rng;
  switch (r.int(14)) {
    case 0: case 1: return validTensor(p);
    case 2: return forged(p);
    case 3: return r.pick(GOOD_INTS);
    case 4: case 5: return r.pick(BAD_NUMBERS);
    case 6: return r.pick(STRINGS);
    case 7: return r.pick([true, false, null, undefined, 1n, 2n ** 64n, -1n]);
    case 8: return array(p, depth);
    case 9: return options(p);
    case 10: return typedArray(p);
    case 11: return hostile(p);
    case 12: return indexTensor(p);
    default: return validTensor(p, r.pick(DTYPES));
  }
}

/** A plausible argument: mostly what a correct caller passes (so calls reach the native kernels). */
export function plausible(p: Pool, position: number, like?: Tensor): unknown {
  const r = p.rng;
  switch (r.int(8)) {
    case 0: case 1: {
      let same: [string, number[]] | undefined;
      try { same = like && r.chance(0.6) ? [like.dtype, like.shape] : undefined; } catch { /* forged or disposed */ }
      return same ? validTensor(p, same[0], same[1]) : validTensor(p);
    }
    case 2: return r.pick(GOOD_INTS);
    case 3: return position === 0 ? r.pick(SHAPES) : r.pick([-1, 0, 1]);
    case 4: return indexTensor(p);
    case 5: return r.chance(0.5) ? options(p) : r.pick(DTYPES);
    case 6: return r.chance(0.5);
    default: return r.pick(SHAPES);
  }
}

/** An argument list for a function of declared arity `n`: plausible values with some bad ones mixed in. */
export function argList(p: Pool, n: number, like?: Tensor): unknown[] {
  const r = p.rng;
  const len = Math.max(0, n + r.pick([0, 0, 0, 1, 2, -1]));
  const bad = r.pick([0, 0.15, 0.35, 0.7, 1]);
  return Array.from({ length: len }, (_, i) => (r.chance(bad) ? anyValue(p) : plausible(p, i, like)));
}

/** A short description of a value, for reproducers. */
export function describe(v: unknown, depth = 0): string {
  if (v instanceof Tensor) {
    try {
      return v.isDisposed ? 'Tensor(disposed)' : `Tensor(${v.dtype}[${v.shape.join(',')}]${v.isContiguous() ? '' : ',strided'}${v.requiresGrad ? ',grad' : ''})`;
    } catch {
      return 'Tensor(forged)';
    }
  }
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…(${v.length})` : v);
  if (typeof v === 'symbol' || typeof v === 'function' || v === null || v === undefined || typeof v === 'boolean') return String(v);
  if (depth > 2) return '…';
  try {
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength}B)`;
    if (Array.isArray(v)) return `[${Array.from({ length: Math.min(v.length, 8) }, (_, i) => (i in v ? describe(v[i], depth + 1) : '<hole>')).join(', ')}${v.length > 8 ? `, …(${v.length})` : ''}]`;
    if (Object.getPrototypeOf(v) === Object.prototype) return `{${Object.entries(v as object).map(([k, x]) => `${k}: ${describe(x, depth + 1)}`).join(', ')}}`;
    return `<${(v as object).constructor?.name ?? 'object'}>`;
  } catch {
    return '<hostile>';
  }
}

/** The values the targeted sweep puts, one at a time, into each argument position of each function. */
export function targetedValue(p: Pool, k: number): unknown {
  const fixed: unknown[] = [...BAD_NUMBERS, undefined, null, '', 'junk', true, 2n ** 64n, [], [2 ** 32], [NaN], {}];
  if (k < fixed.length) return fixed[k];
  switch (k - fixed.length) {
    case 0: { const t = validTensor(p); t.dispose(); return t; }
    case 1: return T.keep(new Tensor({} as never));
    case 2: return validTensor(p, 'bool');
    case 3: return validTensor(p, 'int64', [0]);
    case 4: return validTensor(p, 'float16', [2, 2]);
    default: return Object.create(Tensor.prototype);
  }
}
export const TARGETED_VALUES = BAD_NUMBERS.length + 16;
