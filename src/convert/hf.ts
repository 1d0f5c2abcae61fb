// Hugging Face encoder weights -> official FLM names (pure name/shape mapping; no model involved).
//
// CLIP vision (CLIPVisionModel / CLIPModel safetensors; with or without a `clip.` / `vision_model.`
// prefix; the OpenAI / open_clip `visual.*` layout is accepted too):
//   embeddings.class_embedding             -> vit_model.visual.class_embedding
//   embeddings.patch_embedding.weight      -> vit_model.visual.conv1.weight            (no bias in either)
//   embeddings.position_embedding.weight   -> vit_model.visual.positional_embedding   (bicubic resize, B.1)
//   pre_layrnorm.* (sic) / post_layernorm.* -> ln_pre.* / ln_post.*
//   encoder.layers.N.self_attn.{q,k,v}_proj -> transformer.resblocks.N.attn.in_proj_{weight,bias} = cat(q, k, v)
//   ...self_attn.out_proj / layer_norm1 / mlp.fc1 / mlp.fc2 / layer_norm2
//                                           -> attn.out_proj / ln_1 / mlp.c_fc / mlp.c_proj / ln_2
//   blocks N >= vit_arch.num_resblocks are dropped (the official model runs 11 of ViT-B/32's 12).
//   (HF scales q after q_proj, nn.MultiheadAttention after the packed in-projection: the same thing.)
//   CLIPModel's text tower only feeds the unused vit_model.positional_embedding / ln_final.
//
// RoBERTa / BERT (RobertaModel, RobertaForMaskedLM, BertModel, ...; with or without `roberta.` / `bert.`):
//   embeddings.*, encoder.layer.N.* (N < num_bottom_layer), pooler.dense.* -> text_transformer.*
//   Task heads (lm_head, cls, classifier) are dropped: FLM's heads start fresh (spec B.0).
import { F, Tensor, noGrad, tidy } from '../tensor/index.js';
import { resizePositionalEmbedding } from '../models/clip-vit.js';
import type { TextEncoderArch, VitArch } from '../models/config.js';
import { ConvertError } from '../io/weights-file.js';

export interface HfMapped {
  /** official names -> new float32 tensors (the caller frees them) */
  tensors: Map<string, Tensor>;
  /** official name -> the file's name(s) it was made from (for error messages) */
  origin: Map<string, string>;
  /** file tensors deliberately left out, grouped by reason */
  dropped: string[];
  /** tensors reshaped on the way (positional-embedding resize, token-type rows) */
  resized: string[];
  notes: string[];
}

