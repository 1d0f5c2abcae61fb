// The Tensor: a typed, disposable handle to a libtorch tensor, with PyTorch's method vocabulary.
// Methods validate their JS arguments, then call one native function; libtorch errors come back as
// TorchErrors named after the method (public.ts). Every new tensor joins the innermost tidy() scope.
import { native, type NativeTensor } from '../native/binding.js';
import {
  type AnyTypedArray, type DType, type Device, checkDevice, dtypeCode, dtypeFromCode, isFloating,
} from './dtype.js';
import { onUnscoped, track, untrack, type Scope, type Tracked } from './scope.js';
import { argError, checkArray, checkInt, checkInts, checkOptions, describeValue, kindOf } from './args.js';
import { publicMethods } from './public.js';
import { TorchError } from './errors.js';

export type Scalar = number | boolean;
export type Shape = readonly number[];
export type NestedArray = number | boolean | NestedArray[];
type H = NativeTensor;
type Opt<T> = T | null | undefined;

export { TorchError };

function dims(op: string, d: Opt<number | readonly number[]>): number[] {
  if (d === null || d === undefined) return [];
  if (typeof d === 'number') return [checkInt(op, 'dim', d)];
  return checkInts(op, 'dims', d);
}

// The brand test and the handle read, set in Tensor's static block (they read its private field). They run
// for every tensor argument of every op: no getter, no wrapper, no allocation.
/** True only for objects Tensor's constructor made (a Proxy or Object.create(Tensor.prototype) is not one). */
let isTensor!: (v: unknown) => v is Tensor;
let handleOf!: (t: Tensor) => H;

/** The scalar of a Tensor-or-scalar argument that is no Tensor (the caller has tested isTensor). */
function scalarArg(op: string, b: unknown, name = 'other'): Scalar {
  if (typeof b === 'number' || typeof b === 'boolean') return b;
  return argError(op, `argument ${name} must be a Tensor or a number, got ${tensorKindOf(b)}`);
}

/** The handle of a Tensor argument; anything else is a TorchError naming the function and argument. */
function tensorArg(op: string, t: unknown, name = 'other'): H {
  if (!isTensor(t)) argError(op, `argument ${name} must be a Tensor, got ${tensorKindOf(t)}`);
  return handleOf(t);
}

/** kindOf, telling a lookalike (an object with Tensor's prototype that no creation function made) apart. */
function tensorKindOf(v: unknown): string {
  let poses = false;
  try {
    poses = typeof v === 'object' && v !== null && Object.prototype.isPrototypeOf.call(Tensor.prototype, v);
  } catch { /* a Proxy whose getPrototypeOf trap throws */ }
  return poses ? 'an object posing as a Tensor (not made by flm)' : kindOf(v);
}

function optTensor(op: string, t: Opt<Tensor>, name: string): H | null {
  return t === null || t === undefined ? null : tensorArg(op, t, name);
}

export class Tensor implements Tracked, Disposable {
  _kept = false;
  _scope: Scope | null = null;
  _scopeIndex = 0;
  #h: H;
  #disposed = false;
  #shape: number[] | null = null;
  /**
   * The garbage collector's safety net, for a tensor outside every tidy scope: a native object that frees
   * the tensor when it is collected along with this Tensor (a tensor JS forgot). A tensor inside a scope
   * needs none (the scope holds it, and frees it when the scope ends), so most ops make none.
   */
  #guard: object | null = null;

  /**
   * Only objects this constructor made are Tensors: `instanceof Tensor` tests the private field, so that
   * Object.create(Tensor.prototype) or a Proxy around a tensor is refused by argument checks (as "posing as
   * a Tensor") instead of failing inside with a TypeError.
   */
  static [Symbol.hasInstance](v: unknown): boolean {
    return isTensor(v) && (this === Tensor || Function.prototype[Symbol.hasInstance].call(this, v));
  }

