// Attention blocks, with the parameter names of the checkpoints they load:
//   - BERT/RoBERTa (HF transformers 4.6, post-LayerNorm): BertAttention = `self` (query/key/value)
//     + `output` (dense, LayerNorm); BertIntermediate (dense + exact-erf GELU); BertOutput.
//     Used for self-attention and, with a separate key/value input, for cross-attention.
//   - CLIP (pre-LayerNorm): MultiheadAttention with nn.MultiheadAttention's packed layout
//     (`in_proj_weight` [3W, W] = q, k, v rows, `in_proj_bias`, `out_proj`), and the QuickGELU MLP
//     (`c_fc`, `c_proj`).
// Masks are additive floats broadcast to [B, heads, Lq, Lk]: 0 = attend, -10000 = blocked (spec B.10).
import { F, Tensor, empty, zeros } from '../tensor/index.js';
import { Module } from './module.js';
import { Linear, LayerNorm, TORCH_INIT, type Init } from './layers.js';
import { uniform_, zeros_ } from './init.js';
import type { GridRows } from './grid-rows.js';

/** [B, L, heads*d] -> [B, heads, L, d] */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, L, W] = x.shape as [number, number, number];
  return x.view(B, L, heads, W / heads).permute(0, 2, 1, 3);
}
/** [B, heads, L, d] -> [B, L, heads*d] */
function mergeHeads(x: Tensor): Tensor {
  const [B, h, L, d] = x.shape as [number, number, number, number];
  return x.permute(0, 2, 1, 3).reshape(B, L, h * d);
}

export interface BertAttentionOptions {
  hidden: number;
  heads: number;
  /** LayerNorm eps of the output (1e-5 in roberta-base, 1e-12 in the cross-modal / reconstructor layers) */
  eps: number;
  /** hidden and attention-probability dropout (HF uses one rate for both) */
  dropout?: number;
  init?: Init;
}

/** HF BertSelfAttention: q/k/v projections and softmax(q k^T / sqrt(d) + mask) v. Called `self` by its parent. */
export class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  constructor(readonly hidden: number, readonly heads: number, readonly dropout = 0, init: Init = TORCH_INIT) {
    super();
    if (hidden % heads !== 0) throw new RangeError(`BertSelfAttention: hidden ${hidden} is not divisible by heads ${heads}`);
    this.query = this.child('query', new Linear(hidden, hidden, { init }));
    this.key = this.child('key', new Linear(hidden, hidden, { init }));
    this.value = this.child('value', new Linear(hidden, hidden, { init }));
  }
  /**
   * x [B, Lq, H] attends to kv [B, Lk, H] (kv = x for self-attention) under mask [B|1, 1, Lq|1, Lk].
   * With `rows`, x holds only those rows [N, H] of the [B, Lq] query grid (the other queries are
   * computed as zeros and dropped); the result is then [N, H] too. With `kvRows`, kv holds only those
   * rows [M, H] of the [B, Lk] key grid: the others get zero keys and values, so the mask must block
   * them for every query.
   */
  forward(x: Tensor, kv: Tensor, mask: Tensor | null, rows?: GridRows, kvRows?: GridRows): Tensor {
    const query = this.query.forward(x); // [B, Lq, H] (or [N, H])
    const q = splitHeads(rows ? rows.scatter(query) : query, this.heads); // [B, h, Lq, d]
    const key = this.key.forward(kv); // [B, Lk, H] (or [M, H])
    const value = this.value.forward(kv); // [B, Lk, H] (or [M, H])
    const k = splitHeads(kvRows ? kvRows.scatter(key) : key, this.heads); // [B, h, Lk, d]
    const v = splitHeads(kvRows ? kvRows.scatter(value) : value, this.heads); // [B, h, Lk, d]
    const ctx = mergeHeads(F.attention(q, k, v, mask, this.dropout, this.training)); // [B, Lq, H]
    return rows ? rows.gather(ctx) : ctx; // [B, Lq, H] (or [N, H])
  }
}

