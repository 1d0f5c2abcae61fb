// Functional ops (torch.nn.functional and friends) as plain functions.
import { native } from '../native/binding.js';
import { type DType } from './dtype.js';
import { argError, checkInt, checkInts, checkOptions, checkString, describeValue } from './args.js';
import { publicFunction } from './public.js';
import { Tensor, isTensor, optTensor, scalarArg, tensorArg, wrap, type Scalar } from './tensor.js';
import { tidy } from './scope.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduction(op: string, r: unknown): Reduction {
  const v = r ?? 'mean';
  if (v !== 'mean' && v !== 'sum' && v !== 'none') argError(op, `reduction must be 'mean', 'sum' or 'none', got ${typeof v === 'string' ? `'${v}'` : describeValue(v)}`);
  return v;
}

// Each function checks its tensor arguments first ("softmax: argument x must be a Tensor, got number").
// Each is a publicFunction (public.ts): an error from inside it names the function, and a failing call
// frees the tensors it made; the composite ones also run in tidy(), which frees their intermediates.
export const add = publicFunction('add', function add(a: Tensor, b: Tensor | Scalar): Tensor { tensorArg('add', a, 'a'); return a.add(b); });
export const sub = publicFunction('sub', function sub(a: Tensor, b: Tensor | Scalar): Tensor { tensorArg('sub', a, 'a'); return a.sub(b); });
export const mul = publicFunction('mul', function mul(a: Tensor, b: Tensor | Scalar): Tensor { tensorArg('mul', a, 'a'); return a.mul(b); });
export const div = publicFunction('div', function div(a: Tensor, b: Tensor | Scalar): Tensor { tensorArg('div', a, 'a'); return a.div(b); });
export const matmul = publicFunction('matmul', function matmul(a: Tensor, b: Tensor): Tensor { tensorArg('matmul', a, 'a'); tensorArg('matmul', b, 'b'); return a.matmul(b); });
export const bmm = publicFunction('bmm', function bmm(a: Tensor, b: Tensor): Tensor { tensorArg('bmm', a, 'a'); tensorArg('bmm', b, 'b'); return a.bmm(b); });
export const minimum = publicFunction('minimum', function minimum(a: Tensor, b: Tensor): Tensor { tensorArg('minimum', a, 'a'); tensorArg('minimum', b, 'b'); return a.minimum(b); });
export const maximum = publicFunction('maximum', function maximum(a: Tensor, b: Tensor): Tensor { tensorArg('maximum', a, 'a'); tensorArg('maximum', b, 'b'); return a.maximum(b); });
export const relu = publicFunction('relu', function relu(x: Tensor): Tensor { tensorArg('relu', x, 'x'); return x.relu(); });
export const gelu = publicFunction('gelu', function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor { tensorArg('gelu', x, 'x'); return x.gelu(approximate); });
/** QuickGELU of OpenAI CLIP: x * sigmoid(1.702 x). */
export const quickGelu = publicFunction('quickGelu', function quickGelu(x: Tensor): Tensor {
  return wrap(native.quickGelu(tensorArg('quickGelu', x, 'x')));
});
export const tanh = publicFunction('tanh', function tanh(x: Tensor): Tensor { tensorArg('tanh', x, 'x'); return x.tanh(); });
export const sigmoid = publicFunction('sigmoid', function sigmoid(x: Tensor): Tensor { tensorArg('sigmoid', x, 'x'); return x.sigmoid(); });
export const softmax = publicFunction('softmax', function softmax(x: Tensor, dim: number, dtype?: DType): Tensor { tensorArg('softmax', x, 'x'); return x.softmax(dim, dtype); });
export const logSoftmax = publicFunction('logSoftmax', function logSoftmax(x: Tensor, dim: number, dtype?: DType): Tensor { tensorArg('logSoftmax', x, 'x'); return x.logSoftmax(dim, dtype); });

