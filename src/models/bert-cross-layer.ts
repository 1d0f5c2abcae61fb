// BertCrossLayer (TencentARC/FLM flm/modules/bert_model.py; spec B.4, B.6): post-LN
// self-attention -> cross-attention to a context -> feed-forward. Used for the cross-modal layers
// (text attends to image tokens) and, without self-attention, for the reconstructor layers
// (queries attend to cat(l2r, r2l)). The official reconstructor sets `.attention = None`, so those
// layers have no `attention.*` parameters at all.
import { Tensor } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { BERT_INIT, type Init } from '../nn/layers.js';
import { BertAttention, BertIntermediate, BertOutput } from '../nn/attention.js';
import type { GridRows } from '../nn/grid-rows.js';

export interface BertCrossLayerOptions {
  hidden: number;
  heads: number;
  intermediate: number;
  eps: number;
  dropout?: number;
  /** false: the reconstructor variant (no `attention` module) */
  withSelfAttention?: boolean;
  init?: Init;
}

export class BertCrossLayer extends Module {
  readonly attention: BertAttention | null;
  readonly crossattention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;
  constructor(o: BertCrossLayerOptions) {
    super();
    const init = o.init ?? BERT_INIT;
    const att = { hidden: o.hidden, heads: o.heads, eps: o.eps, dropout: o.dropout ?? 0, init };
    this.attention = o.withSelfAttention ?? true ? this.child('attention', new BertAttention(att)) : null;
    this.crossattention = this.child('crossattention', new BertAttention(att));
    this.intermediate = this.child('intermediate', new BertIntermediate(o.hidden, o.intermediate, init));
    this.output = this.child('output', new BertOutput(o.intermediate, o.hidden, o.eps, o.dropout ?? 0, init));
  }

  /**
   * x [B, Lq, H] queries, context [B, Lk, H] keys/values; selfMask [B, 1, Lq|1, Lq] (ignored without
   * self-attention), contextMask [B|1, 1, Lq|1, Lk] additive (null = attend everywhere).
   *
   * streams S > 1: x [B, S*L, H] packs S independent token streams of L tokens along the sequence
   * (FLM's l2r and r2l copies of one caption). Self-attention stays inside each stream, under
   * selfMask [B*S, 1, L|1, L]; the cross-attention reads the context once for all S*L queries, so
   * its key/value projections are computed once, not once per stream.
   * rows: x holds just those query rows [N, H] of the [B, Lq] grid, and so does the result. Without
   * self-attention no other query can change them, as queries only read the context; with it, selfRows
   * names the same rows in the self-attention grid ([B*S, L] with streams), where they are the only
   * keys (the self mask must block every other one).
   */
  forward(x: Tensor, context: Tensor, selfMask: Tensor | null, contextMask: Tensor | null, o: { streams?: number; rows?: GridRows; selfRows?: GridRows } = {}): Tensor {
    if (o.rows && this.attention && !o.selfRows) throw new Error('BertCrossLayer: query rows of a layer with self-attention need selfRows');
    if (o.selfRows && (!o.rows || o.rows.count !== o.selfRows.count)) throw new Error('BertCrossLayer: selfRows need the same rows in the query grid (rows)');
    const h = !this.attention ? x : o.selfRows ? this.attention.forward(x, selfMask, undefined, o.selfRows) : this.selfAttention(this.attention, x, selfMask, o.streams ?? 1); // [B, Lq, H] (or [N, H])
    const c = this.crossattention.forward(h, contextMask, context, o.rows); // [B, Lq, H] (or [N, H])
    return this.output.forward(this.intermediate.forward(c), c); // [B, Lq, H] (or [N, H])
  }

  private selfAttention(attention: BertAttention, x: Tensor, mask: Tensor | null, streams: number): Tensor {
    if (streams === 1) return attention.forward(x, mask); // [B, Lq, H]
    const [B, SL, H] = x.shape as [number, number, number];
    if (SL % streams !== 0) throw new RangeError(`BertCrossLayer: ${SL} queries do not split into ${streams} streams`);
    const perStream = x.view(B * streams, SL / streams, H); // [B*S, L, H]
    return attention.forward(perStream, mask).view(B, SL, H); // [B, S*L, H]
  }
}
