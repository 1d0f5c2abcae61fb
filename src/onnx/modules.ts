// ONNX nodes for the module classes of src/nn and src/models, one emitter per class, reading the
// parameters of the live module objects (their official state-dict names name the initializers).
// Each emitter is the class's eval-mode `forward` written as ONNX nodes, op for op in the same order
// (dropout is the identity at inference); the exactness tests (test/onnx-export.test.ts) hold every
// emitter to the libtorch forward within 1e-4.
//
// EXPORTABLE_MODULES lists every class the exporter knows; `checkExportable` refuses a model with any
// other module in its tree, naming it, so a new layer type cannot be exported by silently skipping it.
import type { Tensor } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import { Conv2d, Dropout, Embedding, LayerNorm, Linear, ModuleList } from '../nn/layers.js';
import { BertAttention, BertIntermediate, BertOutput, BertSelfAttention, MultiheadAttention, QuickGELUMLP } from '../nn/attention.js';
import { CLIPVisionModel, ResidualAttentionBlock, VisionTransformerBlocks, VisualTransformer } from '../models/clip-vit.js';
import { RobertaEmbeddings, RobertaEncoder, RobertaLayer, RobertaModel } from '../models/roberta.js';
import { BertCrossLayer } from '../models/bert-cross-layer.js';
import { ClassifierMLP, HeadTransform, ITMHead, MLMHead, Pooler, RankOutput } from '../models/heads.js';
import { FLMModel } from '../models/flm.js';
import { OnnxExportError, type OnnxGraph } from './graph.js';

/** The module classes the exporter knows (emits, or knows to be unused at inference: ITMHead, ModuleList containers). */
export const EXPORTABLE_MODULES: ReadonlySet<abstract new (...args: never[]) => Module> = new Set<abstract new (...args: never[]) => Module>([
  FLMModel, Linear, LayerNorm, Embedding, Conv2d, Dropout, ModuleList,
  BertSelfAttention, BertOutput, BertAttention, BertIntermediate, MultiheadAttention, QuickGELUMLP,
  CLIPVisionModel, VisualTransformer, VisionTransformerBlocks, ResidualAttentionBlock,
  RobertaModel, RobertaEmbeddings, RobertaEncoder, RobertaLayer, BertCrossLayer,
  Pooler, HeadTransform, MLMHead, ITMHead, ClassifierMLP, RankOutput,
]);

/** Throws an OnnxExportError naming every module of the tree whose class the exporter does not know. */
export function checkExportable(model: Module): void {
  const unknown = model.namedModules().filter(([, m]) => !EXPORTABLE_MODULES.has(m.constructor as abstract new (...args: never[]) => Module));
  if (unknown.length) {
    const list = unknown.map(([path, m]) => `${path || '(the model)'} (${m.constructor.name})`).join(', ');
    throw new OnnxExportError(`the ONNX export does not know these modules: ${list}. Add an emitter for the class in src/onnx/modules.ts`);
  }
}

/**
 * A key/value cache slot of one self-attention: `past` holds the keys and values [B, heads, P, d] of the
 * P earlier positions (graph inputs); the emitter prepends them to this call's and sets `present` to
 * the concatenation [B, heads, P + T, d] (graph outputs).
 */
export interface KvSlot {
  past: { key: string; value: string };
  present?: { key: string; value: string };
}

/** Writes modules of one model as nodes of one graph; initializers are named by the modules' state-dict paths. */
export class ModuleEmitter {
  readonly #paths = new Map<Module, string>();

  constructor(readonly g: OnnxGraph, model: Module) {
    checkExportable(model);
    // first name wins: an aliased module (one object under two official names) is named by its first
    for (const [path, m] of model.namedModules()) if (!this.#paths.has(m)) this.#paths.set(m, path);
  }

  #name(m: Module, leaf: string): string {
    const p = this.#paths.get(m);
    if (p === undefined) throw new OnnxExportError(`a ${m.constructor.name} module outside the exported model was asked for`);
    return p ? `${p}.${leaf}` : leaf;
  }

  #param(m: Module, leaf: string, t: Tensor, form: 'as-is' | 'T' = 'as-is'): string {
    return this.g.param(t, this.#name(m, leaf), form);
  }