/** where(cond, a, b): a where cond is true, else b (tensors or scalars). */
export const where = publicFunction('where', function where(cond: Tensor, a: Tensor | Scalar, b: Tensor | Scalar): Tensor {
  const c = tensorArg('where', cond, 'condition');
  const ha = isTensor(a) ? a.handle : null;
  const hb = isTensor(b) ? b.handle : null;
  return wrap(native.where(c, ha, hb, ha === null ? scalarArg('where', a, 'input') : undefined, hb === null ? scalarArg('where', b, 'other') : undefined));
});

export const cat = publicFunction('cat', function cat(ts: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(ts) || ts.length === 0) argError('cat', 'expected a non-empty array of tensors');
  return wrap(native.cat(ts.map((t) => tensorArg('cat', t)), checkInt('cat', 'dim', dim)));
});
export const stack = publicFunction('stack', function stack(ts: readonly Tensor[], dim = 0): Tensor {
  if (!Array.isArray(ts) || ts.length === 0) argError('stack', 'expected a non-empty array of tensors');
  return wrap(native.stack(ts.map((t) => tensorArg('stack', t)), checkInt('stack', 'dim', dim)));
});
export const einsum = publicFunction('einsum', function einsum(equation: string, ...operands: Tensor[]): Tensor {
  checkString('einsum', 'equation', equation);
  return wrap(native.einsum(equation, operands.map((t) => tensorArg('einsum', t))));
});

/** y = x W^T + b */
export const linear = publicFunction('linear', function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return wrap(native.linear(tensorArg('linear', x, 'input'), tensorArg('linear', weight, 'weight'), optTensor('linear', bias, 'bias')));
});
/**
 * Layer norm. A reduced-precision input with float32 affine parameters (a bfloat16 autocast region, where
 * libtorch 1.13's CPU kernel refuses mixed dtypes) is normalised in float32, as CUDA autocast does.
 */
