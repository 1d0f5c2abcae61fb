// The one-stream vision-language backbone (TencentARC/FLM flm/modules/flm_module.py, FLMTransformerSS
// with flm_backbone=False, `infer_one_stream`; spec B.9) used by the MLM / AR baselines and ITM:
//   image -> CLIP ViT -> cross_modal_image_transform + token_type[idx]          (image tokens, fixed)
//   text  -> RoBERTa embeddings + bottom layers (mask: padding or causal)        (`bottom`)
//         -> cross_modal_text_transform + token_type[0] -> cross-modal layers    (`text_feats`)
//         -> cross_modal_text_pooler                                             (`pooled`)
//
// FLMBackbone registers the modules both official model variants share, in the official order, so the
// three-stream FLMModel (flm.ts) extends it and both state_dicts list their keys exactly as the
// official `state_dict()` does.
import { F, Tensor } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { BERT_INIT, Embedding, Linear, ModuleList } from '../nn/layers.js';
import { CLIPVisionModel } from './clip-vit.js';
import { RobertaModel } from './roberta.js';
import { BertCrossLayer } from './bert-cross-layer.js';
import { ClassifierMLP, ITMHead, MLMHead, Pooler, RankOutput, nlvr2Classifier, vqaClassifier } from './heads.js';
import type { FLMConfig } from './config.js';
import { streamRows } from './stream-rows.js';

export interface ModelOptions {
  /**
   * Official-code compatibility for the one-stream `cls_feats` (spec H.11, README ambiguity 3). The
   * official infer_one_stream returns cls_feats = cat(pooled, pooled) [B, 2H], which the Linear(H, 2)
   * ITM head (and the VQA head) cannot take, so official ITM on this backbone raises a shape error.
   *   false (default, sensible): cls_feats = pooled [B, H]; heads read it directly.
   *   true (official): cls_feats = cat(pooled, pooled) [B, 2H]; itm() scores cls_feats[:, :H] (= pooled),
   *     as the parity fixtures do.
   * Either way ITM logits are itm_score(pooled); only the width of `clsFeats` differs.
   */
  compat?: boolean;
  /**
   * FLMModel only: run the l2r and r2l streams as one batch (default true; see FLMModel.batchStreams).
   * false runs them one after the other, the official order, for checking.
   */
  batchStreams?: boolean;
  /** Compute only each caption's real tokens and first pad in the text layers when that is exact (default true; see FLMBackbone.packRows). */
  packRows?: boolean;
}

export interface OneStreamInput {
  image: Tensor; // [B, 3, S, S]
  textIds: Tensor; // [B, L] int64
  /** additive text mask: [B, 1, 1, L] padding mask, or [B, 1, L, L] causal (is_decoder) mask */
  textMask: Tensor;
  /** image token type (1; NLVR2's second image uses 2) */
  imageTokenTypeIdx?: number;
  /** the ViT output of `image` [B, N_img, Wv] when the caller has it already (the race's MLM scorer reuses it over a caption's words) */
  imageEmbeds?: Tensor;
  /** the cross-modal layers' image tokens [B, N_img, H] (`crossImageTokens`), when the caller has them already */
  crossImage?: Tensor;
  /** the text encoder's output [B, L, Ht] (`encodeText`), when the caller has it already (one caption under many images) */
  bottom?: Tensor;
}

export interface OneStreamOutput {
  imageEmbeds: Tensor; // [B, N_img, Wv] ViT output
  bottom: Tensor; // [B, L, H] after the text encoder layers
  crossIn: { img: Tensor; text: Tensor }; // [B, N_img, H], [B, L, H] inputs of the cross-modal layers
  textFeats: Tensor; // [B, L, H] after the cross-modal layers
  pooled: Tensor; // [B, H] cross_modal_text_pooler(text_feats)
  clsFeats: Tensor; // [B, H] (or [B, 2H] with compat)
}

export abstract class FLMBackbone extends Module {
  readonly cross_modal_text_transform: Linear;
  readonly cross_modal_image_transform: Linear;
  readonly token_type_embeddings: Embedding;
  readonly token_type_embeddings_flm: Embedding;
  readonly vit_model: CLIPVisionModel;
  readonly text_transformer: RobertaModel;
  readonly cross_modal_text_layers: ModuleList<BertCrossLayer>;
  readonly cross_modal_image_pooler: Pooler;
  readonly cross_modal_text_pooler: Pooler;
  readonly mlm_score: MLMHead | null = null;
  /** the AR head (loss ar > 0); the FLM model re-registers it as its FLM scorer */
  lm_score: MLMHead | null = null;
  itm_score: ITMHead | null = null;
  itm_score_flm: ITMHead | null = null;
  vqa_classifier: ClassifierMLP | null = null;
  nlvr2_classifier: ClassifierMLP | null = null;
  rank_output: RankOutput | null = null;
  readonly compat: boolean;
  /**
   * true (default): without dropout (or in eval mode) the text layers compute each caption's real tokens
   * and its first pad only, and repeat that pad row where the others stood (stream-rows.ts), whenever
   * the masks make that exact; false: every row of the padded grid. Same outputs and gradients up to
   * float rounding. When packed, the intermediate text features a forward returns (bottom, crossIn) are
   * expanded copies: gradients taken with respect to them do not reach the layers below.
   */
  packRows: boolean;

