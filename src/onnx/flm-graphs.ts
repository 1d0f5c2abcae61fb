// The inference graphs of a fine-tuned three-stream FLM model, composed from the module emitters
// (modules.ts) along the forward paths flm's own inference takes:
//   image_encoder  image [B, 3, S, S] -> image_embeds = cross_modal_image_transform(ViT(image)) [B, N, H]
//                  (the image tokens before their token-type row, which each text graph adds: 1, or
//                  2 for NLVR2's second image)
//   caption_step   (image_embeds, input_ids [B, T], attention_mask [B, T], past_key_i / past_value_i
//                  [B, heads, P, d]) -> logits [B, T - P, V], present_key_i / present_value_i [B, heads, T, d]:
//                  the forward (l2r) stream alone and its LM head, as tasks/caption/decode.ts `forwardStream`,
//                  for the tokens after the P cached ones. One cache slot per self-attention of the stream
//                  (bottom layers, then cross-modal layers). The cache is exact: under the forward mask a row
//                  q >= 1 sees rows 1..q only, so earlier rows never change when tokens are appended (row 0,
//                  which sees every token, is seen by no other row). P = 0 (empty past tensors) is the plain
//                  forward: caption scoring feeds padded captions that way; greedy decoding feeds <s> <bos>
//                  first, then all tokens so far with the presents of the step before, reading the last row.
//   vqa            (image_embeds, input_ids, attention_mask) -> logits [B, C]: vqa_classifier(cls_feats)
//   rank           (image_embeds, input_ids, attention_mask) -> score [B]: rank_output(cls_feats)[:, 0]
//   nlvr2          (image_embeds_0, image_embeds_1, input_ids, attention_mask) -> logits [B, 2]
//                  nlvr2_classifier(cat(cls_feats(image 0, type 1), cls_feats(image 1, type 2)))
// cls_feats is FLMModel.forward's pooled reconstructor CLS under flmMasks(textMasks) at corruption rate 0
// with fusionIds(textIds, textMasks, <mask>), as tasks/common/task.ts `clsFeatures`.
import { FLMModel } from '../models/flm.js';
import { specialIds } from '../models/config.js';
import { OnnxExportError, OnnxGraph, type GraphIO } from './graph.js';
import { ModuleEmitter, type KvSlot } from './modules.js';
import { additive, flmMasks, forwardAllowed, fusionIds, sequenceAxes } from './masks.js';

export const GRAPH_NAMES = ['image_encoder', 'caption_step', 'vqa', 'rank', 'nlvr2'] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

const BATCH = 'batch';
const SEQ = 'sequence';
const PAST = 'past';
const NEW = 'new';

function imageEmbedsIO(model: FLMModel, name: string, doc: string): GraphIO {
  const grid = model.config.vit_arch.image_size / model.config.vit_arch.patch_size;
  return { name, type: 'float32', shape: [BATCH, grid * grid + 1, model.config.hidden_size], doc };
}

const EMBEDS_DOC = 'image_encoder output: cross_modal_image_transform(ViT(image)), before the token-type row';
const IDS: GraphIO = { name: 'input_ids', type: 'int64', shape: [BATCH, SEQ], doc: 'token ids <s> w .. </s> <pad> .. (the tokenizer, padded)' };
const MASK: GraphIO = { name: 'attention_mask', type: 'int64', shape: [BATCH, SEQ], doc: '1 on real tokens, 0 on padding' };

/** image_embeds + token_type_embeddings[idx]: the image tokens of the cross-modal layers. */
function imageTokens(e: ModuleEmitter, model: FLMModel, embeds: string, idx: number): string {
  return e.g.op('Add', [embeds, e.embeddingRow(model.token_type_embeddings, idx)], {}, `image_tokens_type${idx}`);
}

/**
 * decode.ts forwardStream: text_feats1 [B, L, H] of the l2r stream; with `from` and `caches`, of the
 * tokens from that position on, attending to the cached keys and values of the earlier ones.
 */