/** HF BertSelfOutput / BertOutput: LayerNorm(dropout(dense(h)) + residual). */
export class BertOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(dIn: number, dOut: number, eps: number, readonly dropout = 0, init: Init = TORCH_INIT) {
    super();
    this.dense = this.child('dense', new Linear(dIn, dOut, { init }));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(dOut, eps));
  }
  forward(h: Tensor, residual: Tensor): Tensor {
    const y = F.dropout(this.dense.forward(h), this.dropout, this.training); // [B, L, dOut]
    return this.LayerNorm.forward(y.add(residual)); // [B, L, dOut]
  }
}

/** HF BertAttention: `self` (projections + attention) and `output` (dense + residual + LayerNorm). */
export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertOutput;
  constructor(o: BertAttentionOptions) {
    super();
    const init = o.init ?? TORCH_INIT;
    this.self = this.child('self', new BertSelfAttention(o.hidden, o.heads, o.dropout ?? 0, init));
    this.output = this.child('output', new BertOutput(o.hidden, o.hidden, o.eps, o.dropout ?? 0, init));
  }
  /**
   * Self-attention (context omitted) or cross-attention to `context` [B, Lk, H]; returns [B, Lq, H].
   * Either may take only some query rows: x [N, H] with `rows` (see BertSelfAttention); in
   * self-attention those rows are the keys too, and the mask must block every other key.
   */
  forward(x: Tensor, mask: Tensor | null, context?: Tensor, rows?: GridRows): Tensor {
    if (rows && !context && !mask) throw new Error('BertAttention: self-attention over some rows needs a mask that blocks the other keys');
    const a = context ? this.self.forward(x, context, mask, rows) : this.self.forward(x, x, mask, rows, rows); // [B, Lq, H] (or [N, H])
    return this.output.forward(a, x); // [B, Lq, H] (or [N, H])
  }
}

/** HF BertIntermediate: GELU(dense(x)), exact erf GELU (hidden_act "gelu"). */
export class BertIntermediate extends Module {
  readonly dense: Linear;
  constructor(hidden: number, intermediate: number, init: Init = TORCH_INIT) {
    super();
    this.dense = this.child('dense', new Linear(hidden, intermediate, { init }));
  }
  forward(x: Tensor): Tensor {
    return F.gelu(this.dense.forward(x)); // [B, L, I]
  }
}

/**
 * CLIP attention: nn.MultiheadAttention(width, heads) parameters, batch-first math (the official code
 * runs sequence-first; the result is the same). No mask (the ViT attends everywhere).
 */
export class MultiheadAttention extends Module {
  readonly in_proj_weight: Tensor;
  readonly in_proj_bias: Tensor;
  readonly out_proj: Linear;
  constructor(readonly width: number, readonly heads: number) {
    super();
    if (width % heads !== 0) throw new RangeError(`MultiheadAttention: width ${width} is not divisible by heads ${heads}`);
    this.in_proj_weight = this.param('in_proj_weight', empty([3 * width, width]));
    this.in_proj_bias = this.param('in_proj_bias', zeros([3 * width]));
    this.out_proj = this.child('out_proj', new Linear(width, width));
    // nn.MultiheadAttention._reset_parameters: xavier_uniform in_proj, zero biases (out_proj weight keeps Linear's init)
    const bound = Math.sqrt(6 / (width + 3 * width));
    uniform_(this.in_proj_weight, -bound, bound);
    zeros_(this.out_proj.bias!);
  }
  forward(x: Tensor, mask: Tensor | null = null): Tensor {
    const qkv = F.linear(x, this.in_proj_weight, this.in_proj_bias); // [B, N, 3W]
    const [q, k, v] = qkv.chunk(3, -1).map((t) => splitHeads(t, this.heads)) as [Tensor, Tensor, Tensor]; // [B, h, N, d], strided views
    const ctx = F.attention(q, k, v, mask); // [B, h, N, d], softmax(q k^T / sqrt(d)) v
    return this.out_proj.forward(mergeHeads(ctx)); // [B, N, W]
  }
}

/** CLIP's MLP: c_proj(QuickGELU(c_fc(x))), QuickGELU(x) = x * sigmoid(1.702 x). */
export class QuickGELUMLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(width: number, mlpWidth: number) {
    super();
    this.c_fc = this.child('c_fc', new Linear(width, mlpWidth));
    this.c_proj = this.child('c_proj', new Linear(mlpWidth, width));
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(F.quickGelu(this.c_fc.forward(x))); // [B, N, W]
  }
}
