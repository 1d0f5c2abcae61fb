// The three-stream FLM model: Wang et al., "Accelerating Vision-Language Pretraining with Free Language
// Modeling" (CVPR 2023); TencentARC/FLM flm/modules/flm_module.py, FLMTransformerSS with
// flm_backbone=True, `infer_three_stream` (spec B.5):
//
//   image  -> CLIP ViT -> cross_modal_image_transform + token_type[1] = Y        (keys of the top layers)
//   l2r  F = E(text_ids)   -> bottom layer k (mask fwd) -> transform + token_type[0]     -> cross layer k (fwd)
//   r2l  R = E(text_ids)   -> bottom layer k (mask rev) -> transform + token_type_flm[0] -> cross layer k (rev)
//   rec  Q = E(fusion_ids) -> rec layer beside bottom k -> transform + token_type_flm[1] -> rec layer beside top k
//        every reconstructor layer attends to cat(F, R) of the same depth under the bi mask [B, 1, L, 2L]
//   cls_feats = cross_modal_text_pooler_f(Q)
//
// One set of weights serves both text streams; the official model registers the shared modules under
// several names (text_transformer2, cross_modal_text_layers_r, ...). Here they are the same objects
// registered twice, so the state dict lists every official key and aliases are trained once. Since the
// modules are shared, the two streams run as one batch of 2B captions (batchStreams, the default);
// batchStreams = false runs them one after the other, as the official code does.
import { F, Tensor, ones } from '../tensor/index.js';
import { BERT_INIT, Embedding, ModuleList, TORCH_INIT, type Linear } from '../nn/layers.js';
import { GridRows } from '../nn/grid-rows.js';
import { streamRows } from './stream-rows.js';
import { BertCrossLayer } from './bert-cross-layer.js';
import { MLMHead, Pooler } from './heads.js';
import { FLMBackbone, type ModelOptions } from './single-stream.js';
import type { RobertaEmbeddings, RobertaModel } from './roberta.js';
import type { FLMConfig } from './config.js';

export interface FLMInput {
  image: Tensor; // [B, 3, S, S]
  textIds: Tensor; // [B, L] int64: <s> w .. </s> <pad> ..
  textMasks: Tensor; // [B, L] 1 on real tokens
  /** reconstructor query ids (get_flm_batch: <s> <mask> .. <mask> </s> 0 ..) [B, L] int64 */
  fusionIds: Tensor;
  /** additive masks: fwd/rev [B, 1, L, L] for the two streams, bi [B, 1, L, 2L] for the reconstructor */
  masks: { fwd: Tensor; rev: Tensor; bi: Tensor };
  imageTokenTypeIdx?: number;
}

export interface FLMOutput {
  imageEmbeds: Tensor; // [B, N_img, Wv]
  embeds: { text: Tensor; fusion: Tensor }; // [B, L, H] E(text_ids) (l2r input), E(fusion_ids)
  bottom: { fwd: Tensor; rev: Tensor; rec: Tensor }; // [B, L, H] after the bottom layers
  crossIn: { img: Tensor; fwd: Tensor; rev: Tensor; rec: Tensor }; // inputs of the top layers
  top: { fwd: Tensor; rev: Tensor; rec: Tensor }; // [B, L, H] text_feats1, text_feats2, text_feats
  clsFeats: Tensor; // [B, H]
  /** full-length LM logits [B, L, V]: lm_score(rec), lm_score_r(l2r), lm_score_f(r2l); absent without an FLM head */
  logits?: { rec: Tensor; l2r: Tensor; r2l: Tensor };
}

/** Per-stream tensors [..., H] (features) or [..., V] (logits): reconstructor, l2r, r2l. */
export interface StreamFeatures {
  rec: Tensor;
  l2r?: Tensor;
  r2l?: Tensor;
}

/** What the pretraining losses read: the final stream features, and the unimodal embeddings on request. */
export interface LossFeatures {
  fwd: Tensor;
  rev: Tensor;
  rec: Tensor;
  /** lossFeatures(…, { unimodal: true }): the caption's and the image's embedding before fusion, [B, H] each */
  unimodal?: { text: Tensor; image: Tensor };
}