function forwardStream(e: ModuleEmitter, model: FLMModel, img: string, ids: string, mask: string, from: string | null = null, caches: KvSlot[] | null = null): string {
  const g = e.g;
  let slot = 0;
  const next = (): KvSlot | null => caches?.[slot++] ?? null;
  let f = e.robertaEmbeddings(model.text_transformer.embeddings, ids, from);
  for (const layer of model.text_transformer.layers) f = e.robertaLayer(layer, f, mask, next());
  f = g.op('Add', [e.linear(model.cross_modal_text_transform, f), e.embeddingRow(model.token_type_embeddings, 0)], {}, 'l2r/cross_in');
  // the official unconverted all-ones image mask: +1 on every image score (see models/flm.ts)
  const imgMask = g.constF(1);
  for (const layer of model.cross_modal_text_layers.items) f = e.bertCrossLayer(layer, f, img, mask, imgMask, next());
  return f;
}

/** The self-attentions of the forward stream, in order: [heads, head size] of each cache slot. */
export function captionCacheSlots(model: FLMModel): Array<{ heads: number; headDim: number }> {
  const c = model.config;
  const bottom = model.text_transformer.layers.map(() => ({ heads: c.text_encoder_arch.num_attention_heads, headDim: c.text_encoder_arch.hidden_size / c.text_encoder_arch.num_attention_heads }));
  const top = model.cross_modal_text_layers.items.map((l) => ({ heads: l.attention!.self.heads, headDim: l.attention!.self.hidden / l.attention!.self.heads }));
  return [...bottom, ...top];
}

/** FLMModel.forward up to cls_feats [B, H] (three streams; the reconstructor reads both text streams). */
function clsFeats(e: ModuleEmitter, model: FLMModel, img: string, ids: string, mask: string): string {
  const g = e.g;
  const c = model.config;
  const ax = sequenceAxes(g, mask);
  const masks = flmMasks(g, mask, ax);
  const fusion = fusionIds(g, ids, mask, specialIds(c).mask, ax);
  let q = e.robertaEmbeddings(model.fusion_token_embedding, fusion);
  let f = e.robertaEmbeddings(model.text_transformer.embeddings, ids);
  let r = e.robertaEmbeddings(model.text_transformer2.embeddings, ids);
  const firstRecBottom = c.num_bottom_layer - c.num_reconstructor_bottom_layer;
  for (let i = 0; i < c.num_bottom_layer; i++) {
    f = e.robertaLayer(model.text_transformer.layers[i]!, f, masks.fwd);
    r = e.robertaLayer(model.text_transformer2.layers[i]!, r, masks.rev);
    if (i >= firstRecBottom) {
      const ctx = g.op('Concat', [f, r], { axis: { i: 1 } }, `rec/bottom${i}/ctx`);
      q = e.bertCrossLayer(model.fusion_layers_bottom.at(i - firstRecBottom), q, ctx, null, masks.bi);
    }
  }
  f = g.op('Add', [e.linear(model.cross_modal_text_transform, f), e.embeddingRow(model.token_type_embeddings, 0)], {}, 'l2r/cross_in');
  r = g.op('Add', [e.linear(model.cross_modal_text_transform_r, r), e.embeddingRow(model.token_type_embeddings_flm, 0)], {}, 'r2l/cross_in');
  q = g.op('Add', [e.linear(model.cross_modal_text_transform_f, q), e.embeddingRow(model.token_type_embeddings_flm, 1)], {}, 'rec/cross_in');
  const imgMask = g.constF(1);
  const firstRecTop = c.num_top_layer - c.num_reconstructor_top_layer;
  for (let i = 0; i < c.num_top_layer; i++) {
    f = e.bertCrossLayer(model.cross_modal_text_layers.at(i), f, img, masks.fwd, imgMask);
    r = e.bertCrossLayer(model.cross_modal_text_layers_r.at(i), r, img, masks.rev, imgMask);
    if (i >= firstRecTop) {
      const ctx = g.op('Concat', [f, r], { axis: { i: 1 } }, `rec/top${i}/ctx`);
      q = e.bertCrossLayer(model.fusion_layers_top.at(i - firstRecTop), q, ctx, null, masks.bi);
    }
  }
  return e.pooler(model.cross_modal_text_pooler_f, q);
}