  static {
    isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && #h in v;
    handleOf = (t: Tensor): H => t.#h;
    onUnscoped((t) => {
      if (isTensor(t) && t.#guard === null && !t.#disposed) t.#guard = native.guard(t.#h);
    });
  }

  /** Internal: wraps a native handle (use the creation functions instead). */
  constructor(h: H) {
    this.#h = h;
    track(this);
  }

  /**
   * The native handle (a number). After dispose() every native op it reaches throws
   * "<op>: argument N (a tensor) was used after dispose()", naming the op.
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
      this.#guard = null;
      untrack(this);
    }
  }

  /**
   * Internal: makes this object refer to `other`'s tensor (for moving parameters between devices while
   * keeping the object identity optimisers and modules hold); `other` is consumed. requires_grad is kept.
   */
  _replaceWith(other: Tensor): void {
    const rg = !this.#disposed && native.requiresGrad(this.#h);
    const h = native.alias(tensorArg('_replaceWith', other));
    other.dispose();
    this.dispose(); // leaves its scope, if it was in one
    this.#h = h;
    this.#disposed = false;
    this.#shape = null;
    this.#guard = native.guard(h);
    if (rg && !native.requiresGrad(h)) native.setRequiresGrad(h, true);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ------------------------------------------------------------------ metadata
  get shape(): number[] {
    if (this.#shape === null || this.#disposed) this.#shape = native.shape(this.#h);
    return this.#shape.slice();
  }
  get ndim(): number {
    return this.shape.length;
  }
  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.#h));
  }
  get device(): Device {
    return native.device(this.#h) as Device;
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
    return native.strides(this.#h);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.#h);
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
    const buf = native.toBuffer(src.#h);
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
    const v = native.item(this.#h);
    return typeof v === 'boolean' ? Number(v) : v;
  }
  /** A zero-copy ArrayBuffer over a contiguous CPU tensor's memory (keeps the storage alive). */
  dataView(): ArrayBuffer {
    return native.dataView(this.#h);
  }

  // ------------------------------------------------------------------ dtype / device
  to(dtypeOrDevice: DType | Device, opts: { copy?: boolean } = {}): Tensor {
    checkOptions('to', opts);
    if (typeof dtypeOrDevice !== 'string') argError('to', `expected a dtype or device name, got ${describeValue(dtypeOrDevice)}`);
    const isDevice = dtypeOrDevice === 'cpu' || dtypeOrDevice.startsWith('cuda');
    const dt = isDevice ? null : dtypeCode(dtypeOrDevice as DType);
    const dev = isDevice ? checkDevice(dtypeOrDevice) : null;
    return wrap(native.to(this.#h, dt, dev, opts.copy ?? false));
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to('cpu'); }
  cuda(index = 0): Tensor { return this.to(`cuda:${index}`); }
  clone(): Tensor { return wrap(native.clone(this.#h)); }
  contiguous(): Tensor { return wrap(native.contiguous(this.#h)); }
  /** A second handle to the same tensor (same storage, same autograd identity). */
  alias(): Tensor { return wrap(native.alias(this.#h)); }
  /** True if both handles refer to the same tensor object. */
  isSame(o: Tensor): boolean { return native.sameTensor(this.#h, tensorArg('isSame', o)); }
  sharesStorage(o: Tensor): boolean { return native.sharesStorage(this.#h, tensorArg('sharesStorage', o)); }

  // ------------------------------------------------------------------ autograd
  get requiresGrad(): boolean { return native.requiresGrad(this.#h); }
  /** Sets requires_grad in place (leaf tensors); returns this. */
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.#h, v);
    return this;
  }
  /** The accumulated gradient, or null. A new handle each call (dispose it or use tidy). */
  get grad(): Tensor | null {
    const g = native.grad(this.#h);
    return g === null ? null : wrap(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.#h, g === null ? null : tensorArg('setGrad', g));
  }
  get isLeaf(): boolean { return native.isLeaf(this.#h); }
  retainGrad(): this {
    native.retainGrad(this.#h);
    return this;
  }
  detach(): Tensor { return wrap(native.detach(this.#h)); }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    checkOptions('backward', opts);
    native.backward(this.#h, optTensor('backward', gradient, 'gradient'), opts.retainGraph ?? false);
  }

  // ------------------------------------------------------------------ elementwise
  add(b: Tensor | Scalar, alpha?: number): Tensor {
    if (alpha !== undefined && isTensor(b)) return wrap(native.addScaled(this.#h, b.#h, alpha));
    return wrap(isTensor(b) ? native.add(this.#h, b.#h) : native.addScalar(this.#h, scalarArg('add', b)));
  }
  sub(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.sub(this.#h, b.#h) : native.subScalar(this.#h, scalarArg('sub', b))); }
  mul(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.mul(this.#h, b.#h) : native.mulScalar(this.#h, scalarArg('mul', b))); }
  div(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.div(this.#h, b.#h) : native.divScalar(this.#h, scalarArg('div', b))); }
  pow(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.pow(this.#h, b.#h) : native.powScalar(this.#h, scalarArg('pow', b))); }
  remainder(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.remainder(this.#h, b.#h) : native.remainderScalar(this.#h, scalarArg('remainder', b))); }
  floorDivide(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.floorDivide(this.#h, b.#h) : native.floorDivideScalar(this.#h, scalarArg('floorDivide', b))); }
  eq(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.eq(this.#h, b.#h) : native.eqScalar(this.#h, scalarArg('eq', b))); }
  ne(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.ne(this.#h, b.#h) : native.neScalar(this.#h, scalarArg('ne', b))); }
  lt(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.lt(this.#h, b.#h) : native.ltScalar(this.#h, scalarArg('lt', b))); }
  le(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.le(this.#h, b.#h) : native.leScalar(this.#h, scalarArg('le', b))); }
  gt(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.gt(this.#h, b.#h) : native.gtScalar(this.#h, scalarArg('gt', b))); }
  ge(b: Tensor | Scalar): Tensor { return wrap(isTensor(b) ? native.ge(this.#h, b.#h) : native.geScalar(this.#h, scalarArg('ge', b))); }
  minimum(b: Tensor): Tensor { return wrap(native.minimum(this.#h, tensorArg('minimum', b))); }
  maximum(b: Tensor): Tensor { return wrap(native.maximum(this.#h, tensorArg('maximum', b))); }
  logicalAnd(b: Tensor): Tensor { return wrap(native.logicalAnd(this.#h, tensorArg('logicalAnd', b))); }
  logicalOr(b: Tensor): Tensor { return wrap(native.logicalOr(this.#h, tensorArg('logicalOr', b))); }
  logicalXor(b: Tensor): Tensor { return wrap(native.logicalXor(this.#h, tensorArg('logicalXor', b))); }
  logicalNot(): Tensor { return wrap(native.logicalNot(this.#h)); }
  neg(): Tensor { return wrap(native.neg(this.#h)); }
  abs(): Tensor { return wrap(native.abs(this.#h)); }
  exp(): Tensor { return wrap(native.exp(this.#h)); }
  log(): Tensor { return wrap(native.log(this.#h)); }
  log1p(): Tensor { return wrap(native.log1p(this.#h)); }
  expm1(): Tensor { return wrap(native.expm1(this.#h)); }
  sqrt(): Tensor { return wrap(native.sqrt(this.#h)); }
  rsqrt(): Tensor { return wrap(native.rsqrt(this.#h)); }
  tanh(): Tensor { return wrap(native.tanh(this.#h)); }
  sigmoid(): Tensor { return wrap(native.sigmoid(this.#h)); }
  relu(): Tensor { return wrap(native.relu(this.#h)); }
  /** Exact (erf) GELU by default, as BERT/RoBERTa use; 'tanh' for the approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return wrap(native.gelu(this.#h, approximate)); }
  silu(): Tensor { return wrap(native.silu(this.#h)); }
  erf(): Tensor { return wrap(native.erf(this.#h)); }
  sin(): Tensor { return wrap(native.sin(this.#h)); }
  cos(): Tensor { return wrap(native.cos(this.#h)); }
  sign(): Tensor { return wrap(native.sign(this.#h)); }
  floor(): Tensor { return wrap(native.floor(this.#h)); }
  ceil(): Tensor { return wrap(native.ceil(this.#h)); }
  round(): Tensor { return wrap(native.round(this.#h)); }
  reciprocal(): Tensor { return wrap(native.reciprocal(this.#h)); }
  square(): Tensor { return wrap(native.square(this.#h)); }
  isnan(): Tensor { return wrap(native.isnan(this.#h)); }
  isfinite(): Tensor { return wrap(native.isfinite(this.#h)); }
  clamp(min?: number | null, max?: number | null): Tensor {
    if ((min === null || min === undefined) && (max === null || max === undefined)) argError('clamp', 'at least one of min and max must be given');
    return wrap(native.clamp(this.#h, min ?? null, max ?? null));
  }
  /** where(cond, this, other): elements of this where cond, else of other. */
  where(cond: Tensor, otherValue: Tensor | Scalar): Tensor {
    const c = tensorArg('where', cond, 'condition');
    if (isTensor(otherValue)) return wrap(native.where(c, this.#h, otherValue.#h));
    return wrap(native.where(c, this.#h, null, undefined, scalarArg('where', otherValue)));
  }

  // ------------------------------------------------------------------ linear algebra
  matmul(b: Tensor): Tensor { return wrap(native.matmul(this.#h, tensorArg('matmul', b))); }
  mm(b: Tensor): Tensor { return wrap(native.mm(this.#h, tensorArg('mm', b))); }
  bmm(b: Tensor): Tensor { return wrap(native.bmm(this.#h, tensorArg('bmm', b))); }
  outer(b: Tensor): Tensor { return wrap(native.outer(this.#h, tensorArg('outer', b))); }

  // ------------------------------------------------------------------ reductions
  sum(dim?: number | readonly number[], opts: { keepdim?: boolean; dtype?: DType } = {}): Tensor {
    const d = dims('sum', dim);
    checkOptions('sum', opts);
    return wrap(native.sum(this.#h, d, opts.keepdim ?? false, opts.dtype ? dtypeCode(opts.dtype) : null));
  }
  mean(dim?: number | readonly number[], opts: { keepdim?: boolean; dtype?: DType } = {}): Tensor {
    const d = dims('mean', dim);
    checkOptions('mean', opts);
    return wrap(native.mean(this.#h, d, opts.keepdim ?? false, opts.dtype ? dtypeCode(opts.dtype) : null));
  }
  prod(dim?: number, keepdim = false): Tensor { return wrap(native.prod(this.#h, dim ?? null, keepdim)); }
  /** Max over all elements. */
  max(): Tensor;
  /** Max along a dim: values and indices. */
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(native.maxAll(this.#h));
    const [v, i] = native.maxDim(this.#h, checkInt('max', 'dim', dim), keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return wrap(native.minAll(this.#h));
    const [v, i] = native.minDim(this.#h, checkInt('min', 'dim', dim), keepdim);
    return { values: wrap(v), indices: wrap(i) };
  }
  amax(dim: number | readonly number[], keepdim = false): Tensor { return wrap(native.amax(this.#h, dims('amax', dim), keepdim)); }
  amin(dim: number | readonly number[], keepdim = false): Tensor { return wrap(native.amin(this.#h, dims('amin', dim), keepdim)); }
  argmax(dim?: number, keepdim = false): Tensor { return wrap(native.argmax(this.#h, dim ?? null, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return wrap(native.argmin(this.#h, dim ?? null, keepdim)); }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return wrap(native.logsumexp(this.#h, dims('logsumexp', dim), keepdim));
  }
  /** Variance; correction 1 (unbiased) by default, as in PyTorch. */
  var(dim?: number | readonly number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    checkOptions('var', opts);
    return wrap(native.var(this.#h, dims('var', dim), opts.correction ?? 1, opts.keepdim ?? false));
  }
  std(dim?: number | readonly number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    checkOptions('std', opts);
    return wrap(native.std(this.#h, dims('std', dim), opts.correction ?? 1, opts.keepdim ?? false));
  }
  norm(p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return wrap(native.norm(this.#h, p, dims('norm', dim), keepdim));
  }
  any(dim?: number, keepdim = false): Tensor { return wrap(native.any(this.#h, dim ?? null, keepdim)); }
  all(dim?: number, keepdim = false): Tensor { return wrap(native.all(this.#h, dim ?? null, keepdim)); }
  cumsum(dim: number, dtype?: DType): Tensor {
    return wrap(native.cumsum(this.#h, checkInt('cumsum', 'dim', dim), dtype ? dtypeCode(dtype) : null));
  }
  countNonzero(dim?: number | readonly number[]): Tensor { return wrap(native.countNonzero(this.#h, dims('countNonzero', dim))); }
  allclose(b: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return native.allclose(this.#h, tensorArg('allclose', b), rtol, atol); }
  equal(b: Tensor): boolean { return native.equal(this.#h, tensorArg('equal', b)); }

  // ------------------------------------------------------------------ shape
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('reshape', shape);
    return wrap(native.reshape(this.#h, s));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('view', shape);
    return wrap(native.view(this.#h, s));
  }
  permute(...order: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('permute', order);
    return wrap(native.permute(this.#h, s));
  }
  transpose(d0: number, d1: number): Tensor {
    return wrap(native.transpose(this.#h, checkInt('transpose', 'dim0', d0), checkInt('transpose', 'dim1', d1)));
  }
  /** Transpose of a 2-D tensor. */
  get T(): Tensor { return this.transpose(0, 1); }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('expand', shape);
    return wrap(native.expand(this.#h, s));
  }
  expandAs(o: Tensor): Tensor { return wrap(native.expandAs(this.#h, tensorArg('expandAs', o))); }
  repeat(...reps: number[] | [readonly number[]]): Tensor {
    const s = shapeArgs('repeat', reps);
    return wrap(native.repeat(this.#h, s));
  }
  repeatInterleave(repeats: number, dim?: number): Tensor {
    return wrap(native.repeatInterleave(this.#h, checkInt('repeatInterleave', 'repeats', repeats), dim ?? null));
  }
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return wrap(native.squeezeAll(this.#h));
    return wrap(native.squeeze(this.#h, checkInt('squeeze', 'dim', dim)));
  }
  unsqueeze(dim: number): Tensor { return wrap(native.unsqueeze(this.#h, checkInt('unsqueeze', 'dim', dim))); }
  flatten(start = 0, end = -1): Tensor { return wrap(native.flatten(this.#h, start, end)); }
  narrow(dim: number, start: number, length: number): Tensor {
    return wrap(native.narrow(this.#h, checkInt('narrow', 'dim', dim), checkInt('narrow', 'start', start), checkInt('narrow', 'length', length)));
  }
  /** Python slicing along one dim: t[..., start:end:step]. Bounds may be negative or past the end. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return wrap(native.slice(this.#h, checkInt('slice', 'dim', dim), start ?? null, end ?? null, checkInt('slice', 'step', step)));
  }
  select(dim: number, index: number): Tensor {
    return wrap(native.select(this.#h, checkInt('select', 'dim', dim), checkInt('select', 'index', index)));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(native.indexSelect(this.#h, checkInt('indexSelect', 'dim', dim), tensorArg('indexSelect', index, 'index')));
  }
  /** Advanced indexing with integer/bool tensors on the leading dims: t[i0, i1, ...]. */
  index(...indices: Tensor[]): Tensor {
    if (indices.length === 0) argError('index', 'expected at least one index tensor');
    const hs = indices.map((t) => tensorArg('index', t, 'index'));
    return wrap(native.index(this.#h, hs));
  }
  /** Out-of-place index_put: a copy with values written (or accumulated) at the indices. */
  indexPut(indices: Tensor[], values: Tensor, accumulate = false): Tensor {
    const hs = checkArray('indexPut', 'indices', indices).map((t) => tensorArg('indexPut', t, 'index'));
    return wrap(native.indexPut(this.#h, hs, tensorArg('indexPut', values, 'values'), accumulate));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(native.gather(this.#h, checkInt('gather', 'dim', dim), tensorArg('gather', index, 'index')));
  }
  scatter(dim: number, index: Tensor, src: Tensor | Scalar): Tensor {
    const d = checkInt('scatter', 'dim', dim);
    const i = tensorArg('scatter', index, 'index');
    return wrap(isTensor(src) ? native.scatter(this.#h, d, i, src.#h) : native.scatterScalar(this.#h, d, i, scalarArg('scatter', src)));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return wrap(native.scatterAdd(this.#h, checkInt('scatterAdd', 'dim', dim), tensorArg('scatterAdd', index, 'index'), tensorArg('scatterAdd', src, 'src')));
  }
  maskedFill(mask: Tensor, value: Tensor | Scalar): Tensor {
    const m = tensorArg('maskedFill', mask, 'mask');
    return wrap(isTensor(value) ? native.maskedFill(this.#h, m, value.#h) : native.maskedFillScalar(this.#h, m, scalarArg('maskedFill', value)));
  }
  maskedSelect(mask: Tensor): Tensor { return wrap(native.maskedSelect(this.#h, tensorArg('maskedSelect', mask, 'mask'))); }
  nonzero(): Tensor { return wrap(native.nonzero(this.#h)); }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor { return wrap(native.diagonal(this.#h, offset, dim1, dim2)); }
  tril(k = 0): Tensor { return wrap(native.tril(this.#h, checkInt('tril', 'diagonal', k))); }
  triu(k = 0): Tensor { return wrap(native.triu(this.#h, checkInt('triu', 'diagonal', k))); }
  flip(dim: number | readonly number[]): Tensor { return wrap(native.flip(this.#h, dims('flip', dim))); }
  roll(shifts: number | readonly number[], dim: number | readonly number[]): Tensor {
    return wrap(native.roll(this.#h, dims('roll', shifts), dims('roll', dim)));
  }
  split(size: number | readonly number[], dim = 0): Tensor[] {
    const s = typeof size === 'number' ? checkInt('split', 'size', size) : checkInts('split', 'sizes', size);
    return native.split(this.#h, s, dim).map(wrap);
  }
  chunk(chunks: number, dim = 0): Tensor[] { return native.chunk(this.#h, checkInt('chunk', 'chunks', chunks), dim).map(wrap); }
  unbind(dim = 0): Tensor[] { return native.unbind(this.#h, dim).map(wrap); }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.#h, checkInt('topk', 'k', k), dim, largest, sorted);
    return { values: wrap(v), indices: wrap(i) };
  }
  sort(dim = -1, descending = false, stable = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.#h, dim, descending, stable);
    return { values: wrap(v), indices: wrap(i) };
  }
  argsort(dim = -1, descending = false): Tensor {
    const r = this.sort(dim, descending, true);
    r.values.dispose();
    return r.indices;
  }

  // ------------------------------------------------------------------ nn-style methods
  softmax(dim: number, dtype?: DType): Tensor { return wrap(native.softmax(this.#h, dim, dtype ? dtypeCode(dtype) : null)); }
  logSoftmax(dim: number, dtype?: DType): Tensor { return wrap(native.logSoftmax(this.#h, dim, dtype ? dtypeCode(dtype) : null)); }

  // ------------------------------------------------------------------ in place (no new handle)
  zero_(): this { native.zero_(this.#h); return this; }
  fill_(v: Scalar): this { native.fill_(this.#h, v); return this; }
  copy_(src: Tensor): this { native.copy_(this.#h, tensorArg('copy_', src, 'src')); return this; }
  add_(b: Tensor | Scalar, alpha = 1): this {
    if (isTensor(b)) native.add_(this.#h, b.#h, alpha);
    else native.addScalar_(this.#h, scalarArg('add_', b));
    return this;
  }
  sub_(b: Tensor | Scalar, alpha = 1): this {
    if (isTensor(b)) native.sub_(this.#h, b.#h, alpha);
    else native.subScalar_(this.#h, scalarArg('sub_', b));
    return this;
  }
  mul_(b: Tensor | Scalar): this { if (isTensor(b)) native.mul_(this.#h, b.#h); else native.mulScalar_(this.#h, scalarArg('mul_', b)); return this; }
  div_(b: Tensor | Scalar): this { if (isTensor(b)) native.div_(this.#h, b.#h); else native.divScalar_(this.#h, scalarArg('div_', b)); return this; }
  clamp_(min?: number | null, max?: number | null): this { native.clamp_(this.#h, min ?? null, max ?? null); return this; }
  maskedFill_(mask: Tensor, v: Scalar): this { native.maskedFill_(this.#h, tensorArg('maskedFill_', mask, 'mask'), v); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(this.#h, mean, std); return this; }
  uniform_(low = 0, high = 1): this { native.uniform_(this.#h, low, high); return this; }

  get isFloatingPoint(): boolean { return isFloating(this.dtype); }
}

function shapeArgs(op: string, args: number[] | [readonly number[]]): number[] {
  const s = args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
  return checkInts(op, 'shape', s);
}

// Every method and accessor checks its `this`, names itself in its errors, and frees what it made when
// it fails (public.ts). The light ones run on every op, make no tensor and fail only under their own name
// (a disposed tensor's shape is "shape: ... used after dispose()"), so they get the `this` check alone.
publicMethods(Tensor, isTensor, tensorKindOf, new Set(['handle', 'isDisposed', 'dispose', 'shape']));

/** Internal: wraps a native handle into a tracked Tensor. */
export function wrap(h: H): Tensor {
  return new Tensor(h);
}

export { isTensor, tensorArg, optTensor, scalarArg };