export class FLMModel extends FLMBackbone {
  readonly text_transformer2: RobertaModel;
  readonly cross_modal_text_layers_r: ModuleList<BertCrossLayer>;
  readonly cross_modal_text_transform_r: Linear;
  readonly cross_modal_text_transform_f: Linear;
  readonly cross_modal_text_pooler_f: Pooler;
  readonly fusion_token_embedding: RobertaEmbeddings;
  readonly fusion_layers_top: ModuleList<BertCrossLayer>;
  readonly fusion_layers_bottom: ModuleList<BertCrossLayer>;
  readonly lm_type_embeddings: Embedding;
  lm_score_r: MLMHead | null = null;
  lm_score_f: MLMHead | null = null;

  /**
   * true (default): the l2r and r2l streams run as one batch of 2B captions through the shared modules
   * (streamsBatched); false: one after the other, as the official code does (streamsPerStream). Same
   * outputs and gradients up to float rounding; with dropout the two paths draw different masks.
   */
  batchStreams: boolean;

  constructor(config: FLMConfig, opts: ModelOptions = {}) {
    super(config, opts);
    this.batchStreams = opts.batchStreams ?? true;
    const c = config;
    if (!c.flm_backbone) throw new Error('FLMModel: config.flm_backbone is false; use SingleStreamModel');
    const hf = c.hidden_size_for_fusion;
    // aliases: the same modules under the official second names
    this.text_transformer2 = this.child('text_transformer2', this.text_transformer);
    this.cross_modal_text_layers_r = this.child('cross_modal_text_layers_r', this.cross_modal_text_layers);
    this.cross_modal_text_transform_r = this.child('cross_modal_text_transform_r', this.cross_modal_text_transform);
    this.cross_modal_text_transform_f = this.child('cross_modal_text_transform_f', this.cross_modal_text_transform);
    this.cross_modal_text_pooler_f = this.child('cross_modal_text_pooler_f', new Pooler(hf));
    this.fusion_token_embedding = this.child('fusion_token_embedding', this.text_transformer.embeddings);
    // Reconstructor: BertCrossLayer without self-attention. The official code never passes these through
    // init_weights, so they keep PyTorch's default init (spec H.3). The intermediate size is
    // hidden_size * mlp_ratio (deepcopy of the cross-modal config; README ambiguity 6).
    const rec = () => new BertCrossLayer({
      hidden: hf, heads: c.num_heads_fusion, intermediate: c.hidden_size * c.mlp_ratio, eps: c.cross_layer_norm_eps,
      dropout: c.drop_rate, withSelfAttention: false, init: TORCH_INIT,
    });
    this.fusion_layers_top = this.child('fusion_layers_top', new ModuleList(Array.from({ length: c.num_reconstructor_top_layer }, rec)));
    this.fusion_layers_bottom = this.child('fusion_layers_bottom', new ModuleList(Array.from({ length: c.num_reconstructor_bottom_layer }, rec)));
    // unused by the official forward; nn.Embedding's default N(0, 1) init
    this.lm_type_embeddings = this.child('lm_type_embeddings', new Embedding(2, c.hidden_size, null, { kind: 'normal', std: 1 }));
    if (c.loss_names.flm > 0) {
      // (re)registers lm_score: with ar > 0 too, the official code replaces the AR head in place
      this.lm_score = this.child('lm_score', new MLMHead(hf, c.vocab_size, c.cross_layer_norm_eps, BERT_INIT));
      if (c.share_lm_scorer_weights) {
        this.lm_score_r = this.child('lm_score_r', this.lm_score);
        this.lm_score_f = this.child('lm_score_f', this.lm_score);
      } else {
        this.lm_score_r = this.child('lm_score_r', new MLMHead(hf, c.vocab_size, c.cross_layer_norm_eps, BERT_INIT));
        this.lm_score_f = this.child('lm_score_f', new MLMHead(hf, c.vocab_size, c.cross_layer_norm_eps, BERT_INIT));
      }
    }
    this.addTaskHeads();
  }

  /** The three-stream forward (official infer_three_stream, default masks supplied by the caller). */
  forward(input: FLMInput, o: { lmLogits?: boolean } = {}): FLMOutput {
    checkInput(input);
    const s = this.batchStreams ? this.streamsBatched(input, null) : this.streamsPerStream(input);
    const out: FLMOutput = { ...s, clsFeats: this.cross_modal_text_pooler_f.forward(s.top.rec) }; // [B, H]
    if ((o.lmLogits ?? true) && this.lm_score && this.lm_score_r && this.lm_score_f) {
      const lg = this.lmLogits({ rec: s.top.rec, l2r: s.top.fwd, r2l: s.top.rev });
      out.logits = { rec: lg.rec, l2r: lg.l2r!, r2l: lg.r2l! }; // [B, L, V] each
    }
    return out;
  }