function imageEncoder(model: FLMModel): OnnxGraph {
  const c = model.config;
  const g = new OnnxGraph('image_encoder', 'CLIP ViT and the cross-modal image transform of an flm model', ['image_embeds']);
  const e = new ModuleEmitter(g, model);
  const image = g.input({ name: 'image', type: 'float32', shape: [BATCH, 3, c.image_size, c.image_size], doc: 'RGB, resized and centre-cropped to the image size, (x/255 - mean) / std per channel' });
  const v = e.visualTransformer(model.vit_model.visual, image);
  g.output(e.linear(model.cross_modal_image_transform, v), imageEmbedsIO(model, 'image_embeds', EMBEDS_DOC));
  return g;
}

function captionStep(model: FLMModel): OnnxGraph {
  const head = model.lm_score_r ?? model.lm_score;
  if (!head) throw new OnnxExportError('the model has no LM head (lm_score): it cannot generate text');
  const slots = captionCacheSlots(model);
  const presentNames = slots.flatMap((_, i) => [`present_key_${i}`, `present_value_${i}`]);
  const g = new OnnxGraph('caption_step', 'one decoding step of an flm caption model: the forward text stream over the image tokens and its LM head, with a key/value cache', ['logits', ...presentNames]);
  const e = new ModuleEmitter(g, model);
  const embeds = g.input(imageEmbedsIO(model, 'image_embeds', EMBEDS_DOC));
  const ids = g.input({ ...IDS, doc: 'all tokens so far: <s> <bos> w.. (decoding), or <s> <bos> caption <eos> </s> <pad>.. (scoring)' });
  const mask = g.input(MASK);
  const caches: KvSlot[] = slots.map((sl, i) => ({
    past: {
      key: g.input({ name: `past_key_${i}`, type: 'float32', shape: [BATCH, sl.heads, PAST, sl.headDim], doc: `keys of self-attention ${i} at the first P positions (present_key_${i} of the step before; P = 0: empty)` }),
      value: g.input({ name: `past_value_${i}`, type: 'float32', shape: [BATCH, sl.heads, PAST, sl.headDim], doc: `values of self-attention ${i} at the first P positions` }),
    },
  }));
  const from = g.op('Shape', [caches[0]!.past.key], { start: { i: 2 }, end: { i: 3 } }, 'past_length'); // [P]
  const ax = sequenceAxes(g, mask);
  const all = additive(g, forwardAllowed(g, mask, ax), 'fwd'); // [B, 1, T, T]
  const fwd = g.op('Slice', [all, from, g.constI([2 ** 53 - 1]), g.constI([2])], {}, 'fwd/newRows'); // [B, 1, T - P, T]
  const f = forwardStream(e, model, imageTokens(e, model, embeds, model.config.image_token_type_idx), ids, fwd, from, caches);
  g.output(e.mlmHead(head, f), { name: 'logits', type: 'float32', shape: [BATCH, NEW, model.config.vocab_size], doc: 'next-token logits after each of the T - P new positions' });
  caches.forEach((c, i) => {
    const sl = slots[i]!;
    g.output(c.present!.key, { name: `present_key_${i}`, type: 'float32', shape: [BATCH, sl.heads, SEQ, sl.headDim], doc: `keys of self-attention ${i} at all T positions` });
    g.output(c.present!.value, { name: `present_value_${i}`, type: 'float32', shape: [BATCH, sl.heads, SEQ, sl.headDim], doc: `values of self-attention ${i} at all T positions` });
  });
  return g;
}