  constructor(readonly config: FLMConfig, opts: ModelOptions = {}) {
    super();
    const c = config;
    const h = c.hidden_size;
    this.compat = opts.compat ?? false;
    this.packRows = opts.packRows ?? true;
    // official init: objectives.init_weights = N(0, 0.02) Linear/Embedding weights, zero biases
    this.cross_modal_text_transform = this.child('cross_modal_text_transform', new Linear(c.input_text_embed_size, h, { init: BERT_INIT }));
    this.cross_modal_image_transform = this.child('cross_modal_image_transform', new Linear(c.input_image_embed_size, h, { init: BERT_INIT }));
    // NLVR2 extends the table to 3 rows (row 2 := row 1 of a loaded checkpoint, see loadOfficialWeights)
    const types = c.loss_names.nlvr2 > 0 ? 3 : 2;
    this.token_type_embeddings = this.child('token_type_embeddings', new Embedding(types, h, null, BERT_INIT));
    this.token_type_embeddings_flm = this.child('token_type_embeddings_flm', new Embedding(2, c.hidden_size_for_fusion, null, BERT_INIT));
    this.vit_model = this.child('vit_model', new CLIPVisionModel(c.vit_arch));
    this.text_transformer = this.child('text_transformer', new RobertaModel(c.text_encoder_arch, c.num_bottom_layer, c.drop_rate, BERT_INIT));
    const cross = Array.from({ length: c.num_top_layer }, () => new BertCrossLayer({
      hidden: h, heads: c.num_heads, intermediate: h * c.mlp_ratio, eps: c.cross_layer_norm_eps, dropout: c.drop_rate, init: BERT_INIT,
    }));
    this.cross_modal_text_layers = this.child('cross_modal_text_layers', new ModuleList(cross));
    this.child('cross_modal_layers', this.cross_modal_text_layers); // official alias
    this.cross_modal_image_pooler = this.child('cross_modal_image_pooler', new Pooler(h)); // unused by every forward
    this.cross_modal_text_pooler = this.child('cross_modal_text_pooler', new Pooler(h));
    if (c.loss_names.mlm > 0) this.mlm_score = this.child('mlm_score', new MLMHead(h, c.vocab_size, c.cross_layer_norm_eps));
    if (c.loss_names.ar > 0) this.lm_score = this.child('lm_score', new MLMHead(h, c.vocab_size, c.cross_layer_norm_eps));
  }

  /** ITM, VQA, NLVR2 and IRTR heads, registered last as in the official __init__. */
  protected addTaskHeads(): void {
    const c = this.config;
    const h = c.hidden_size;
    if (c.loss_names.itm > 0) {
      this.itm_score = this.child('itm_score', new ITMHead(h));
      this.itm_score_flm = this.child('itm_score_flm', new ITMHead(c.hidden_size_for_fusion)); // unused
    }
    if (c.loss_names.vqa > 0) this.vqa_classifier = this.child('vqa_classifier', vqaClassifier(h, c.vqa_label_size ?? 3129));
    if (c.loss_names.nlvr2 > 0) this.nlvr2_classifier = this.child('nlvr2_classifier', nlvr2Classifier(h));
    if (c.loss_names.irtr > 0) {
      if (!this.itm_score) throw new Error('rank_output (irtr) is initialised from itm_score: set loss_names.itm > 0');
      this.rank_output = this.child('rank_output', new RankOutput(this.itm_score));
      this.itm_score.requiresGrad_(false); // official: itm_score frozen for IRTR
    }
  }

  /** cross_modal_image_transform(V) + token_type_embeddings[idx]: the image tokens of the cross-modal layers. */
  protected imageTokens(imageEmbeds: Tensor, idx: number): Tensor {
    const y = this.cross_modal_image_transform.forward(imageEmbeds); // [B, N_img, H]
    return y.add(this.token_type_embeddings.weight.select(0, idx)); // [B, N_img, H]
  }

  /** The text encoder alone (it does not see the image): [B, L, Ht]. */
  encodeText(textIds: Tensor, textMask: Tensor): Tensor {
    let x = this.text_transformer.embeddings.forward(textIds); // [B, L, Ht]
    for (const layer of this.text_transformer.layers) x = layer.forward(x, textMask); // [B, L, Ht]
    return x;
  }