export const layerNorm = publicFunction('layerNorm', function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  tensorArg('layerNorm', x, 'input');
  return tidy(() => {
    if (weight instanceof Tensor && isReducedFloat(x.dtype) && weight.dtype === 'float32') x = x.to('float32');
    return wrap(native.layerNorm(tensorArg('layerNorm', x, 'input'), checkInts('layerNorm', 'normalizedShape', normalizedShape),
      optTensor('layerNorm', weight, 'weight'), optTensor('layerNorm', bias, 'bias'), eps));
  });
});
/** Dropout: active only when training is true (identity otherwise). */
export const dropout = publicFunction('dropout', function dropout(x: Tensor, p: number, training: boolean): Tensor {
  tensorArg('dropout', x, 'input');
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) argError('dropout', `dropout probability must be in [0, 1], got ${describeValue(p)}`);
  if (!training || p === 0) return x.alias();
  return wrap(native.dropout(tensorArg('dropout', x, 'input'), p, training));
});
export const embedding = publicFunction('embedding', function embedding(ids: Tensor, weight: Tensor, paddingIdx = -1): Tensor {
  return wrap(native.embedding(tensorArg('embedding', weight, 'weight'), tensorArg('embedding', ids, 'indices'), paddingIdx));
});
export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}
const pair = (v: number | [number, number] | undefined, d: number): number[] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : [...v]);
export const conv2d = publicFunction('conv2d', function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  checkOptions('conv2d', o);
  return wrap(native.conv2d(tensorArg('conv2d', x, 'input'), tensorArg('conv2d', weight, 'weight'), optTensor('conv2d', bias, 'bias'),
    pair(o.stride, 1), pair(o.padding, 0), pair(o.dilation, 1), o.groups ?? 1));
});
export interface CrossEntropyOptions {
  weight?: Tensor;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross-entropy over logits [N, C] (or [N, C, d...]) with class-index targets (or class probabilities). */
export const crossEntropy = publicFunction('crossEntropy', function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  // losses are computed in float32 (bfloat16 / float16 logits come from autocast regions)
  tensorArg('crossEntropy', logits, 'input'); tensorArg('crossEntropy', target, 'target');
  checkOptions('crossEntropy', o);
  return tidy(() => {
    if (isReducedFloat(logits.dtype)) logits = logits.to('float32');
    return wrap(native.crossEntropy(tensorArg('crossEntropy', logits, 'input'), tensorArg('crossEntropy', target, 'target'),
      optTensor('crossEntropy', o.weight, 'weight'), reduction('crossEntropy', o.reduction), o.ignoreIndex ?? -100, o.labelSmoothing ?? 0));
  });
});
export const nllLoss = publicFunction('nllLoss', function nllLoss(logProbs: Tensor, target: Tensor, o: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  checkOptions('nllLoss', o);
  return wrap(native.nllLoss(tensorArg('nllLoss', logProbs, 'input'), tensorArg('nllLoss', target, 'target'),
    optTensor('nllLoss', o.weight, 'weight'), reduction('nllLoss', o.reduction), o.ignoreIndex ?? -100));
});
export const binaryCrossEntropyWithLogits = publicFunction('binaryCrossEntropyWithLogits', function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  tensorArg('binaryCrossEntropyWithLogits', logits, 'input'); tensorArg('binaryCrossEntropyWithLogits', target, 'target');
  checkOptions('binaryCrossEntropyWithLogits', o);
  return tidy(() => {
    if (isReducedFloat(logits.dtype)) logits = logits.to('float32');
    return wrap(native.bceWithLogits(tensorArg('binaryCrossEntropyWithLogits', logits, 'input'), tensorArg('binaryCrossEntropyWithLogits', target, 'target'),
      optTensor('binaryCrossEntropyWithLogits', o.weight, 'weight'), optTensor('binaryCrossEntropyWithLogits', o.posWeight, 'posWeight'),
      reduction('binaryCrossEntropyWithLogits', o.reduction)));
  });
});
export const mseLoss = publicFunction('mseLoss', function mseLoss(a: Tensor, b: Tensor, r: Reduction = 'mean'): Tensor {
  return wrap(native.mseLoss(tensorArg('mseLoss', a, 'input'), tensorArg('mseLoss', b, 'target'), reduction('mseLoss', r)));
});
/** x / max(||x||_p, eps) along dim (F.normalize). */
export const normalize = publicFunction('normalize', function normalize(x: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  return wrap(native.normalize(tensorArg('normalize', x, 'input'), p, dim, eps));
});
/** Resize [N, C, H, W] to size [h, w] (bicubic uses A = -0.75, as PyTorch). */
export const interpolate = publicFunction('interpolate', function interpolate(x: Tensor, size: [number, number], mode: 'bilinear' | 'bicubic' | 'nearest' = 'bilinear', alignCorners = false): Tensor {
  return wrap(native.interpolate(tensorArg('interpolate', x, 'input'), checkInts('interpolate', 'size', size), mode, alignCorners));
});
export const oneHot = publicFunction('oneHot', function oneHot(x: Tensor, numClasses = -1): Tensor {
  return wrap(native.oneHot(tensorArg('oneHot', x, 'input'), numClasses));
});
export const topk = publicFunction('topk', function topk(x: Tensor, k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
  tensorArg('topk', x, 'x');
  return x.topk(k, dim, largest, sorted);
});
export const sort = publicFunction('sort', function sort(x: Tensor, dim = -1, descending = false): { values: Tensor; indices: Tensor } {
  tensorArg('sort', x, 'x');
  return x.sort(dim, descending);
});
export const argsort = publicFunction('argsort', function argsort(x: Tensor, dim = -1, descending = false): Tensor {
  tensorArg('argsort', x, 'x');
  return x.argsort(dim, descending);
});

/**
 * Scaled dot-product attention as BERT computes it: softmax(q k^T / sqrt(d) + mask) v, with an additive
 * mask broadcast to [B, heads, Lq, Lk] and attention-probability dropout in training.
 */
export const attention = publicFunction('attention', function attention(q: Tensor, k: Tensor, v: Tensor, mask?: Tensor | null, dropoutP = 0, training = false): Tensor {
  return wrap(native.attention(tensorArg('attention', q, 'query'), tensorArg('attention', k, 'key'), tensorArg('attention', v, 'value'),
    optTensor('attention', mask, 'mask'), dropoutP, training));
});


function isReducedFloat(d: string): boolean {
  return d === 'bfloat16' || d === 'float16';
}
