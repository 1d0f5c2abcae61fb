// The RoBERTa text encoder (HF transformers 4.6 RobertaModel cut to `num_bottom_layer` layers; spec B.2-B.3),
// state-dict names text_transformer.{embeddings, encoder.layer.N, pooler}. Post-LayerNorm layers,
// exact-erf GELU, LayerNorm eps from the checkpoint's config (1e-5 for roberta-base).
import { F, Tensor, arange, tidy, zerosLike } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { BERT_INIT, Embedding, LayerNorm, ModuleList, type Init } from '../nn/layers.js';
import { BertAttention, BertIntermediate, BertOutput } from '../nn/attention.js';
import { Pooler } from './heads.js';
import type { TextEncoderArch } from './config.js';
import type { GridRows } from '../nn/grid-rows.js';

/**
 * HF create_position_ids_from_input_ids: pos = cumsum(ids != pad) * (ids != pad) + pad, i.e. real
 * tokens get pad+1, pad+2, ... and pads get `pad`. Ids [B, L] int64 -> positions [B, L] int64.
 * Reconstructor query ids pad with 0 (`<s>`), not `pad`, so their positions keep counting (spec H.9).
 */
export function robertaPositionIds(ids: Tensor, pad: number): Tensor {
  const notPad = ids.ne(pad).to('int64'); // [B, L]
  return notPad.cumsum(1).mul(notPad).add(pad); // [B, L]
}

export class RobertaEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  /** persistent buffer of transformers 4.6 (part of the checkpoint, never read: positions come from the ids) */
  readonly position_ids: Tensor;
  constructor(readonly arch: TextEncoderArch, readonly dropout = 0, init: Init = BERT_INIT) {
    super();
    const a = arch;
    this.word_embeddings = this.child('word_embeddings', new Embedding(a.vocab_size, a.hidden_size, a.pad_token_id, init));
    this.position_embeddings = this.child('position_embeddings', new Embedding(a.max_position_embeddings, a.hidden_size, a.pad_token_id, init));
    this.token_type_embeddings = this.child('token_type_embeddings', new Embedding(a.type_vocab_size, a.hidden_size, null, init));
    this.LayerNorm = this.child('LayerNorm', new LayerNorm(a.hidden_size, a.layer_norm_eps));
    this.position_ids = this.buffer('position_ids', tidy(() => arange(a.max_position_embeddings, undefined, 1, { dtype: 'int64' }).view(1, -1))); // [1, P]
  }
  /** ids [B, L] int64 -> dropout(LN(word + token_type[0] + position)) [B, L, H] */
  forward(ids: Tensor): Tensor {
    const pos = robertaPositionIds(ids, this.arch.pad_token_id); // [B, L]
    const tokenType = this.token_type_embeddings.forward(zerosLike(ids)); // [B, L, H]
    const e = this.word_embeddings.forward(ids).add(tokenType).add(this.position_embeddings.forward(pos)); // [B, L, H]
    return F.dropout(this.LayerNorm.forward(e), this.dropout, this.training); // [B, L, H]
  }
}

/** HF RobertaLayer without cross-attention: attention -> intermediate -> output (post-LN). */
export class RobertaLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;
  constructor(a: TextEncoderArch, dropout = 0, init: Init = BERT_INIT) {
    super();
    this.attention = this.child('attention', new BertAttention({ hidden: a.hidden_size, heads: a.num_attention_heads, eps: a.layer_norm_eps, dropout, init }));
    this.intermediate = this.child('intermediate', new BertIntermediate(a.hidden_size, a.intermediate_size, init));
    this.output = this.child('output', new BertOutput(a.intermediate_size, a.hidden_size, a.layer_norm_eps, dropout, init));
  }
  /** x [B, L, H], additive mask [B, 1, L|1, L]; with `rows`, x [N, H] holds only those rows of the grid (see BertAttention) */
  forward(x: Tensor, mask: Tensor | null, rows?: GridRows): Tensor {
    const h = this.attention.forward(x, mask, undefined, rows); // [B, L, H] (or [N, H])
    return this.output.forward(this.intermediate.forward(h), h); // [B, L, H]
  }
}

export class RobertaEncoder extends Module {
  readonly layer: ModuleList<RobertaLayer>;
  constructor(a: TextEncoderArch, numLayers: number, dropout = 0, init: Init = BERT_INIT) {
    super();
    this.layer = this.child('layer', new ModuleList(Array.from({ length: numLayers }, () => new RobertaLayer(a, dropout, init))));
  }
}

/** `text_transformer`: embeddings, the bottom layers, and the (unused by FLM) pooler. */
export class RobertaModel extends Module {
  readonly embeddings: RobertaEmbeddings;
  readonly encoder: RobertaEncoder;
  readonly pooler: Pooler;
  constructor(readonly arch: TextEncoderArch, numLayers: number, dropout = 0, init: Init = BERT_INIT) {
    super();
    this.embeddings = this.child('embeddings', new RobertaEmbeddings(arch, dropout, init));
    this.encoder = this.child('encoder', new RobertaEncoder(arch, numLayers, dropout, init));
    this.pooler = this.child('pooler', new Pooler(arch.hidden_size, init));
  }
  get layers(): RobertaLayer[] {
    return this.encoder.layer.items;
  }
}