  /**
   * The final features the pretraining losses score: top.fwd, top.rev [B, L, H] and the reconstructor
   * output at the query rows `recRows` [N, 2] (caption, position) only, [N, H]. The reconstructor's
   * queries attend to the text streams, never to each other, so with batchStreams it computes those rows
   * alone (no work for padding and unscored positions); the per-stream path picks them from the full output.
   * `unimodal`: also the caption's and the image's embeddings before fusion (the contrastive term's inputs).
   */
  lossFeatures(input: FLMInput, recRows: Tensor, o: { unimodal?: boolean } = {}): LossFeatures {
    checkInput(input);
    const [B, L] = input.textIds.shape as [number, number];
    const rows = new GridRows(recRows, B, L);
    const s = this.batchStreams ? this.streamsBatched(input, rows) : this.streamsPerStream(input);
    const out: LossFeatures = this.batchStreams ? { ...s.top } : { fwd: s.top.fwd, rev: s.top.rev, rec: rows.gather(s.top.rec) };
    if (o.unimodal) out.unimodal = this.unimodalEmbeddings(s);
    return out;
  }

  /**
   * One vector per caption and per image before any fusion, in the hidden space of the cross-modal layers
   * (the image-text contrastive term's inputs): the l2r stream's first token after the text layers
   * (row 0 of the forward mask sees the whole caption) through cross_modal_text_transform, and the image
   * tower's CLS token through cross_modal_image_transform. [B, H] each.
   */
  private unimodalEmbeddings(s: Streams): { text: Tensor; image: Tensor } {
    return {
      text: this.cross_modal_text_transform.forward(s.bottom.fwd.select(1, 0)), // [B, H]
      image: this.cross_modal_image_transform.forward(s.imageEmbeds.select(1, 0)), // [B, H]
    };
  }

