// The Tensor: a typed, disposable handle to a libtorch tensor, with PyTorch's method vocabulary.
// Methods validate their JS arguments, then call one native function; libtorch errors come back as
// TorchError naming the op. Every new tensor joins the innermost tidy() scope.
import { native, type NativeTensor } from '../native/binding.js';
import {
  type AnyTypedArray, type DType, type Device, checkDevice, dtypeCode, dtypeFromCode, isFloating,
} from './dtype.js';
import { track, untrack, type Tracked } from './scope.js';

export type Scalar = number | boolean;
export type Shape = readonly number[];
export type NestedArray = number | boolean | NestedArray[];
type H = NativeTensor;
type Opt<T> = T | null | undefined;

import { TorchError } from './errors.js';

export { TorchError };

/**
 * Runs a native call. Native errors need no conversion: the addon throws them as TorchErrors itself
 * (src/native/binding.ts registers the class), with the dtypes and shapes of the tensor arguments.
 */
function call<T>(fn: () => T): T {
  return fn();
}

function argError(op: string, msg: string): never {
  throw new TorchError(`${op}: ${msg}`, op);
}

function checkInt(op: string, name: string, v: unknown): number {
  // the range (int64, int32...) is checked natively, where the target type is known; both report the
  // number as given (1e+300), never as a wrapped int64
  if (typeof v !== 'number' || !Number.isInteger(v)) argError(op, `${name} must be an integer, got ${describeValue(v)}`);
  return v;
}

/** A value as an error message shows it: numbers as JavaScript writes them, other things by kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return kindOf(v);
}

/** The kind of a value for "must be a Tensor, got <kind>": number, string, null, an array, Map... */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof v;
}

function checkInts(op: string, name: string, v: unknown): number[] {
  if (!Array.isArray(v)) argError(op, `${name} must be an array of integers, got ${describeValue(v)}`);
  for (const x of v) checkInt(op, name, x);
  return v as number[];
}

function dims(op: string, d: Opt<number | readonly number[]>): number[] {
  if (d === null || d === undefined) return [];
  if (typeof d === 'number') return [checkInt(op, 'dim', d)];
  return checkInts(op, 'dims', d);
}

function other(op: string, b: Tensor | Scalar): H | Scalar {
  if (b instanceof Tensor) return b.handle;
  if (typeof b === 'number' || typeof b === 'boolean') return b;
  return argError(op, `argument other must be a Tensor or a number, got ${kindOf(b)}`);
}

/** The handle of a Tensor argument; anything else is a TorchError naming the function and argument. */
function tensorArg(op: string, t: unknown, name = 'other'): H {
  if (!(t instanceof Tensor)) argError(op, `argument ${name} must be a Tensor, got ${kindOf(t)}`);
  return t.handle;
}

/** Checks that each named argument is a Tensor (for functions that call Tensor methods on them). */
function checkTensors(op: string, args: Record<string, unknown>): void {
  for (const [name, t] of Object.entries(args)) tensorArg(op, t, name);
}

function optTensor(op: string, t: Opt<Tensor>, name: string): H | null {
  return t === null || t === undefined ? null : tensorArg(op, t, name);
}

export class Tensor implements Tracked, Disposable {
  _kept = false;
  _scope: Set<Tracked> | null = null;
  #h: H;
  #disposed = false;
  #shape: number[] | null = null;

  /** Internal: wraps a native handle (use the creation functions instead). */
  constructor(h: H) {
    this.#h = h;
    track(this);
  }