/** Groups dropped names by reason: 'reason: N tensors (a, b, c, ...)'. */
class Dropped {
  readonly #by = new Map<string, string[]>();
  add(why: string, name: string): void {
    const l = this.#by.get(why) ?? [];
    l.push(name);
    this.#by.set(why, l);
  }
  list(): string[] {
    return [...this.#by].map(([why, ns]) => `${why}: ${ns.length} tensor${ns.length === 1 ? '' : 's'} (${ns.slice(0, 3).join(', ')}${ns.length > 3 ? ', ...' : ''})`);
  }
}

/** A file's tensors under normalised names, remembering the original names. */
class Named {
  constructor(readonly file: string, readonly byName: Map<string, { orig: string; t: Tensor }>) {}
  has(n: string): boolean {
    return this.byName.has(n);
  }
  get(n: string, expectedOrig: string): Tensor {
    const e = this.byName.get(n);
    if (!e) throw new ConvertError(`${this.file}: missing tensor '${expectedOrig}'`);
    return e.t;
  }
  orig(n: string): string {
    return this.byName.get(n)?.orig ?? n;
  }
  count(re: RegExp): number {
    let max = -1;
    for (const n of this.byName.keys()) {
      const m = re.exec(n);
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max + 1;
  }
}

const f32 = (t: Tensor): Tensor => noGrad(() => t.to('float32', { copy: true }));
const shapeStr = (t: Tensor): string => `[${t.shape.join(', ')}]`;

// ------------------------------------------------------------------------------------------ CLIP
export interface ClipInfo {
  format: 'hf' | 'openai';
  width: number;
  patch: number;
  layers: number;
  mlpWidth: number;
  /** rows of the file's positional table (1 + grid^2) */
  positions: number;
}

interface ClipParsed {
  info: ClipInfo;
  vision: Named;
  /** text-side tensors (CLIPModel only), normalised names */
  text: Named;
  other: string[];
  /** how the file spells the vision names, for messages */
  prefix: string;
}

function parseClip(src: Map<string, Tensor>, file: string): ClipParsed {
  const vision = new Map<string, { orig: string; t: Tensor }>();
  const text = new Map<string, { orig: string; t: Tensor }>();
  const other: string[] = [];
  const names = [...src.keys()].map((o) => ({ o, n: o.startsWith('clip.') ? o.slice(5) : o }));
  const openai = names.some(({ n }) => n === 'visual.conv1.weight');
  const hasVisionPrefix = names.some(({ n }) => n.startsWith('vision_model.'));
  const BARE_VISION = /^(embeddings\.|encoder\.layers\.|pre_layrnorm\.|pre_layernorm\.|post_layernorm\.)/;
  for (const { o, n } of names) {
    const t = src.get(o)!;
    if (openai) {
      if (n.startsWith('visual.')) vision.set(n.slice(7), { orig: o, t });
      else text.set(n, { orig: o, t });
    } else if (n.startsWith('vision_model.')) vision.set(n.slice(13), { orig: o, t });
    else if (n.startsWith('text_model.')) text.set(n.slice(11), { orig: o, t });
    else if (!hasVisionPrefix && BARE_VISION.test(n)) vision.set(n, { orig: o, t });
    else other.push(o);
  }
  const v = new Named(file, vision);
  const convName = openai ? 'conv1.weight' : 'embeddings.patch_embedding.weight';
  const posName = openai ? 'positional_embedding' : 'embeddings.position_embedding.weight';
  if (!v.has(convName)) {
    const first = [...src.keys()].slice(0, 4).join(', ');
    throw new ConvertError(`${file}: no CLIP vision weights (expected vision_model.embeddings.patch_embedding.weight, or visual.conv1.weight; the file starts with ${first || 'nothing'})`);
  }
  const conv = v.get(convName, convName);
  if (conv.ndim !== 4 || conv.shape[1] !== 3 || conv.shape[2] !== conv.shape[3]) {
    throw new ConvertError(`${file}: ${v.orig(convName)} has shape ${shapeStr(conv)}, expected [width, 3, patch, patch]`);
  }
  const origConv = v.orig(convName);
  const prefix = origConv.slice(0, origConv.length - convName.length);
  const layerRe = openai ? /^transformer\.resblocks\.(\d+)\./ : /^encoder\.layers\.(\d+)\./;
  const fc1 = openai ? 'transformer.resblocks.0.mlp.c_fc.weight' : 'encoder.layers.0.mlp.fc1.weight';
  const info: ClipInfo = {
    format: openai ? 'openai' : 'hf',
    width: conv.shape[0]!,
    patch: conv.shape[2]!,
    layers: v.count(layerRe),
    mlpWidth: v.has(fc1) ? v.get(fc1, fc1).shape[0]! : 4 * conv.shape[0]!,
    positions: v.has(posName) ? v.get(posName, posName).shape[0]! : 0,
  };
  return { info, vision: v, text: new Named(file, text), other, prefix };
}

/** Sizes of a CLIP vision file (to build or check the model config before mapping). */
export function inspectClipVision(src: Map<string, Tensor>, file: string): ClipInfo {
  return parseClip(src, file).info;
}

/** Maps a CLIP vision state dict onto vit_model.* for a tower of shape `arch` (see the file comment). */
export function mapClipVision(src: Map<string, Tensor>, arch: VitArch, file: string): HfMapped {
  const p = parseClip(src, file);
  const { info, vision: v } = p;
  if (info.width !== arch.width || info.patch !== arch.patch_size) {
    throw new ConvertError(`${file}: a CLIP tower of width ${info.width} and patch ${info.patch} (${p.prefix}${info.format === 'hf' ? 'embeddings.patch_embedding.weight' : 'conv1.weight'}), but the model's vit_arch has width ${arch.width} and patch ${arch.patch_size}: pick the preset that matches (base for ViT-B/32)`);
  }
  if ((arch.conv_stem ?? []).length > 0) {
    throw new ConvertError(`${file}: the model's image tower has a convolutional stem (vit_arch.conv_stem), which CLIP has not: pick a preset without one (base for ViT-B/32)`);
  }
  if (info.layers < arch.num_resblocks) {
    throw new ConvertError(`${file}: ${info.layers} CLIP blocks, but the model runs ${arch.num_resblocks} (vit_arch.num_resblocks)`);
  }
  const out = new Map<string, Tensor>();
  const origin = new Map<string, string>();
  const dropped = new Dropped();
  const resized: string[] = [];
  const notes: string[] = [];
  const used = new Set<string>();
  const name = (n: string): string => p.prefix + n;
  try {
    const put = (target: string, n: string | string[]): void => {
      const ns = Array.isArray(n) ? n : [n];
      const ts = ns.map((x) => v.get(x, name(x)));
      ns.forEach((x) => used.add(x));
      out.set(target, ts.length === 1 ? f32(ts[0]!) : tidy(() => F.cat(ts.map((t) => t.to('float32')), 0)));
      origin.set(target, ns.map((x) => v.orig(x)).join(' + '));
    };
    const V = 'vit_model.visual.';
    const hf = info.format === 'hf';
    put(`${V}class_embedding`, hf ? 'embeddings.class_embedding' : 'class_embedding');
    put(`${V}conv1.weight`, hf ? 'embeddings.patch_embedding.weight' : 'conv1.weight');
    put(`${V}positional_embedding`, hf ? 'embeddings.position_embedding.weight' : 'positional_embedding');
    const pre = hf ? (v.has('pre_layrnorm.weight') ? 'pre_layrnorm' : 'pre_layernorm') : 'ln_pre';
    for (const s of ['weight', 'bias']) {
      put(`${V}ln_pre.${s}`, `${pre}.${s}`);
      put(`${V}ln_post.${s}`, hf ? `post_layernorm.${s}` : `ln_post.${s}`);
    }
    for (let i = 0; i < arch.num_resblocks; i++) {
      const T = `${V}transformer.resblocks.${i}.`;
      if (hf) {
        const L = `encoder.layers.${i}.`;
        for (const s of ['weight', 'bias']) {
          put(`${T}attn.in_proj_${s}`, ['q', 'k', 'v'].map((x) => `${L}self_attn.${x}_proj.${s}`));
          put(`${T}attn.out_proj.${s}`, `${L}self_attn.out_proj.${s}`);
          put(`${T}ln_1.${s}`, `${L}layer_norm1.${s}`);
          put(`${T}mlp.c_fc.${s}`, `${L}mlp.fc1.${s}`);
          put(`${T}mlp.c_proj.${s}`, `${L}mlp.fc2.${s}`);
          put(`${T}ln_2.${s}`, `${L}layer_norm2.${s}`);
        }
      } else {
        const L = `transformer.resblocks.${i}.`;
        for (const s of ['attn.in_proj_weight', 'attn.in_proj_bias', ...['attn.out_proj', 'ln_1', 'mlp.c_fc', 'mlp.c_proj', 'ln_2'].flatMap((m) => [`${m}.weight`, `${m}.bias`])]) put(`${T}${s}`, `${L}${s}`);
      }
    }
    // positional embedding: the file's grid -> the model's (spec B.1 adapt_position_encoding)
    const grid = arch.image_size / arch.patch_size;
    const pe = out.get(`${V}positional_embedding`)!;
    if (pe.ndim !== 2 || pe.shape[1] !== arch.width) throw new ConvertError(`${file}: ${origin.get(`${V}positional_embedding`)} has shape ${shapeStr(pe)}, expected [1 + grid^2, ${arch.width}]`);
    if (pe.shape[0] !== grid * grid + 1) {
      let r: Tensor;
      try {
        r = tidy(() => resizePositionalEmbedding(pe, grid)); // tidy: frees its temporaries
      } catch (e) {
        throw new ConvertError(`${file}: ${origin.get(`${V}positional_embedding`)}: ${(e as Error).message}`);
      }
      resized.push(`${V}positional_embedding: [${pe.shape}] -> [${r.shape}] (bicubic, grid ${Math.round(Math.sqrt(pe.shape[0]! - 1))} -> ${grid} for image size ${arch.image_size})`);
      pe.dispose();
      out.set(`${V}positional_embedding`, r);
    }
    // CLIPModel's text side feeds the two unused text-side tensors the official module still has
    const textPos = hf ? 'embeddings.position_embedding.weight' : 'positional_embedding';
    const lnFinal = hf ? 'final_layer_norm' : 'ln_final';
    const pos = p.text.has(textPos) ? p.text.get(textPos, textPos) : null;
    const textUsed = new Set<string>();
    if (pos && pos.ndim === 2 && pos.shape[0] === arch.clip_context_length && pos.shape[1] === arch.clip_text_width) {
      out.set('vit_model.positional_embedding', f32(pos));
      origin.set('vit_model.positional_embedding', p.text.orig(textPos));
      textUsed.add(textPos);
      for (const s of ['weight', 'bias']) {
        if (!p.text.has(`${lnFinal}.${s}`)) continue;
        out.set(`vit_model.ln_final.${s}`, f32(p.text.get(`${lnFinal}.${s}`, '')));
        origin.set(`vit_model.ln_final.${s}`, p.text.orig(`${lnFinal}.${s}`));
        textUsed.add(`${lnFinal}.${s}`);
      }
    } else notes.push('vit_model.positional_embedding and vit_model.ln_final (CLIP text side, unused by FLM) keep their fresh init');
    for (const [n, e] of v.byName) {
      if (used.has(n)) continue;
      const m = /^(?:encoder\.layers|transformer\.resblocks)\.(\d+)\./.exec(n);
      if (m && Number(m[1]) >= arch.num_resblocks) dropped.add(`CLIP blocks beyond vit_arch.num_resblocks = ${arch.num_resblocks} (the official model runs layers - 1)`, e.orig);
      else if (n.endsWith('position_ids')) dropped.add('position_ids buffers (regenerated)', e.orig);
      else if (n === 'proj') dropped.add('CLIP visual projection (FLM uses none)', e.orig);
      else dropped.add('unrecognised CLIP vision tensors', e.orig);
    }
    for (const [n, e] of p.text.byName) if (!textUsed.has(n)) dropped.add('CLIP text tower (not part of FLM)', e.orig);
    for (const o of p.other) dropped.add('CLIP projections / logit scale and other non-vision tensors', o);
    return { tensors: out, origin, dropped: dropped.list(), resized, notes };
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
}

// ------------------------------------------------------------------------------------------ text
export interface TextInfo {
  family: 'roberta' | 'bert';
  vocab: number;
  hidden: number;
  maxPositions: number;
  typeRows: number;
  intermediate: number;
  layers: number;
}

const LAYER_KEYS = [
  'attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'attention.output.LayerNorm',
  'intermediate.dense', 'output.dense', 'output.LayerNorm',
].flatMap((m) => [`${m}.weight`, `${m}.bias`]);

/**
 * What loading BERT weights into flm's RoBERTa-style embeddings means (spec B.2): the weights load by
 * name, but the positions they were trained with do not match the ones flm feeds them.
 */
export function bertPositionNote(pad: number): string {
  return 'BERT weights load by name, but BERT was trained with arange positions 0..L-1 while flm derives RoBERTa-style positions from the ids ' +
    `(pad_token_id + 1 + j for the j-th real token, pad_token_id = ${pad} for pads; spec B.2). So every real token reads the position row ` +
    `${pad + 1} further on than BERT did, rows 0..${pad} are never read for real tokens, pads are recognised by pad_token_id (BERT pads with 0), ` +
    `and at most max_position_embeddings - ${pad + 1} tokens fit. The result is a BERT-initialised encoder that needs training, not a faithful BERT ` +
    '(BERT also uses LayerNorm eps 1e-12: text_encoder_arch.layer_norm_eps should say so).';
}

interface TextParsed {
  info: TextInfo;
  named: Named;
  other: string[];
  prefix: string;
}

function parseText(src: Map<string, Tensor>, file: string): TextParsed {
  const names = [...src.keys()];
  const prefixed = (p: string): boolean => names.some((n) => n.startsWith(`${p}embeddings.word_embeddings.weight`));
  const prefix = prefixed('roberta.') ? 'roberta.' : prefixed('bert.') ? 'bert.' : prefixed('') ? '' : null;
  if (prefix === null) {
    throw new ConvertError(`${file}: no RoBERTa / BERT weights (expected roberta.embeddings.word_embeddings.weight, bert.embeddings..., or embeddings.word_embeddings.weight; the file starts with ${names.slice(0, 4).join(', ') || 'nothing'})`);
  }
  const byName = new Map<string, { orig: string; t: Tensor }>();
  const other: string[] = [];
  for (const o of names) {
    if (!o.startsWith(prefix)) {
      other.push(o);
      continue;
    }
    // TF-era BERT checkpoints call the LayerNorm parameters gamma / beta
    const n = o.slice(prefix.length).replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    byName.set(n, { orig: o, t: src.get(o)! });
  }
  const named = new Named(file, byName);
  const word = named.get('embeddings.word_embeddings.weight', `${prefix}embeddings.word_embeddings.weight`);
  const pos = named.get('embeddings.position_embeddings.weight', `${prefix}embeddings.position_embeddings.weight`);
  const types = named.has('embeddings.token_type_embeddings.weight') ? named.get('embeddings.token_type_embeddings.weight', '').shape[0]! : 1;
  const inter = named.has('encoder.layer.0.intermediate.dense.weight') ? named.get('encoder.layer.0.intermediate.dense.weight', '').shape[0]! : 4 * word.shape[1]!;
  const family = prefix === 'roberta.' ? 'roberta' : prefix === 'bert.' ? 'bert' : types > 1 ? 'bert' : 'roberta';
  const info: TextInfo = {
    family, vocab: word.shape[0]!, hidden: word.shape[1]!, maxPositions: pos.shape[0]!, typeRows: types, intermediate: inter,
    layers: named.count(/^encoder\.layer\.(\d+)\./),
  };
  return { info, named, other, prefix };
}

/** Sizes of a RoBERTa / BERT file (to build or check the model config before mapping). */
export function inspectText(src: Map<string, Tensor>, file: string): TextInfo {
  return parseText(src, file).info;
}

/**
 * Maps RoBERTa / BERT weights onto text_transformer.* for an encoder of shape `arch` with `numLayers`
 * layers (the first ones of the file). Position ids are not part of the weights: flm's embeddings
 * derive them RoBERTa-style from the ids (padding_idx = pad_token_id), see bertPositionNote.
 */
export function mapText(src: Map<string, Tensor>, arch: TextEncoderArch, numLayers: number, file: string): HfMapped {
  const p = parseText(src, file);
  const { info, named: n } = p;
  const want = `vocabulary ${arch.vocab_size}, width ${arch.hidden_size}, ${arch.max_position_embeddings} positions`;
  if (info.hidden !== arch.hidden_size || info.vocab !== arch.vocab_size || info.maxPositions !== arch.max_position_embeddings) {
    throw new ConvertError(`${file}: ${p.prefix}embeddings has vocabulary ${info.vocab}, width ${info.hidden}, ${info.maxPositions} positions, but the model's text encoder has ${want}`);
  }
  if (info.layers < numLayers) throw new ConvertError(`${file}: ${info.layers} ${info.family} layers, but the model needs ${numLayers} (num_bottom_layer)`);
  const out = new Map<string, Tensor>();
  const origin = new Map<string, string>();
  const dropped = new Dropped();
  const resized: string[] = [];
  const notes: string[] = [];
  const used = new Set<string>();
  try {
    const put = (target: string, name: string, required = true): void => {
      if (!required && !n.has(name)) return;
      const t = n.get(name, p.prefix + name);
      used.add(name);
      out.set(`text_transformer.${target}`, f32(t));
      origin.set(`text_transformer.${target}`, n.orig(name));
    };
    for (const k of ['word_embeddings.weight', 'position_embeddings.weight', 'LayerNorm.weight', 'LayerNorm.bias']) put(`embeddings.${k}`, `embeddings.${k}`);
    const tt = 'embeddings.token_type_embeddings.weight';
    if (n.has(tt)) {
      const t = n.get(tt, tt);
      used.add(tt);
      const target = 'text_transformer.embeddings.token_type_embeddings.weight';
      if (t.shape[0]! > arch.type_vocab_size) {
        out.set(target, noGrad(() => tidy(() => t.slice(0, 0, arch.type_vocab_size).to('float32', { copy: true }))));
        resized.push(`${target}: kept the first ${arch.type_vocab_size} of ${t.shape[0]} rows of ${n.orig(tt)} (flm embeds every token as type 0)`);
      } else out.set(target, f32(t));
      origin.set(target, n.orig(tt));
    } else notes.push('no token_type_embeddings in the file: text_transformer.embeddings.token_type_embeddings keeps its fresh init');
    for (let i = 0; i < numLayers; i++) for (const k of LAYER_KEYS) put(`encoder.layer.${i}.${k}`, `encoder.layer.${i}.${k}`);
    put('pooler.dense.weight', 'pooler.dense.weight', false);
    put('pooler.dense.bias', 'pooler.dense.bias', false);
    if (!used.has('pooler.dense.weight')) notes.push('no pooler in the file: text_transformer.pooler (unused by FLM) keeps its fresh init');
    for (const [name, e] of n.byName) {
      if (used.has(name)) continue;
      const m = /^encoder\.layer\.(\d+)\./.exec(name);
      if (m && Number(m[1]) >= numLayers) dropped.add(`${info.family} layers beyond num_bottom_layer = ${numLayers} (FLM's cross-modal layers start fresh, spec B.0)`, e.orig);
      else if (name.endsWith('position_ids')) dropped.add('position_ids buffers (flm derives positions from the ids)', e.orig);
      else dropped.add(`unrecognised ${info.family} tensors`, e.orig);
    }
    for (const o of p.other) dropped.add('task heads and other tensors outside the encoder (FLM\'s heads start fresh)', o);
    notes.push(info.family === 'bert'
      ? bertPositionNote(arch.pad_token_id)
      : 'RoBERTa positions: flm derives them from the ids exactly as RoBERTa does (padding_idx = pad_token_id)');
    return { tensors: out, origin, dropped: dropped.list(), resized, notes };
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
}