  /**
   * The two text streams as one batch, interleaved: row 2b of x [2B, L, H] is caption b's l2r stream,
   * row 2b+1 its r2l stream. The same memory read as [B, 2L, H] is cat(F, R) along the sequence, the
   * reconstructor's context, and the packed queries of the cross-modal layers, which then project the
   * image keys/values once for both streams. With `rows` the reconstructor stream q holds only those
   * query rows, [N, H] instead of [B, L, H].
   */
  private streamsBatched(input: FLMInput, rows: GridRows | null): Streams {
    const c = this.config;
    const { image, textIds, fusionIds, masks } = input;
    const [B, L] = textIds.shape as [number, number];
    const pair = (t: Tensor): Tensor => F.stack([t, t], 1).flatten(0, 1); // [B, ...] -> [2B, ...] b, b, b+1, b+1 ..
    const streamMasks = F.stack([masks.fwd, masks.rev], 1).flatten(0, 1); // [2B, 1, L, L] fwd, rev, fwd, ..
    const fwdOf = (x: Tensor): Tensor => x.view(B, 2, L, -1).select(1, 0); // [B, L, H] view
    const revOf = (x: Tensor): Tensor => x.view(B, 2, L, -1).select(1, 1); // [B, L, H] view
    const rec = rows ? { rows } : {};
    // without dropout the streams compute each caption's real tokens and first pad only (packRows)
    const packed = this.packRows && (c.drop_rate === 0 || !this.training) ? streamRows(textIds, input.textMasks, this.text_transformer.arch.pad_token_id, streamMasks, 2) : null;
    const grid = (x: Tensor): Tensor => (packed ? packed.expand(x) : x.view(B, 2 * L, -1)); // [B, 2L, H]

    const imageEmbeds = this.vit_model.forward(image); // [B, N_img, Wv]
    const embedFusion = this.fusion_token_embedding.forward(fusionIds); // [B, L, H]
    let q = rows ? rows.gather(embedFusion) : embedFusion; // [B, L, H] (or [N, H])
    // one embedding call for both copies of the ids: dropout stays independent per stream (spec B.5 step 2)
    let x = this.text_transformer.embeddings.forward(pair(textIds)); // [2B, L, H]
    const embedText = fwdOf(x);
    if (packed) x = packed.self.gather(x); // [N_s, H]

    const firstRecBottom = c.num_bottom_layer - c.num_reconstructor_bottom_layer;
    let ctx: Tensor | null = null;
    for (let i = 0; i < c.num_bottom_layer; i++) {
      x = this.text_transformer.layers[i]!.forward(x, streamMasks, packed?.self); // [2B, L, H] (or [N_s, H])
      ctx = null;
      if (i >= firstRecBottom) q = this.fusion_layers_bottom.at(i - firstRecBottom).forward(q, (ctx = grid(x)), null, masks.bi, rec); // [B, L, H] (or [N, H])
    }
    ctx ??= grid(x);
    const bottom = { fwd: fwdOf(ctx), rev: revOf(ctx), rec: q };

    // token types: token_type[0] on l2r, token_type_flm[0] on r2l, token_type_flm[1] on the reconstructor
    const streamTypes = F.stack([this.token_type_embeddings.weight.select(0, 0), this.token_type_embeddings_flm.weight.select(0, 0)]); // [2, H]
    const t = this.cross_modal_text_transform.forward(x);
    x = packed ? t.add(streamTypes.index(packed.stream)) : t.view(B, 2, L, -1).add(streamTypes.view(1, 2, 1, -1)).view(B, 2 * L, -1); // [B, 2L, H] (or [N_s, H])
    q = this.cross_modal_text_transform_f.forward(q).add(this.token_type_embeddings_flm.weight.select(0, 1)); // [B, L, H] (or [N, H])
    const img = this.imageTokens(imageEmbeds, input.imageTokenTypeIdx ?? c.image_token_type_idx); // [B, N_img, H]
    const imgMask = ones([1, 1, 1, img.shape[1]!], { dtype: img.dtype, device: img.device }); // [1, 1, 1, N_img], see streamsPerStream
    ctx = grid(x);
    const crossIn = { img, fwd: fwdOf(ctx), rev: revOf(ctx), rec: q };

    const firstRecTop = c.num_top_layer - c.num_reconstructor_top_layer;
    const layerRows = packed ? { rows: packed.cross, selfRows: packed.self } : { streams: 2 };
    for (let i = 0; i < c.num_top_layer; i++) {
      x = this.cross_modal_text_layers.at(i).forward(x, img, streamMasks, imgMask, layerRows); // [B, 2L, H] (or [N_s, H])
      ctx = null;
      if (i >= firstRecTop) q = this.fusion_layers_top.at(i - firstRecTop).forward(q, (ctx = grid(x)), null, masks.bi, rec); // [B, L, H] (or [N, H])
    }
    ctx ??= grid(x);
    const top = { fwd: fwdOf(ctx), rev: revOf(ctx), rec: q };
    return { imageEmbeds, embeds: { text: embedText, fusion: embedFusion }, bottom, crossIn, top };
  }