  #hint(m: Module, what: string): string {
    return this.#name(m, what);
  }

  /** F.linear: x W^T (+ b), W^T stored transposed. */
  linear(m: Linear, x: string): string {
    const y = this.g.op('MatMul', [x, this.#param(m, 'weight', m.weight, 'T')], {}, this.#hint(m, 'matmul'));
    return m.bias ? this.g.op('Add', [y, this.#param(m, 'bias', m.bias)], {}, this.#hint(m, 'out')) : y;
  }

  /** A raw (weight, bias) linear map, for modules that hold their own matrices (MultiheadAttention, RankOutput). */
  #rawLinear(m: Module, wName: string, w: Tensor, bName: string, b: Tensor, x: string): string {
    const y = this.g.op('MatMul', [x, this.#param(m, wName, w, 'T')], {}, this.#hint(m, 'matmul'));
    return this.g.op('Add', [y, this.#param(m, bName, b)], {}, this.#hint(m, 'out'));
  }

  layerNorm(m: LayerNorm, x: string): string {
    return this.g.op('LayerNormalization', [x, this.#param(m, 'weight', m.weight), this.#param(m, 'bias', m.bias)], { axis: { i: -1 }, epsilon: { f: m.eps } }, this.#hint(m, 'ln'));
  }

  /** nn.Embedding lookup: ids [..] int64 -> [.., D]. */
  embedding(m: Embedding, ids: string): string {
    return this.g.op('Gather', [this.#param(m, 'weight', m.weight), ids], { axis: { i: 0 } }, this.#hint(m, 'gather'));
  }

  /** Row `index` of an embedding table, [D] (`weight.select(0, index)`). */
  embeddingRow(m: Embedding, index: number): string {
    return this.g.op('Gather', [this.#param(m, 'weight', m.weight), this.g.constI(index)], { axis: { i: 0 } }, this.#hint(m, `row${index}`));
  }

  conv2d(m: Conv2d, x: string): string {
    const stride = m.opts.stride ?? 1;
    const pad = m.opts.padding ?? 0;
    const inputs = [x, this.#param(m, 'weight', m.weight), ...(m.bias ? [this.#param(m, 'bias', m.bias)] : [])];
    return this.g.op('Conv', inputs, {
      kernel_shape: { ints: [m.kernel, m.kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] },
    }, this.#hint(m, 'conv'));
  }

  /** Exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt 2)), libtorch's formula. */
  gelu(x: string, hint: string): string {
    const g = this.g;
    const e = g.op('Erf', [g.op('Mul', [x, g.constF(Math.SQRT1_2)], {}, `${hint}/scale`)], {}, `${hint}/erf`);
    const one = g.op('Add', [e, g.constF(1)], {}, `${hint}/1+erf`);
    return g.op('Mul', [g.op('Mul', [x, g.constF(0.5)], {}, `${hint}/half`), one], {}, `${hint}/gelu`);
  }

  /** [B, L, heads*d] -> [B, heads, L, d] */
  #splitHeads(x: string, heads: number, width: number, hint: string): string {
    const r = this.g.op('Reshape', [x, this.g.constI([0, 0, heads, width / heads])], {}, `${hint}/heads`);
    return this.g.op('Transpose', [r], { perm: { ints: [0, 2, 1, 3] } }, `${hint}/bhld`);
  }

  /** [B, heads, L, d] -> [B, L, heads*d] */
  #mergeHeads(x: string, width: number, hint: string): string {
    const t = this.g.op('Transpose', [x], { perm: { ints: [0, 2, 1, 3] } }, `${hint}/blhd`);
    return this.g.op('Reshape', [t, this.g.constI([0, 0, width])], {}, `${hint}/merged`);
  }

  /** F.attention: softmax(q k^T * d^-1/2 + mask) v on [B, h, L, d] operands; mask additive, broadcast. */
  attention(q: string, k: string, v: string, mask: string | null, d: number, hint: string): string {
    const g = this.g;
    const kt = g.op('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } }, `${hint}/kT`);
    const scores = g.op('Mul', [g.op('MatMul', [q, kt], {}, `${hint}/qk`), g.constF(1 / Math.sqrt(d))], {}, `${hint}/scaled`);
    const masked = mask ? g.op('Add', [scores, mask], {}, `${hint}/masked`) : scores;
    const probs = g.op('Softmax', [masked], { axis: { i: -1 } }, `${hint}/probs`);
    return g.op('MatMul', [probs, v], {}, `${hint}/ctx`);
  }

  /** q from x, keys and values from kv (x itself for self-attention), after the cached ones of `cache`. */
  bertSelfAttention(m: BertSelfAttention, x: string, kv: string, mask: string | null, cache: KvSlot | null = null): string {
    const h = this.#hint(m, 'att');
    const q = this.#splitHeads(this.linear(m.query, x), m.heads, m.hidden, `${h}/q`);
    let k = this.#splitHeads(this.linear(m.key, kv), m.heads, m.hidden, `${h}/k`);
    let v = this.#splitHeads(this.linear(m.value, kv), m.heads, m.hidden, `${h}/v`);
    if (cache) {
      k = this.g.op('Concat', [cache.past.key, k], { axis: { i: 2 } }, `${h}/present_key`);
      v = this.g.op('Concat', [cache.past.value, v], { axis: { i: 2 } }, `${h}/present_value`);
      cache.present = { key: k, value: v };
    }
    return this.#mergeHeads(this.attention(q, k, v, mask, m.hidden / m.heads, h), m.hidden, h);
  }

  bertOutput(m: BertOutput, h: string, residual: string): string {
    const y = this.linear(m.dense, h);
    return this.layerNorm(m.LayerNorm, this.g.op('Add', [y, residual], {}, this.#hint(m, 'residual')));
  }

  /** Self-attention (context null; with a key/value cache) or cross-attention to context. */
  bertAttention(m: BertAttention, x: string, mask: string | null, context: string | null = null, cache: KvSlot | null = null): string {
    return this.bertOutput(m.output, this.bertSelfAttention(m.self, x, context ?? x, mask, cache), x);
  }

  bertIntermediate(m: BertIntermediate, x: string): string {
    return this.gelu(this.linear(m.dense, x), this.#hint(m, 'gelu'));
  }

  bertCrossLayer(m: BertCrossLayer, x: string, context: string, selfMask: string | null, contextMask: string | null, cache: KvSlot | null = null): string {
    const h = m.attention ? this.bertAttention(m.attention, x, selfMask, null, cache) : x;
    const c = this.bertAttention(m.crossattention, h, contextMask, context);
    return this.bertOutput(m.output, this.bertIntermediate(m.intermediate, c), c);
  }

  robertaLayer(m: RobertaLayer, x: string, mask: string | null, cache: KvSlot | null = null): string {
    const h = this.bertAttention(m.attention, x, mask, null, cache);
    return this.bertOutput(m.output, this.bertIntermediate(m.intermediate, h), h);
  }

  /**
   * RobertaEmbeddings: LN(word + token_type[0] + position), positions from the ids (robertaPositionIds).
   * `from` [1] int64: embed only the tokens from that position on (the earlier ones are cached), their
   * positions still counted over all the ids.
   */
  robertaEmbeddings(m: RobertaEmbeddings, allIds: string, from: string | null = null): string {
    const g = this.g;
    const h = this.#hint(m, 'emb');
    const pad = m.arch.pad_token_id;
    const notPad = g.op('Cast', [g.op('Not', [g.op('Equal', [allIds, g.constI(pad)], {}, `${h}/isPad`)], {}, `${h}/notPad`)], { to: { i: 7 } }, `${h}/notPadI`);
    let pos = g.op('Add', [g.op('Mul', [g.op('CumSum', [notPad, g.constI(1)], {}, `${h}/cumsum`), notPad], {}, `${h}/pos0`), g.constI(pad)], {}, `${h}/pos`);
    let ids = allIds;
    if (from) {
      const end = g.constI([2 ** 53 - 1]);
      pos = g.op('Slice', [pos, from, end, g.constI([1])], {}, `${h}/newPos`);
      ids = g.op('Slice', [allIds, from, end, g.constI([1])], {}, `${h}/newIds`);
    }
    const tokenType = this.embedding(m.token_type_embeddings, g.op('Mul', [ids, g.constI(0)], {}, `${h}/zeros`)); // zerosLike(ids)
    const e = g.op('Add', [g.op('Add', [this.embedding(m.word_embeddings, ids), tokenType], {}, `${h}/word+type`), this.embedding(m.position_embeddings, pos)], {}, `${h}/sum`);
    return this.layerNorm(m.LayerNorm, e);
  }

  multiheadAttention(m: MultiheadAttention, x: string): string {
    const h = this.#hint(m, 'mha');
    const qkv = this.#rawLinear(m, 'in_proj_weight', m.in_proj_weight, 'in_proj_bias', m.in_proj_bias, x);
    const [q, k, v] = this.g.opN('Split', [qkv], 3, { axis: { i: -1 } }, `${h}/qkv`).map((t, i) => this.#splitHeads(t, m.heads, m.width, `${h}/${'qkv'[i]}`)) as [string, string, string];
    return this.linear(m.out_proj, this.#mergeHeads(this.attention(q, k, v, null, m.width / m.heads, h), m.width, h));
  }

  /** c_proj(QuickGELU(c_fc(x))), QuickGELU(x) = x * sigmoid(1.702 x). */
  quickGeluMlp(m: QuickGELUMLP, x: string): string {
    const g = this.g;
    const h = this.#hint(m, 'mlp');
    const a = this.linear(m.c_fc, x);
    const act = g.op('Mul', [a, g.op('Sigmoid', [g.op('Mul', [a, g.constF(1.702)], {}, `${h}/1.702x`)], {}, `${h}/sigmoid`)], {}, `${h}/quickgelu`);
    return this.linear(m.c_proj, act);
  }

  residualAttentionBlock(m: ResidualAttentionBlock, x: string): string {
    const g = this.g;
    const h = g.op('Add', [x, this.multiheadAttention(m.attn, this.layerNorm(m.ln_1, x))], {}, this.#hint(m, 'res1'));
    return g.op('Add', [h, this.quickGeluMlp(m.mlp, this.layerNorm(m.ln_2, h))], {}, this.#hint(m, 'res2'));
  }

  /** image [B, 3, S, S] -> tokens [B, 1 + G*G, W] (class token first, after ln_post). */
  visualTransformer(m: VisualTransformer, image: string): string {
    const g = this.g;
    const h = this.#hint(m, 'vit');
    const W = m.arch.width;
    let pixels = image;
    for (const [i, conv] of (m.conv_stem?.items ?? []).entries()) pixels = this.gelu(this.conv2d(conv, pixels), `${h}/stem${i}`); // [B, C_i, S'/2, S'/2]
    const patches = this.conv2d(m.conv1, pixels); // [B, W, G, G]
    const x0 = g.op('Transpose', [g.op('Reshape', [patches, g.constI([0, W, -1])], {}, `${h}/flat`)], { perm: { ints: [0, 2, 1] } }, `${h}/patches`); // [B, G*G, W]
    const batch = g.op('Shape', [image], { start: { i: 0 }, end: { i: 1 } }, `${h}/batch`); // [1]
    const clsShape = g.op('Concat', [batch, g.constI([1, W])], { axis: { i: 0 } }, `${h}/clsShape`);
    const cls0 = g.op('Reshape', [this.#param(m, 'class_embedding', m.class_embedding), g.constI([1, 1, W])], {}, `${h}/cls0`);
    const cls = g.op('Expand', [cls0, clsShape], {}, `${h}/cls`); // [B, 1, W]
    let x = g.op('Add', [g.op('Concat', [cls, x0], { axis: { i: 1 } }, `${h}/tokens`), this.#param(m, 'positional_embedding', m.positional_embedding)], {}, `${h}/pos`);
    x = this.layerNorm(m.ln_pre, x);
    for (const blk of m.transformer.resblocks.items) x = this.residualAttentionBlock(blk, x);
    return this.layerNorm(m.ln_post, x);
  }

  /** tanh(dense(x[:, 0])) */
  pooler(m: Pooler, x: string): string {
    const first = this.g.op('Gather', [x, this.g.constI(0)], { axis: { i: 1 } }, this.#hint(m, 'first'));
    return this.g.op('Tanh', [this.linear(m.dense, first)], {}, this.#hint(m, 'tanh'));
  }

  headTransform(m: HeadTransform, x: string): string {
    return this.layerNorm(m.LayerNorm, this.gelu(this.linear(m.dense, x), this.#hint(m, 'gelu')));
  }

  mlmHead(m: MLMHead, x: string): string {
    const logits = this.linear(m.decoder, this.headTransform(m.transform, x));
    return this.g.op('Add', [logits, this.#param(m, 'bias', m.bias)], {}, this.#hint(m, 'logits'));
  }

  classifierMlp(m: ClassifierMLP, x: string): string {
    return this.linear(m.l3, this.gelu(this.layerNorm(m.ln1, this.linear(m.l0, x)), this.#hint(m, 'gelu')));
  }

  rankOutput(m: RankOutput, x: string): string {
    return this.#rawLinear(m, 'weight', m.weight, 'bias', m.bias, x);
  }
}
