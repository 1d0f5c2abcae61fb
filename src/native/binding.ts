// Loads the native addon (build/Release/flm_native.node) and describes its raw functions.
// Only src/tensor/ talks to this module; everything above it uses the Tensor API.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque handle owning one reference to a libtorch tensor. */
export type NativeTensor = { readonly __nativeTensor: unique symbol };
type H = NativeTensor;
type Scalar = number | boolean;
type Opt<T> = T | null | undefined;

export interface NativeBinding {
  // metadata and lifetime
  shape(t: H): number[];
  strides(t: H): number[];
  dtype(t: H): number;
  device(t: H): string;
  isContiguous(t: H): boolean;
  isDisposed(t: H): boolean;
  dispose(t: H): void;
  memory(): { numTensors: number; numBytes: number };
  alias(t: H): H;
  sameTensor(a: H, b: H): boolean;
  sharesStorage(a: H, b: H): boolean;
  fromBuffer(data: ArrayBufferView, dtype: number, shape: number[], device?: Opt<string>): H;
  toBuffer(t: H): ArrayBuffer;
  dataView(t: H): ArrayBuffer;
  item(t: H): number | boolean;
  // creation and randomness
  empty(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  zeros(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  ones(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  full(shape: number[], value: Scalar, dtype: Opt<number>, device: Opt<string>): H;
  arange(start: number, end: number, step: number, dtype: Opt<number>, device: Opt<string>): H;
  linspace(start: number, end: number, steps: number, dtype: Opt<number>, device: Opt<string>): H;
  eye(n: number, m: number, dtype: Opt<number>, device: Opt<string>): H;
  randn(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  rand(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  randint(low: number, high: number, shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  randperm(n: number, dtype: Opt<number>, device: Opt<string>): H;
  bernoulli(p: H): H;
  bernoulliP(like: H, p: number): H;
  binomial(count: H, prob: H): H;
  multinomial(probs: H, n: number, replacement: boolean): H;
  normal_(t: H, mean: number, std: number): H;
  uniform_(t: H, low: number, high: number): H;
  manualSeed(seed: number): void;
  getRngState(): H;
  setRngState(state: H): void;
  // autograd
  requiresGrad(t: H): boolean;
  setRequiresGrad(t: H, v: boolean): H;
  grad(t: H): H | null;
  setGrad(t: H, g: Opt<H>): void;
  isLeaf(t: H): boolean;
  retainGrad(t: H): H;
  detach(t: H): H;
  backward(t: H, grad: Opt<H>, retainGraph: boolean): void;
  setGradEnabled(v: boolean): boolean;
  isGradEnabled(): boolean;
  // threads and build
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setNumInteropThreads(n: number): void;
  autocastEnter(device: 'cpu' | 'cuda', dtype: number): [boolean, number];
  autocastExit(device: 'cpu' | 'cuda', prevEnabled: boolean, prevDtype: number): void;
  buildInfo(): { torchVersion: string; cudaAvailable: boolean; config: string; parallelInfo: string; numThreads: number; builtWithCuda: boolean };
}

export interface NativeOps {
  neg(a: H): H; abs(a: H): H; exp(a: H): H; log(a: H): H; log1p(a: H): H; expm1(a: H): H; sqrt(a: H): H;
  rsqrt(a: H): H; tanh(a: H): H; sigmoid(a: H): H; relu(a: H): H; erf(a: H): H; sin(a: H): H; cos(a: H): H;
  sign(a: H): H; floor(a: H): H; ceil(a: H): H; round(a: H): H; reciprocal(a: H): H; square(a: H): H;
  logicalNot(a: H): H; isnan(a: H): H; isfinite(a: H): H; contiguous(a: H): H; clone(a: H): H; silu(a: H): H;
  gelu(a: H, approximate: string): H;
  add(a: H, b: H | Scalar): H; sub(a: H, b: H | Scalar): H; mul(a: H, b: H | Scalar): H; div(a: H, b: H | Scalar): H;
  pow(a: H, b: H | Scalar): H; eq(a: H, b: H | Scalar): H; ne(a: H, b: H | Scalar): H; lt(a: H, b: H | Scalar): H;
  le(a: H, b: H | Scalar): H; gt(a: H, b: H | Scalar): H; ge(a: H, b: H | Scalar): H;
  remainder(a: H, b: H | Scalar): H; floorDivide(a: H, b: H | Scalar): H;
  minimum(a: H, b: H): H; maximum(a: H, b: H): H; logicalAnd(a: H, b: H): H; logicalOr(a: H, b: H): H;
  logicalXor(a: H, b: H): H; matmul(a: H, b: H): H; bmm(a: H, b: H): H; mm(a: H, b: H): H; outer(a: H, b: H): H;
  atan2(a: H, b: H): H;
  addScaled(a: H, b: H, alpha: number): H;
  clamp(a: H, lo: Opt<number>, hi: Opt<number>): H;
  where(c: H, a: H | Scalar, b: H | Scalar): H;
  linear(x: H, w: H, b: Opt<H>): H;
  einsum(eq: string, ts: H[]): H;
  baddbmm(self: H, a: H, b: H, beta: number, alpha: number): H;
  sum(a: H, dims: number[], keep: boolean, dtype: Opt<number>): H;
  mean(a: H, dims: number[], keep: boolean, dtype: Opt<number>): H;
  prod(a: H, dim: Opt<number>, keep: boolean): H;
  amax(a: H, dims: number[], keep: boolean): H;
  amin(a: H, dims: number[], keep: boolean): H;
  maxDim(a: H, dim: number, keep: boolean): [H, H];
  minDim(a: H, dim: number, keep: boolean): [H, H];
  maxAll(a: H): H; minAll(a: H): H;
  argmax(a: H, dim: Opt<number>, keep: boolean): H;
  argmin(a: H, dim: Opt<number>, keep: boolean): H;
  logsumexp(a: H, dims: number[], keep: boolean): H;
  var(a: H, dims: number[], correction: number, keep: boolean): H;
  std(a: H, dims: number[], correction: number, keep: boolean): H;
  norm(a: H, p: number, dims: number[], keep: boolean): H;
  any(a: H, dim: Opt<number>, keep: boolean): H;
  all(a: H, dim: Opt<number>, keep: boolean): H;
  cumsum(a: H, dim: number, dtype: Opt<number>): H;
  countNonzero(a: H, dims: number[]): H;
  allclose(a: H, b: H, rtol: number, atol: number): boolean;
  equal(a: H, b: H): boolean;
  to(a: H, dtype: Opt<number>, device: Opt<string>, copy: boolean): H;
  zero_(a: H): H; fill_(a: H, v: Scalar): H; copy_(a: H, src: H): H;
  add_(a: H, b: H | Scalar, alpha?: number): H; sub_(a: H, b: H | Scalar, alpha?: number): H;
  mul_(a: H, b: H | Scalar): H; div_(a: H, b: H | Scalar): H;
  clamp_(a: H, lo: Opt<number>, hi: Opt<number>): H; maskedFill_(a: H, mask: H, v: Scalar): H;
  // shape and indexing
  reshape(a: H, s: number[]): H; view(a: H, s: number[]): H; permute(a: H, d: number[]): H;
  transpose(a: H, d0: number, d1: number): H; expand(a: H, s: number[]): H; repeat(a: H, r: number[]): H;
  squeezeAll(a: H): H; squeeze(a: H, d: number): H; unsqueeze(a: H, d: number): H;
  flatten(a: H, start: number, end: number): H; narrow(a: H, d: number, start: number, len: number): H;
  select(a: H, d: number, i: number): H; tril(a: H, k: number): H; triu(a: H, k: number): H;
  flip(a: H, dims: number[]): H; roll(a: H, shifts: number[], dims: number[]): H;
  indexSelect(a: H, d: number, idx: H): H; gather(a: H, d: number, idx: H): H;
  maskedFill(a: H, mask: H, v: H | Scalar): H; maskedSelect(a: H, mask: H): H; nonzero(a: H): H;
  diagonal(a: H, offset: number, d1: number, d2: number): H; expandAs(a: H, b: H): H;
  repeatInterleave(a: H, repeats: number, dim: Opt<number>): H;
  slice(a: H, dim: number, start: Opt<number>, end: Opt<number>, step: number): H;
  scatter(a: H, dim: number, idx: H, src: H | Scalar): H;
  scatterAdd(a: H, dim: number, idx: H, src: H): H;
  indexPut(a: H, idx: H[], values: H, accumulate: boolean): H;
  index(a: H, idx: H[]): H;
  cat(ts: H[], dim: number): H; stack(ts: H[], dim: number): H;
  split(a: H, size: number | number[], dim: number): H[];
  chunk(a: H, n: number, dim: number): H[];
  unbind(a: H, dim: number): H[];
  topk(a: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  sort(a: H, dim: number, descending: boolean, stable: boolean): [H, H];
  // nn
  softmax(a: H, dim: number, dtype: Opt<number>): H;
  logSoftmax(a: H, dim: number, dtype: Opt<number>): H;
  layerNorm(x: H, shape: number[], w: Opt<H>, b: Opt<H>, eps: number): H;
  dropout(x: H, p: number, train: boolean): H;
  embedding(w: H, ids: H, paddingIdx: number): H;
  conv2d(x: H, w: H, b: Opt<H>, stride: number[], padding: number[], dilation: number[], groups: number): H;
  crossEntropy(logits: H, target: H, weight: Opt<H>, reduction: string, ignoreIndex: number, labelSmoothing: number): H;
  nllLoss(logp: H, target: H, weight: Opt<H>, reduction: string, ignoreIndex: number): H;
  bceWithLogits(logits: H, target: H, weight: Opt<H>, posWeight: Opt<H>, reduction: string): H;
  mseLoss(a: H, b: H, reduction: string): H;
  normalize(x: H, p: number, dim: number, eps: number): H;
  interpolate(x: H, size: number[], mode: string, alignCorners: boolean): H;
  oneHot(x: H, n: number): H;
  attention(q: H, k: H, v: H, mask: Opt<H>, dropoutP: number, train: boolean): H;
  adamwStep(params: H[], expAvg: H[], expAvgSq: H[], step: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, style: number): void;
  sgdStep(params: H[], bufs: H[], lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, first: boolean): void;
  clipGradNorm(params: H[], maxNorm: number, normType: number): number;
  zeroGrads(params: H[]): void;
  // io
  pickleLoad(buf: Uint8Array): [string, H][];
  pickleSave(names: string[], ts: H[]): Uint8Array;
  // distributed (native/ops_dist.cc; absent from an addon built without it)
  distAvailable?(): { gloo: boolean; nccl: boolean };
  distInitGroup(backend: string, rank: number, worldSize: number, masterAddr: string, masterPort: number, timeoutMs: number, ifnames: string[], hostname: string, threads: number): DistGroupHandle;
  distGroupInfo(g: DistGroupHandle): { rank?: number; size?: number; backend?: string; timeoutMs?: number; broken?: boolean; why?: string; destroyed: boolean };
  distDestroy(g: DistGroupHandle): void;
  distAllReduce(g: DistGroupHandle, ts: H[], op: string, timeoutMs: Opt<number>): void;
  distBroadcast(g: DistGroupHandle, ts: H[], root: number, timeoutMs: Opt<number>): void;
  distAllGather(g: DistGroupHandle, t: H, timeoutMs: Opt<number>): H[];
  distBarrier(g: DistGroupHandle, timeoutMs: Opt<number>, monitored: boolean): void;
  distStoreSet(g: DistGroupHandle, key: string, value: string): void;
  distStoreGet(g: DistGroupHandle, key: string): string;
  distStoreAdd(g: DistGroupHandle, key: string, n: number): number;
  distReducerNew(g: DistGroupHandle, params: H[], firstBucketBytes: number, bucketBytes: number, findUnused: boolean, timeoutMs: Opt<number>): DistReducerHandle;
  distReducerPrepare(r: DistReducerHandle, loss: Opt<H>): void;
  distReducerFinalize(r: DistReducerHandle): { buckets: number; launchedInBackward: number; waitMs: number };
  distReducerBuckets(r: DistReducerHandle): number[][];
  distReducerRelease(r: DistReducerHandle): void;
}

/** Opaque handles of native/ops_dist.cc (a c10d process group, a gradient reducer). */
export type DistGroupHandle = { readonly __distGroup: unique symbol };
export type DistReducerHandle = { readonly __distReducer: unique symbol };

function addonPath(): string {
  // FLM_ADDON points at another build of the addon (a scratch build, a CUDA build...).
  const override = process.env.FLM_ADDON;
  if (override !== undefined && override !== '') {
    const p = resolve(override);
    if (!existsSync(p)) throw new Error(`flm: FLM_ADDON=${override} does not exist`);
    return p;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/native -> repo root is three levels up; src/native (ts-node style) is two.
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, 'build', 'Release', 'flm_native.node');
    if (existsSync(p)) return p;
  }
  throw new Error(
    'the native addon is not built (build/Release/flm_native.node is missing). Run `npm install` ' +
      '(or `npm run build:native`) in the flm package folder; it finds libtorch and builds the addon.',
  );
}

function load(): NativeBinding & NativeOps {
  // GNU OpenMP spin-waits by default; on small VMs that makes 2 threads slower than 1. libgomp reads
  // this when it is loaded, which happens with the addon below, so it must be set first.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  const require = createRequire(import.meta.url);
  return require(addonPath()) as NativeBinding & NativeOps;
}

export const native: NativeBinding & NativeOps = load();