  /** The official order: the l2r stream, then the r2l stream, through the same (aliased) modules. */
  private streamsPerStream(input: FLMInput): Streams {
    const c = this.config;
    const { image, textIds, fusionIds, masks } = input;

    const imageEmbeds = this.vit_model.forward(image); // [B, N_img, Wv]
    let q = this.fusion_token_embedding.forward(fusionIds); // [B, L, H]
    const embedFusion = q;
    // two separate embedding calls: independent dropout for the two streams (spec B.5 step 2)
    let f = this.text_transformer.embeddings.forward(textIds); // [B, L, H]
    let r = this.text_transformer2.embeddings.forward(textIds); // [B, L, H]
    const embedText = f;

    const firstRecBottom = c.num_bottom_layer - c.num_reconstructor_bottom_layer;
    for (let i = 0; i < c.num_bottom_layer; i++) {
      f = this.text_transformer.layers[i]!.forward(f, masks.fwd); // [B, L, H]
      r = this.text_transformer2.layers[i]!.forward(r, masks.rev); // [B, L, H]
      if (i >= firstRecBottom) {
        const ctx = F.cat([f, r], 1); // [B, 2L, H]
        q = this.fusion_layers_bottom.at(i - firstRecBottom).forward(q, ctx, null, masks.bi); // [B, L, H]
      }
    }
    const bottom = { fwd: f, rev: r, rec: q };

    f = this.cross_modal_text_transform.forward(f).add(this.token_type_embeddings.weight.select(0, 0)); // [B, L, H]
    r = this.cross_modal_text_transform_r.forward(r).add(this.token_type_embeddings_flm.weight.select(0, 0)); // [B, L, H]
    q = this.cross_modal_text_transform_f.forward(q).add(this.token_type_embeddings_flm.weight.select(0, 1)); // [B, L, H]
    const img = this.imageTokens(imageEmbeds, input.imageTokenTypeIdx ?? c.image_token_type_idx); // [B, N_img, H]
    // Official quirk (spec B.5 note, README "Image mask"): the all-ones image mask is passed unconverted,
    // so +1.0 is added to every image-attention score. Softmax-invariant; reproduced for fidelity.
    const imgMask = ones([1, 1, 1, img.shape[1]!], { dtype: img.dtype, device: img.device }); // [1, 1, 1, N_img]
    const crossIn = { img, fwd: f, rev: r, rec: q };

    const firstRecTop = c.num_top_layer - c.num_reconstructor_top_layer;
    for (let i = 0; i < c.num_top_layer; i++) {
      f = this.cross_modal_text_layers.at(i).forward(f, img, masks.fwd, imgMask); // [B, L, H]
      r = this.cross_modal_text_layers_r.at(i).forward(r, img, masks.rev, imgMask); // [B, L, H]
      if (i >= firstRecTop) {
        const ctx = F.cat([f, r], 1); // [B, 2L, H]
        q = this.fusion_layers_top.at(i - firstRecTop).forward(q, ctx, null, masks.bi); // [B, L, H]
      }
    }
    const top = { fwd: f, rev: r, rec: q };
    return { imageEmbeds, embeds: { text: embedText, fusion: embedFusion }, bottom, crossIn, top };
  }

  /**
   * LM logits of features [..., H] of the three streams: lm_score(rec), lm_score_r(l2r), lm_score_f(r2l),
   * each [..., V]; l2r and r2l may be left out. With shared scorer weights (and batchStreams) one head
   * call scores the rows of all of them.
   */
  lmLogits(x: StreamFeatures): StreamFeatures {
    if (!this.lm_score || !this.lm_score_r || !this.lm_score_f) throw new Error('lmLogits(): the model has no FLM head (loss_names.flm = 0)');
    const shared = this.lm_score === this.lm_score_r && this.lm_score === this.lm_score_f;
    if (!shared || !this.batchStreams) {
      return {
        rec: this.lm_score.forward(x.rec),
        ...(x.l2r && { l2r: this.lm_score_r.forward(x.l2r) }),
        ...(x.r2l && { r2l: this.lm_score_f.forward(x.r2l) }),
      };
    }
    const names = (['rec', 'l2r', 'r2l'] as const).filter((k) => x[k] !== undefined);
    const parts = names.map((k) => x[k]!);
    const H = x.rec.size(-1);
    const logits = this.lm_score.forward(F.cat(parts.map((t) => t.reshape(-1, H)), 0)); // [N_rec + N_l2r + N_r2l, V]
    const V = logits.size(-1);
    const [rec, ...rest] = logits.split(parts.map((t) => t.numel / H), 0).map((t, i) => t.view(...parts[i]!.shape.slice(0, -1), V));
    const out: StreamFeatures = { rec: rec! };
    names.slice(1).forEach((k, i) => { out[k] = rest[i]!; });
    return out;
  }
}

/** FLMOutput before the pooler and the LM heads. */
type Streams = Omit<FLMOutput, 'clsFeats' | 'logits'>;

function checkInput(input: FLMInput): void {
  const { textIds, fusionIds, masks } = input;
  const [B, L] = textIds.shape as [number, number];
  checkShape('masks.fwd', masks.fwd, [B, 1, L, L]);
  checkShape('masks.rev', masks.rev, [B, 1, L, L]);
  checkShape('masks.bi', masks.bi, [B, 1, L, 2 * L]);
  checkShape('fusionIds', fusionIds, [B, L]);
  checkShape('textMasks', input.textMasks, [B, L]);
}

function checkShape(name: string, t: Tensor, expected: number[]): void {
  const s = t.shape;
  if (s.length !== expected.length || s.some((d, i) => d !== expected[i])) {
    throw new RangeError(`FLMModel.forward: ${name} must have shape [${expected.join(', ')}], got [${s.join(', ')}]`);
  }
}