  /** The cross-modal layers' image tokens of ViT outputs [B, N_img, Wv]: [B, N_img, H]. */
  crossImageTokens(imageEmbeds: Tensor, imageTokenTypeIdx = this.config.image_token_type_idx): Tensor {
    return this.imageTokens(imageEmbeds, imageTokenTypeIdx);
  }

  /** The one-stream forward (official infer_one_stream). */
  inferOneStream(input: OneStreamInput): OneStreamOutput {
    const { image, textIds, textMask } = input;
    const imageEmbeds = input.imageEmbeds ?? this.vit_model.forward(image); // [B, N_img, Wv]
    const img = input.crossImage ?? this.imageTokens(imageEmbeds, input.imageTokenTypeIdx ?? this.config.image_token_type_idx); // [B, N_img, H]
    const typeText = this.token_type_embeddings.weight.select(0, 0); // [H]
    const packed = !input.bottom && this.packRows && (this.config.drop_rate === 0 || !this.training)
      ? streamRows(textIds, textIdsMask(textIds, this.text_transformer.arch.pad_token_id), this.text_transformer.arch.pad_token_id, textMask, 1)
      : null;
    if (packed) {
      // the real tokens and the first pad of each caption only (packRows); read back as the full grid
      let b = packed.self.gather(this.text_transformer.embeddings.forward(textIds)); // [N, Ht]
      for (const layer of this.text_transformer.layers) b = layer.forward(b, textMask, packed.self); // [N, Ht]
      const t = this.cross_modal_text_transform.forward(b).add(typeText); // [N, H]
      let y = t;
      for (const layer of this.cross_modal_text_layers.items) y = layer.forward(y, img, textMask, null, { rows: packed.cross, selfRows: packed.self }); // [N, H]
      return this.oneStreamOutput(imageEmbeds, packed.expand(b), { img, text: packed.expand(t) }, packed.expand(y));
    }
    const bottom = input.bottom ?? this.encodeText(textIds, textMask); // [B, L, Ht]
    const text = this.cross_modal_text_transform.forward(bottom).add(typeText); // [B, L, H]
    // the image key mask is (1 - 1) * -10000 = 0 here, i.e. no mask
    let x = text;
    for (const layer of this.cross_modal_text_layers.items) x = layer.forward(x, img, textMask, null); // [B, L, H]
    return this.oneStreamOutput(imageEmbeds, bottom, { img, text }, x);
  }

  private oneStreamOutput(imageEmbeds: Tensor, bottom: Tensor, crossIn: { img: Tensor; text: Tensor }, x: Tensor): OneStreamOutput {
    const pooled = this.cross_modal_text_pooler.forward(x); // [B, H]
    const clsFeats = this.compat ? F.cat([pooled, pooled], -1) : pooled; // [B, 2H] official, [B, H] sensible
    return { imageEmbeds, bottom, crossIn, textFeats: x, pooled, clsFeats };
  }

  /** ITM logits [B, 2] from cls_feats (compat: its first H columns, = pooled). */
  itm(clsFeats: Tensor): Tensor {
    if (!this.itm_score) throw new Error('itm(): the model has no itm_score head (loss_names.itm = 0)');
    const h = this.config.hidden_size;
    const x = clsFeats.shape[1] === 2 * h && this.compat ? clsFeats.slice(1, 0, h) : clsFeats; // [B, H]
    return this.itm_score.forward(x); // [B, 2]
  }
}

/** The single-stream model (flm_backbone = false): MLM / AR / ITM baselines. */
export class SingleStreamModel extends FLMBackbone {
  constructor(config: FLMConfig, opts: ModelOptions = {}) {
    super(config, opts);
    if (config.flm_backbone) throw new Error('SingleStreamModel: config.flm_backbone is true; use FLMModel');
    this.addTaskHeads();
  }
  forward(input: OneStreamInput): OneStreamOutput {
    return this.inferOneStream(input);
  }
  /** mlm_score(text_feats) [B, L, V] */
  mlmLogits(textFeats: Tensor): Tensor {
    if (!this.mlm_score) throw new Error('mlmLogits(): the model has no mlm_score head (loss_names.mlm = 0)');
    return this.mlm_score.forward(textFeats);
  }
  /** lm_score(text_feats) [B, L, V] (AR) */
  lmLogits(textFeats: Tensor): Tensor {
    if (!this.lm_score) throw new Error('lmLogits(): the model has no lm_score head (loss_names.ar = 0)');
    return this.lm_score.forward(textFeats);
  }
}

/** 1 where a token is not the pad id: the one-stream input has no text mask of its own beside the additive one. [B, L] int64 */
function textIdsMask(textIds: Tensor, padId: number): Tensor {
  return textIds.ne(padId).to('int64');
}