  /**
   * The native handle. After dispose() it is an empty handle: every native op it reaches throws
   * "<op>: argument N was used after dispose()", naming the op.
   */
  get handle(): H {
    return this.#h;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Frees this handle's reference now. Idempotent. */
  dispose(): void {
    if (!this.#disposed) {
      native.dispose(this.#h);
      this.#disposed = true;
      untrack(this);
    }
  }

  /**
   * Internal: makes this object refer to `other`'s tensor (for moving parameters between devices while
   * keeping the object identity optimisers and modules hold); `other` is consumed. requires_grad is kept.
   */
  _replaceWith(other: Tensor): void {
    const rg = !this.#disposed && native.requiresGrad(this.#h);
    const h = call(() => native.alias(other.handle));
    other.dispose();
    this.dispose();
    this.#h = h;
    this.#disposed = false;
    this.#shape = null;
    if (rg && !native.requiresGrad(h)) call(() => native.setRequiresGrad(h, true));
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ------------------------------------------------------------------ metadata
  get shape(): number[] {
    if (this.#shape === null || this.#disposed) this.#shape = call(() => native.shape(this.handle));
    return this.#shape.slice();
  }
  get ndim(): number {
    return this.shape.length;
  }
  get dtype(): DType {
    return dtypeFromCode(call(() => native.dtype(this.handle)));
  }
  get device(): Device {
    return call(() => native.device(this.handle)) as Device;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    checkInt('size', 'dim', dim);
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) argError('size', `dim ${dim} out of range for a ${s.length}-D tensor`);
    return s[d]!;
  }
  get strides(): number[] {
    return call(() => native.strides(this.handle));
  }
  isContiguous(): boolean {
    return call(() => native.isContiguous(this.handle));
  }
  toString(): string {
    if (this.#disposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ------------------------------------------------------------------ host transfer
  /** Values as a TypedArray (a copy). float16/bfloat16 are widened to Float32Array, bool to Uint8Array. */
  toTypedArray(): AnyTypedArray {
    const dt = this.dtype;
    const src: Tensor = dt === 'float16' || dt === 'bfloat16' ? this.to('float32') : this;
    const buf = call(() => native.toBuffer(src.handle));
    if (src !== this) src.dispose();
    switch (dt) {
      case 'float64': return new Float64Array(buf);
      case 'int64': return new BigInt64Array(buf);
      case 'int32': return new Int32Array(buf);
      case 'int16': return new Int16Array(buf);
      case 'int8': return new Int8Array(buf);
      case 'uint8': case 'bool': return new Uint8Array(buf);
      default: return new Float32Array(buf);
    }
  }
  /** Values as plain numbers (int64 converted to number), flattened in row-major order. */
  toFlatArray(): number[] {
    const a = this.toTypedArray();
    if (a instanceof BigInt64Array) return Array.from(a, (x) => Number(x));
    return Array.from(a as ArrayLike<number>);
  }
  /** Values as nested arrays of the tensor's shape. */
  toArray(): NestedArray {
    const flat = this.toFlatArray();
    const shape = this.shape;
    const isBool = this.dtype === 'bool';
    if (shape.length === 0) return isBool ? flat[0] !== 0 : flat[0]!;
    let i = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let k = 0; k < shape[d]!; k++) {
        if (d === shape.length - 1) {
          const v = flat[i++]!;
          out.push(isBool ? v !== 0 : v);
        } else out.push(build(d + 1));
      }
      return out;
    };
    return build(0);
  }
  /** The single value of a one-element tensor. */
  item(): number {
    const v = call(() => native.item(this.handle));
    return typeof v === 'boolean' ? Number(v) : v;
  }
  /** A zero-copy ArrayBuffer over a contiguous CPU tensor's memory (keeps the storage alive). */
  dataView(): ArrayBuffer {
    return call(() => native.dataView(this.handle));
  }

  // ------------------------------------------------------------------ dtype / device
  to(dtypeOrDevice: DType | Device, opts: { copy?: boolean } = {}): Tensor {
    if (typeof dtypeOrDevice !== 'string') argError('to', `expected a dtype or device name, got ${String(dtypeOrDevice)}`);
    const isDevice = dtypeOrDevice === 'cpu' || dtypeOrDevice.startsWith('cuda');
    const dt = isDevice ? null : dtypeCode(dtypeOrDevice as DType, 'to');
    const dev = isDevice ? checkDevice(dtypeOrDevice, 'to') : null;
    return wrap(call(() => native.to(this.handle, dt, dev, opts.copy ?? false)));
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
  clone(): Tensor { return wrap(call(() => native.clone(this.handle))); }
  contiguous(): Tensor { return wrap(call(() => native.contiguous(this.handle))); }
  /** A second handle to the same tensor (same storage, same autograd identity). */
  alias(): Tensor { return wrap(call(() => native.alias(this.handle))); }
  /** True if both handles refer to the same tensor object. */
  isSame(o: Tensor): boolean { return call(() => native.sameTensor(this.handle, tensorArg('isSame', o))); }
  sharesStorage(o: Tensor): boolean { return call(() => native.sharesStorage(this.handle, tensorArg('sharesStorage', o))); }

  // ------------------------------------------------------------------ autograd
  get requiresGrad(): boolean { return call(() => native.requiresGrad(this.handle)); }
  /** Sets requires_grad in place (leaf tensors); returns this. */
  requiresGrad_(v = true): this {
    call(() => native.setRequiresGrad(this.handle, v));
    return this;
  }
  /** The accumulated gradient, or null. A new handle each call (dispose it or use tidy). */
  get grad(): Tensor | null {
    const g = call(() => native.grad(this.handle));
    return g === null ? null : wrap(g);
  }
  set grad(g: Tensor | null) {
    call(() => native.setGrad(this.handle, g === null ? null : tensorArg('setGrad', g)));
  }
  get isLeaf(): boolean { return call(() => native.isLeaf(this.handle)); }
  retainGrad(): this {
    call(() => native.retainGrad(this.handle));
    return this;
  }
  detach(): Tensor { return wrap(call(() => native.detach(this.handle))); }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    call(() => native.backward(this.handle, optTensor('backward', gradient, 'gradient'), opts.retainGraph ?? false));
  }

  // ------------------------------------------------------------------ elementwise
  add(b: Tensor | Scalar, alpha?: number): Tensor {
    if (alpha !== undefined && b instanceof Tensor) return wrap(call(() => native.addScaled(this.handle, b.handle, alpha)));
    return wrap(call(() => native.add(this.handle, other('add', b))));
  }
  sub(b: Tensor | Scalar): Tensor { return wrap(call(() => native.sub(this.handle, other('sub', b)))); }
  mul(b: Tensor | Scalar): Tensor { return wrap(call(() => native.mul(this.handle, other('mul', b)))); }
  div(b: Tensor | Scalar): Tensor { return wrap(call(() => native.div(this.handle, other('div', b)))); }
  pow(b: Tensor | Scalar): Tensor { return wrap(call(() => native.pow(this.handle, other('pow', b)))); }
  remainder(b: Tensor | Scalar): Tensor { return wrap(call(() => native.remainder(this.handle, other('remainder', b)))); }
  floorDivide(b: Tensor | Scalar): Tensor { return wrap(call(() => native.floorDivide(this.handle, other('floorDivide', b)))); }
  eq(b: Tensor | Scalar): Tensor { return wrap(call(() => native.eq(this.handle, other('eq', b)))); }
  ne(b: Tensor | Scalar): Tensor { return wrap(call(() => native.ne(this.handle, other('ne', b)))); }
  lt(b: Tensor | Scalar): Tensor { return wrap(call(() => native.lt(this.handle, other('lt', b)))); }
  le(b: Tensor | Scalar): Tensor { return wrap(call(() => native.le(this.handle, other('le', b)))); }
  gt(b: Tensor | Scalar): Tensor { return wrap(call(() => native.gt(this.handle, other('gt', b)))); }
  ge(b: Tensor | Scalar): Tensor { return wrap(call(() => native.ge(this.handle, other('ge', b)))); }
  minimum(b: Tensor): Tensor { return wrap(call(() => native.minimum(this.handle, tensorArg('minimum', b)))); }
  maximum(b: Tensor): Tensor { return wrap(call(() => native.maximum(this.handle, tensorArg('maximum', b)))); }
  logicalAnd(b: Tensor): Tensor { return wrap(call(() => native.logicalAnd(this.handle, tensorArg('logicalAnd', b)))); }
  logicalOr(b: Tensor): Tensor { return wrap(call(() => native.logicalOr(this.handle, tensorArg('logicalOr', b)))); }
  logicalXor(b: Tensor): Tensor { return wrap(call(() => native.logicalXor(this.handle, tensorArg('logicalXor', b)))); }
  logicalNot(): Tensor { return wrap(call(() => native.logicalNot(this.handle))); }
  neg(): Tensor { return wrap(call(() => native.neg(this.handle))); }
  abs(): Tensor { return wrap(call(() => native.abs(this.handle))); }
  exp(): Tensor { return wrap(call(() => native.exp(this.handle))); }
  log(): Tensor { return wrap(call(() => native.log(this.handle))); }
  log1p(): Tensor { return wrap(call(() => native.log1p(this.handle))); }
  expm1(): Tensor { return wrap(call(() => native.expm1(this.handle))); }
  sqrt(): Tensor { return wrap(call(() => native.sqrt(this.handle))); }
  rsqrt(): Tensor { return wrap(call(() => native.rsqrt(this.handle))); }
  tanh(): Tensor { return wrap(call(() => native.tanh(this.handle))); }
  sigmoid(): Tensor { return wrap(call(() => native.sigmoid(this.handle))); }
  relu(): Tensor { return wrap(call(() => native.relu(this.handle))); }
  /** Exact (erf) GELU by default, as BERT/RoBERTa use; 'tanh' for the approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return wrap(call(() => native.gelu(this.handle, approximate))); }
  silu(): Tensor { return wrap(call(() => native.silu(this.handle))); }
  erf(): Tensor { return wrap(call(() => native.erf(this.handle))); }
  sin(): Tensor { return wrap(call(() => native.sin(this.handle))); }
  cos(): Tensor { return wrap(call(() => native.cos(this.handle))); }
  sign(): Tensor { return wrap(call(() => native.sign(this.handle))); }
  floor(): Tensor { return wrap(call(() => native.floor(this.handle))); }
  ceil(): Tensor { return wrap(call(() => native.ceil(this.handle))); }
  round(): Tensor { return wrap(call(() => native.round(this.handle))); }
  reciprocal(): Tensor { return wrap(call(() => native.reciprocal(this.handle))); }
  square(): Tensor { return wrap(call(() => native.square(this.handle))); }
  isnan(): Tensor { return wrap(call(() => native.isnan(this.handle))); }
  isfinite(): Tensor { return wrap(call(() => native.isfinite(this.handle))); }
  clamp(min?: number | null, max?: number | null): Tensor {
    if ((min === null || min === undefined) && (max === null || max === undefined)) argError('clamp', 'at least one of min and max must be given');
    return wrap(call(() => native.clamp(this.handle, min ?? null, max ?? null)));
  }
  /** where(cond, this, other): elements of this where cond, else of other. */
  where(cond: Tensor, otherValue: Tensor | Scalar): Tensor {
    return wrap(call(() => native.where(tensorArg('where', cond, 'condition'), this.handle, other('where', otherValue))));
  }

  // ------------------------------------------------------------------ linear algebra
  matmul(b: Tensor): Tensor { return wrap(call(() => native.matmul(this.handle, tensorArg('matmul', b)))); }
  mm(b: Tensor): Tensor { return wrap(call(() => native.mm(this.handle, tensorArg('mm', b)))); }
  bmm(b: Tensor): Tensor { return wrap(call(() => native.bmm(this.handle, tensorArg('bmm', b)))); }
  outer(b: Tensor): Tensor { return wrap(call(() => native.outer(this.handle, tensorArg('outer', b)))); }

  // ------------------------------------------------------------------ reductions
  sum(dim?: number | readonly number[], opts: { keepdim?: boolean; dtype?: DType } = {}): Tensor {
    const d = dims('sum', dim);
    return wrap(call(() => native.sum(this.handle, d, opts.keepdim ?? false, opts.dtype ? dtypeCode(opts.dtype, 'sum') : null)));
  }
  mean(dim?: number | readonly number[], opts: { keepdim?: boolean; dtype?: DType } = {}): Tensor {
    const d = dims('mean', dim);
    return wrap(call(() => native.mean(this.handle, d, opts.keepdim ?? false, opts.dtype ? dtypeCode(opts.dtype, 'mean') : null)));
  }
  prod(dim?: number, keepdim = false): Tensor { return wrap(call(() => native.prod(this.handle, dim ?? null, keepdim))); }
  /** Max over all elements. */
  max(): Tensor;
  /** Max along a dim: values and indices. */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(call(() => native.maxAll(this.handle)));
    const [v, i] = call(() => native.maxDim(this.handle, checkInt('max', 'dim', dim), keepdim));
    return { values: wrap(v), indices: wrap(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(call(() => native.minAll(this.handle)));
    const [v, i] = call(() => native.minDim(this.handle, checkInt('min', 'dim', dim), keepdim));
    return { values: wrap(v), indices: wrap(i) };
  }
  amax(dim: number | readonly number[], keepdim = false): Tensor { return wrap(call(() => native.amax(this.handle, dims('amax', dim), keepdim))); }
  amin(dim: number | readonly number[], keepdim = false): Tensor { return wrap(call(() => native.amin(this.handle, dims('amin', dim), keepdim))); }
  argmax(dim?: number, keepdim = false): Tensor { return wrap(call(() => native.argmax(this.handle, dim ?? null, keepdim))); }
  argmin(dim?: number, keepdim = false): Tensor { return wrap(call(() => native.argmin(this.handle, dim ?? null, keepdim))); }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return wrap(call(() => native.logsumexp(this.handle, dims('logsumexp', dim), keepdim)));
  }
  /** Variance; correction 1 (unbiased) by default, as in PyTorch. */
  var(dim?: number | readonly number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(call(() => native.var(this.handle, dims('var', dim), opts.correction ?? 1, opts.keepdim ?? false)));
  }
  std(dim?: number | readonly number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return wrap(call(() => native.std(this.handle, dims('std', dim), opts.correction ?? 1, opts.keepdim ?? false)));
  }
  norm(p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return wrap(call(() => native.norm(this.handle, p, dims('norm', dim), keepdim)));
  }
  any(dim?: number, keepdim = false): Tensor { return wrap(call(() => native.any(this.handle, dim ?? null, keepdim))); }
  all(dim?: number, keepdim = false): Tensor { return wrap(call(() => native.all(this.handle, dim ?? null, keepdim))); }
  cumsum(dim: number, dtype?: DType): Tensor {
    return wrap(call(() => native.cumsum(this.handle, checkInt('cumsum', 'dim', dim), dtype ? dtypeCode(dtype, 'cumsum') : null)));
  }
  countNonzero(dim?: number | readonly number[]): Tensor { return wrap(call(() => native.countNonzero(this.handle, dims('countNonzero', dim)))); }
  allclose(b: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return call(() => native.allclose(this.handle, tensorArg('allclose', b), rtol, atol)); }
  equal(b: Tensor): boolean { return call(() => native.equal(this.handle, tensorArg('equal', b))); }

  // ------------------------------------------------------------------ shape
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('reshape', shape);
    return wrap(call(() => native.reshape(this.handle, s)));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('view', shape);
    return wrap(call(() => native.view(this.handle, s)));
  }
  permute(...order: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('permute', order);
    return wrap(call(() => native.permute(this.handle, s)));
  }
  transpose(d0: number, d1: number): Tensor {
    return wrap(call(() => native.transpose(this.handle, checkInt('transpose', 'dim0', d0), checkInt('transpose', 'dim1', d1))));
  }
  /** Transpose of a 2-D tensor. */
  get T(): Tensor { return this.transpose(0, 1); }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('expand', shape);
    return wrap(call(() => native.expand(this.handle, s)));
  }
  expandAs(o: Tensor): Tensor { return wrap(call(() => native.expandAs(this.handle, tensorArg('expandAs', o)))); }
  repeat(...reps: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('repeat', reps);
    return wrap(call(() => native.repeat(this.handle, s)));
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return wrap(call(() => native.repeatInterleave(this.handle, checkInt('repeatInterleave', 'repeats', repeats), dim ?? null)));
  }
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return wrap(call(() => native.squeezeAll(this.handle)));
    return wrap(call(() => native.squeeze(this.handle, checkInt('squeeze', 'dim', dim))));
  }
  unsqueeze(dim: number): Tensor { return wrap(call(() => native.unsqueeze(this.handle, checkInt('unsqueeze', 'dim', dim)))); }
  flatten(start = 0, end = -1): Tensor { return wrap(call(() => native.flatten(this.handle, start, end))); }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(call(() => native.narrow(this.handle, checkInt('narrow', 'dim', dim), checkInt('narrow', 'start', start), checkInt('narrow', 'length', length))));
  }
  /** Python slicing along one dim: t[..., start:end:step]. Bounds may be negative or past the end. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return wrap(call(() => native.slice(this.handle, checkInt('slice', 'dim', dim), start ?? null, end ?? null, checkInt('slice', 'step', step))));
  }
  select(dim: number, index: number): Tensor {
    return wrap(call(() => native.select(this.handle, checkInt('select', 'dim', dim), checkInt('select', 'index', index))));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(call(() => native.indexSelect(this.handle, checkInt('indexSelect', 'dim', dim), tensorArg('indexSelect', index, 'index'))));
  }
  /** Advanced indexing with integer/bool tensors on the leading dims: t[i0, i1, ...]. */
  index(...indices: Tensor[]): Tensor {
    if (indices.length === 0) argError('index', 'expected at least one index tensor');
    const hs = indices.map((t) => tensorArg('index', t, 'index'));
    return wrap(call(() => native.index(this.handle, hs)));
  }
  /** Out-of-place index_put: a copy with values written (or accumulated) at the indices. */
  indexPut(indices: Tensor[], values: Tensor, accumulate = false): Tensor {
    const hs = indices.map((t) => tensorArg('indexPut', t, 'index'));
    return wrap(call(() => native.indexPut(this.handle, hs, tensorArg('indexPut', values, 'values'), accumulate)));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(call(() => native.gather(this.handle, checkInt('gather', 'dim', dim), tensorArg('gather', index, 'index'))));
  }
  scatter(dim: number, index: Tensor, src: Tensor | Scalar): Tensor {
    return wrap(call(() => native.scatter(this.handle, checkInt('scatter', 'dim', dim), tensorArg('scatter', index, 'index'), other('scatter', src))));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(call(() => native.scatterAdd(this.handle, checkInt('scatterAdd', 'dim', dim), tensorArg('scatterAdd', index, 'index'), tensorArg('scatterAdd', src, 'src'))));
  }
  maskedFill(mask: Tensor, value: Tensor | Scalar): Tensor {
    return wrap(call(() => native.maskedFill(this.handle, tensorArg('maskedFill', mask, 'mask'), other('maskedFill', value))));
  }
  maskedSelect(mask: Tensor): Tensor { return wrap(call(() => native.maskedSelect(this.handle, tensorArg('maskedSelect', mask, 'mask')))); }
  nonzero(): Tensor { return wrap(call(() => native.nonzero(this.handle))); }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor { return wrap(call(() => native.diagonal(this.handle, offset, dim1, dim2))); }
  tril(k = 0): Tensor { return wrap(call(() => native.tril(this.handle, checkInt('tril', 'diagonal', k)))); }
  triu(k = 0): Tensor { return wrap(call(() => native.triu(this.handle, checkInt('triu', 'diagonal', k)))); }
  flip(dim: number | readonly number[]): Tensor { return wrap(call(() => native.flip(this.handle, dims('flip', dim)))); }
  roll(shifts: number | readonly number[], dim: number | readonly number[]): Tensor {
    return wrap(call(() => native.roll(this.handle, dims('roll', shifts), dims('roll', dim))));
  }
  split(size: number | readonly number[], dim = 0): Tensor[] {
    const s = typeof size === 'number' ? checkInt('split', 'size', size) : checkInts('split', 'sizes', size);
    return call(() => native.split(this.handle, s, dim)).map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] { return call(() => native.chunk(this.handle, checkInt('chunk', 'chunks', chunks), dim)).map(wrap); }
  unbind(dim = 0): Tensor[] { return call(() => native.unbind(this.handle, dim)).map(wrap); }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = call(() => native.topk(this.handle, checkInt('topk', 'k', k), dim, largest, sorted));
    return { values: wrap(v), indices: wrap(i) };
  }
  sort(dim = -1, descending = false, stable = false): { values: Tensor; indices: Tensor } {
    const [v, i] = call(() => native.sort(this.handle, dim, descending, stable));
    return { values: wrap(v), indices: wrap(i) };
  }
  argsort(dim = -1, descending = false): Tensor {
    const r = this.sort(dim, descending, true);
    r.values.dispose();
    return r.indices;
  }

  // ------------------------------------------------------------------ nn-style methods
  softmax(dim: number, dtype?: DType): Tensor { return wrap(call(() => native.softmax(this.handle, dim, dtype ? dtypeCode(dtype, 'softmax') : null))); }
  logSoftmax(dim: number, dtype?: DType): Tensor { return wrap(call(() => native.logSoftmax(this.handle, dim, dtype ? dtypeCode(dtype, 'logSoftmax') : null))); }

  // ------------------------------------------------------------------ in place (no new handle)
  zero_(): this { call(() => native.zero_(this.handle)); return this; }
  fill_(v: Scalar): this { call(() => native.fill_(this.handle, v)); return this; }
  copy_(src: Tensor): this { call(() => native.copy_(this.handle, tensorArg('copy_', src, 'src'))); return this; }
  add_(b: Tensor | Scalar, alpha = 1): this {
    call(() => (b instanceof Tensor ? native.add_(this.handle, b.handle, alpha) : native.add_(this.handle, other('add_', b))));
    return this;
  }
  sub_(b: Tensor | Scalar, alpha = 1): this {
    call(() => (b instanceof Tensor ? native.sub_(this.handle, b.handle, alpha) : native.sub_(this.handle, other('sub_', b))));
    return this;
  }
  mul_(b: Tensor | Scalar): this { call(() => native.mul_(this.handle, other('mul_', b))); return this; }
  div_(b: Tensor | Scalar): this { call(() => native.div_(this.handle, other('div_', b))); return this; }
  clamp_(min?: number | null, max?: number | null): this { call(() => native.clamp_(this.handle, min ?? null, max ?? null)); return this; }
  maskedFill_(mask: Tensor, v: Scalar): this { call(() => native.maskedFill_(this.handle, tensorArg('maskedFill_', mask, 'mask'), v)); return this; }
  normal_(mean = 0, std = 1): this { call(() => native.normal_(this.handle, mean, std)); return this; }
  uniform_(low = 0, high = 1): this { call(() => native.uniform_(this.handle, low, high)); return this; }

  get isFloatingPoint(): boolean { return isFloating(this.dtype); }
}

function shapeArgs(op: string, args: number[] | [readonly number[]]): number[] {
  const s = args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
  return checkInts(op, 'shape', s);
}

/** Internal: wraps a native handle into a tracked Tensor. */
export function wrap(h: H): Tensor {
  return new Tensor(h);
}

export { call as callNative, argError, checkInt, checkInts, checkTensors, tensorArg, optTensor };