function clsHead(model: FLMModel, name: 'vqa' | 'rank'): OnnxGraph {
  const g = new OnnxGraph(name, name === 'vqa' ? 'VQA answer logits of an flm model' : 'image-text match score (rank head) of an flm retrieval model', ['logits', 'score']);
  const e = new ModuleEmitter(g, model);
  const embeds = g.input(imageEmbedsIO(model, 'image_embeds', EMBEDS_DOC));
  const ids = g.input(IDS);
  const mask = g.input(MASK);
  const cls = clsFeats(e, model, imageTokens(e, model, embeds, 1), ids, mask);
  if (name === 'vqa') {
    const classes = model.vqa_classifier!.l3.weight.shape[0]!;
    g.output(e.classifierMlp(model.vqa_classifier!, cls), { name: 'logits', type: 'float32', shape: [BATCH, classes], doc: 'one logit per answer of the answer vocabulary (sigmoid: the score)' });
  } else {
    const s = e.rankOutput(model.rank_output!, cls); // [B, 1]
    g.output(g.op('Gather', [s, g.constI(0)], { axis: { i: 1 } }, 'score'), { name: 'score', type: 'float32', shape: [BATCH], doc: 'rank_output(cls_feats): higher is a better match' });
  }
  return g;
}

function nlvr2(model: FLMModel): OnnxGraph {
  const g = new OnnxGraph('nlvr2', 'NLVR2 logits (False, True) of an flm model for a statement about a pair of images', ['logits']);
  const e = new ModuleEmitter(g, model);
  const left = g.input(imageEmbedsIO(model, 'image_embeds_0', `${EMBEDS_DOC} (left image)`));
  const right = g.input(imageEmbedsIO(model, 'image_embeds_1', `${EMBEDS_DOC} (right image)`));
  const ids = g.input(IDS);
  const mask = g.input(MASK);
  const cls0 = clsFeats(e, model, imageTokens(e, model, left, 1), ids, mask);
  const cls1 = clsFeats(e, model, imageTokens(e, model, right, 2), ids, mask);
  const both = g.op('Concat', [cls0, cls1], { axis: { i: -1 } }, 'nlvr2/cls');
  g.output(e.classifierMlp(model.nlvr2_classifier!, both), { name: 'logits', type: 'float32', shape: [BATCH, 2], doc: 'logits of (False, True); softmax gives the probability' });
  return g;
}

/** The graphs of a task's model, in the order they run; an OnnxExportError when the model lacks the task's head. */
export function taskGraphs(model: FLMModel, task: string): OnnxGraph[] {
  if (!(model instanceof FLMModel)) throw new OnnxExportError('the ONNX export writes three-stream FLM models (fine-tuned task models); this is a single-stream model');
  model.eval();
  const need = (ok: unknown, head: string): void => {
    if (!ok) throw new OnnxExportError(`the ${task} model has no ${head} head: the checkpoint does not match its task`);
  };
  switch (task) {
    case 'caption':
      return [imageEncoder(model), captionStep(model)];
    case 'vqa':
      if (!model.vqa_classifier && model.lm_score) {
        throw new OnnxExportError('this VQA model was fine-tuned with --answer-head lm: it answers with its language model, which the ONNX export does not write; fine-tune with --answer-head classifier (the default) to export a VQA model');
      }
      need(model.vqa_classifier, 'vqa_classifier');
      return [imageEncoder(model), clsHead(model, 'vqa')];
    case 'retrieval':
      if (!model.rank_output && model.lm_score_r) {
        throw new OnnxExportError('this retrieval model was fine-tuned with --scorer loss: it ranks by its FLM pretraining loss, which the ONNX export does not write; fine-tune with --scorer rank (the default) to export a retrieval model');
      }
      need(model.rank_output, 'rank_output');
      return [imageEncoder(model), clsHead(model, 'rank')];
    case 'nlvr2':
      need(model.nlvr2_classifier, 'nlvr2_classifier');
      return [imageEncoder(model), nlvr2(model)];
    case 'pretrain':
      throw new OnnxExportError('a pretraining model scores pairs by its pretraining loss, which the ONNX export does not write: fine-tune it first (flm finetune caption | vqa | retrieval | nlvr2 --from RUN)');
    default:
      throw new OnnxExportError(`the ONNX export knows the tasks caption, vqa, retrieval and nlvr2, not '${task}'`);
  }
}
