// Model configuration: plain data objects with the official FLM config keys (flm/config.py), plus
// `vit_arch` and `text_encoder_arch`, which spell out what the official code takes from the pretrained
// CLIP / roberta-base checkpoints. The layout is exactly the `config` objects of
// fixtures/flm-tiny/config.json (and shared/reference/flmref/presets.py).
//
// validateConfig() checks every key (unknown, missing, wrong type, bad value) and every cross-key
// constraint the official forward relies on, and throws a ConfigError listing all problems at once.

export class ConfigError extends Error {
  constructor(message: string, readonly problems: string[] = [message]) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The CLIP visual tower (METER-style; `num_resblocks` = blocks built AND run, see spec B.1). */
export interface VitArch {
  image_size: number;
  patch_size: number;
  width: number;
  num_resblocks: number;
  heads: number;
  layer_norm_eps: number;
  mlp_width: number;
  /** rows of the unused text-side `vit_model.positional_embedding` (kept for key fidelity) */
  clip_context_length: number;
  /** width of the unused text-side `vit_model.positional_embedding` / `vit_model.ln_final` */
  clip_text_width: number;
  /**
   * Not in CLIP: the output channels of 3x3 stride-2 convolutions (each + GELU) run before the patch
   * projection, which then strides patch_size / 2^k pixels of their output with a kernel one wider and
   * padding 1 (absent or []: CLIP's plain patch embedding). A small tower trained from scratch learns
   * shapes far sooner with it.
   */
  conv_stem?: number[];
}

/** The RoBERTa text encoder (stand-in for roberta-base's config.json). */
export interface TextEncoderArch {
  vocab_size: number;
  hidden_size: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  pad_token_id: number;
  layer_norm_eps: number;
  hidden_act: 'gelu';
}

export const LOSS_NAMES = ['itm', 'mlm', 'ar', 'flm', 'vqa', 'nlvr2', 'irtr'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

export interface FLMConfig {
  tokenizer: string;
  vocab_size: number;
  hidden_size: number;
  hidden_size_for_fusion: number;
  num_heads: number;
  num_heads_fusion: number;
  mlp_ratio: number;
  num_top_layer: number;
  num_bottom_layer: number;
  num_reconstructor_bottom_layer: number;
  num_reconstructor_top_layer: number;
  max_text_len: number;
  image_size: number;
  patch_size: number;
  input_image_embed_size: number;
  input_text_embed_size: number;
  drop_rate: number;
  vit: string;
  text_encoder_from_scratch: boolean;
  add_new_bos_token: boolean;
  full_att_mask: boolean;
  full_att_mask_for_eval: boolean;
  random_flm_mask: boolean;
  only_use_cls_for_flm: boolean;
  flm_mask_prob: number;
  disable_flm_shuffle: boolean;
  share_lm_scorer_weights: boolean;
  enable_flm_aux_lm_loss: boolean;
  flm_aux_lm_loss_l2r_weight: number;
  flm_aux_lm_loss_r2l_weight: number;
  cross_layer_norm_eps: number;
  lm_ignore_index: number;
  mlm_ignore_index: number;
  image_token_type_idx: number;
  vit_arch: VitArch;
  text_encoder_arch: TextEncoderArch;
  is_causal_mask: boolean;
  causal_mask_w_post_cls: boolean;
  flm_backbone: boolean;
  span_corruption_rate: number;
  loss_names: Record<LossName, number>;
  /** VQA answer vocabulary (official `vqa_label_size`); only read when loss_names.vqa > 0. Default 3129. */
  vqa_label_size?: number;
}

// ------------------------------------------------------------------------------------------ validation
type Kind = 'int+' | 'int0' | 'int' | 'num+' | 'num0' | 'prob' | 'rate' | 'bool' | 'str';

const VIT_KEYS: Record<Exclude<keyof VitArch, 'conv_stem'>, Kind> = {
  image_size: 'int+', patch_size: 'int+', width: 'int+', num_resblocks: 'int0', heads: 'int+',
  layer_norm_eps: 'num+', mlp_width: 'int+', clip_context_length: 'int+', clip_text_width: 'int+',
};
const TEXT_KEYS: Record<keyof TextEncoderArch, Kind> = {
  vocab_size: 'int+', hidden_size: 'int+', num_attention_heads: 'int+', intermediate_size: 'int+',
  max_position_embeddings: 'int+', type_vocab_size: 'int+', pad_token_id: 'int0', layer_norm_eps: 'num+', hidden_act: 'str',
};
type ScalarKey = Exclude<keyof FLMConfig, 'vit_arch' | 'text_encoder_arch' | 'loss_names' | 'vqa_label_size'>;
const TOP_KEYS: Record<ScalarKey, Kind> = {
  tokenizer: 'str', vocab_size: 'int+', hidden_size: 'int+', hidden_size_for_fusion: 'int+', num_heads: 'int+',
  num_heads_fusion: 'int+', mlp_ratio: 'int+', num_top_layer: 'int+', num_bottom_layer: 'int+',
  num_reconstructor_bottom_layer: 'int0', num_reconstructor_top_layer: 'int0', max_text_len: 'int+',
  image_size: 'int+', patch_size: 'int+', input_image_embed_size: 'int+', input_text_embed_size: 'int+',
  drop_rate: 'prob', vit: 'str', text_encoder_from_scratch: 'bool', add_new_bos_token: 'bool',
  full_att_mask: 'bool', full_att_mask_for_eval: 'bool', random_flm_mask: 'bool', only_use_cls_for_flm: 'bool',
  flm_mask_prob: 'rate', disable_flm_shuffle: 'bool', share_lm_scorer_weights: 'bool', enable_flm_aux_lm_loss: 'bool',
  flm_aux_lm_loss_l2r_weight: 'num0', flm_aux_lm_loss_r2l_weight: 'num0', cross_layer_norm_eps: 'num+',
  lm_ignore_index: 'int', mlm_ignore_index: 'int', image_token_type_idx: 'int0', is_causal_mask: 'bool',
  causal_mask_w_post_cls: 'bool', flm_backbone: 'bool', span_corruption_rate: 'rate',
};

function checkValue(kind: Kind, v: unknown): string | null {
  const isNum = typeof v === 'number' && Number.isFinite(v);
  switch (kind) {
    case 'int+': return isNum && Number.isInteger(v) && v > 0 ? null : 'must be a positive integer';
    case 'int0': return isNum && Number.isInteger(v) && v >= 0 ? null : 'must be a non-negative integer';
    case 'int': return isNum && Number.isInteger(v) ? null : 'must be an integer';
    case 'num+': return isNum && v > 0 ? null : 'must be a positive number';
    case 'num0': return isNum && v >= 0 ? null : 'must be a non-negative number';
    case 'prob': return isNum && v >= 0 && v < 1 ? null : 'must be a number in [0, 1)';
    case 'rate': return isNum && v >= 0 && v <= 1 ? null : 'must be a number in [0, 1]';
    case 'bool': return typeof v === 'boolean' ? null : 'must be a boolean';
    case 'str': return typeof v === 'string' ? null : 'must be a string';
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkSection(where: string, raw: unknown, keys: Record<string, Kind>, problems: string[]): void {
  if (!isPlainObject(raw)) {
    problems.push(`${where}: must be an object`);
    return;
  }
  for (const k of Object.keys(raw)) if (!(k in keys)) problems.push(`${where}.${k}: unknown key`);
  for (const [k, kind] of Object.entries(keys)) {
    if (!(k in raw)) {
      problems.push(`${where}.${k}: missing`);
      continue;
    }
    const err = checkValue(kind, raw[k]);
    if (err) problems.push(`${where}.${k}: ${err} (got ${JSON.stringify(raw[k])})`);
  }
}

/**
 * Checks a raw config (e.g. `models.flm.config` of a fixture's config.json) and returns it as a typed,
 * deep-copied FLMConfig. Throws ConfigError listing every problem.
 */
export function validateConfig(raw: unknown, where = 'config'): FLMConfig {
  const problems: string[] = [];
  if (!isPlainObject(raw)) throw new ConfigError(`${where}: must be an object`);
  for (const k of Object.keys(raw)) {
    if (!(k in TOP_KEYS) && !['vit_arch', 'text_encoder_arch', 'loss_names', 'vqa_label_size'].includes(k)) problems.push(`${where}.${k}: unknown key`);
  }
  for (const [k, kind] of Object.entries(TOP_KEYS)) {
    if (!(k in raw)) problems.push(`${where}.${k}: missing`);
    else {
      const err = checkValue(kind, raw[k]);
      if (err) problems.push(`${where}.${k}: ${err} (got ${JSON.stringify(raw[k])})`);
    }
  }
  if ('vqa_label_size' in raw) {
    const err = checkValue('int+', raw.vqa_label_size);
    if (err) problems.push(`${where}.vqa_label_size: ${err}`);
  }
  const { conv_stem: stem, ...vit } = isPlainObject(raw.vit_arch) ? raw.vit_arch : { conv_stem: undefined };
  checkSection(`${where}.vit_arch`, isPlainObject(raw.vit_arch) ? vit : raw.vit_arch, VIT_KEYS, problems);
  if (stem !== undefined && !(Array.isArray(stem) && stem.every((ch) => checkValue('int+', ch) === null))) {
    problems.push(`${where}.vit_arch.conv_stem: must be a list of positive integers (channels), got ${JSON.stringify(stem)}`);
  }
  checkSection(`${where}.text_encoder_arch`, raw.text_encoder_arch, TEXT_KEYS, problems);
  if (!isPlainObject(raw.loss_names)) problems.push(`${where}.loss_names: must be an object`);
  else {
    for (const [k, v] of Object.entries(raw.loss_names)) {
      if (!(LOSS_NAMES as readonly string[]).includes(k)) problems.push(`${where}.loss_names.${k}: unknown loss (known: ${LOSS_NAMES.join(', ')})`);
      else if (checkValue('num0', v)) problems.push(`${where}.loss_names.${k}: must be a non-negative number (got ${JSON.stringify(v)})`);
    }
  }
  if (problems.length) throw new ConfigError(`invalid model config:\n  ${problems.join('\n  ')}`, problems);

  // Types are right from here on; copy so the caller's object can't alias ours.
  const c = JSON.parse(JSON.stringify(raw)) as FLMConfig;
  const losses = c.loss_names as Partial<Record<LossName, number>>;
  c.loss_names = Object.fromEntries(LOSS_NAMES.map((n) => [n, losses[n] ?? 0])) as Record<LossName, number>;
  crossChecks(c, where, problems);
  if (problems.length) throw new ConfigError(`invalid model config:\n  ${problems.join('\n  ')}`, problems);
  return c;
}

function crossChecks(c: FLMConfig, where: string, p: string[]): void {
  const v = c.vit_arch;
  const t = c.text_encoder_arch;
  const div = (a: number, b: number, what: string) => {
    if (a % b !== 0) p.push(`${where}: ${what}: ${a} is not divisible by ${b}`);
  };
  div(c.hidden_size, c.num_heads, 'hidden_size / num_heads');
  div(c.hidden_size_for_fusion, c.num_heads_fusion, 'hidden_size_for_fusion / num_heads_fusion');
  div(t.hidden_size, t.num_attention_heads, 'text_encoder_arch.hidden_size / num_attention_heads');
  div(v.width, v.heads, 'vit_arch.width / heads');
  div(c.image_size, c.patch_size, 'image_size / patch_size');
  if (t.hidden_act !== 'gelu') p.push(`${where}.text_encoder_arch.hidden_act: only 'gelu' (exact erf) is supported, got '${t.hidden_act}'`);
  // The three streams, the reconstructor and cross_modal_text_transform all share one width (run.py asserts it).
  if (c.hidden_size_for_fusion !== c.hidden_size) p.push(`${where}: hidden_size_for_fusion (${c.hidden_size_for_fusion}) must equal hidden_size (${c.hidden_size})`);
  if (c.input_text_embed_size !== t.hidden_size) p.push(`${where}: input_text_embed_size (${c.input_text_embed_size}) must equal text_encoder_arch.hidden_size (${t.hidden_size})`);
  if (c.flm_backbone && c.input_text_embed_size !== c.hidden_size) {
    p.push(`${where}: input_text_embed_size (${c.input_text_embed_size}) must equal hidden_size (${c.hidden_size}) with flm_backbone (the reconstructor reads the text encoder's output)`);
  }
  if (c.input_image_embed_size !== v.width) p.push(`${where}: input_image_embed_size (${c.input_image_embed_size}) must equal vit_arch.width (${v.width})`);
  if (c.vocab_size !== t.vocab_size) p.push(`${where}: vocab_size (${c.vocab_size}) must equal text_encoder_arch.vocab_size (${t.vocab_size})`);
  if (c.image_size !== v.image_size) p.push(`${where}: image_size (${c.image_size}) must equal vit_arch.image_size (${v.image_size}); checkpoints at another resolution are resized on load`);
  if (c.patch_size !== v.patch_size) p.push(`${where}: patch_size (${c.patch_size}) must equal vit_arch.patch_size (${v.patch_size})`);
  const stem = v.conv_stem ?? [];
  if (stem.length > 0 && v.patch_size % 2 ** stem.length !== 0) {
    p.push(`${where}: vit_arch.conv_stem has ${stem.length} stride-2 convolutions, so patch_size (${v.patch_size}) must be divisible by ${2 ** stem.length}`);
  }
  // RoBERTa positions run pad+1 .. pad+L (fusion ids keep counting over their pads).
  if (c.max_text_len + t.pad_token_id + 1 > t.max_position_embeddings) {
    p.push(`${where}: max_text_len (${c.max_text_len}) needs max_position_embeddings >= ${c.max_text_len + t.pad_token_id + 1}, got ${t.max_position_embeddings}`);
  }
  if (t.pad_token_id >= c.vocab_size) p.push(`${where}: text_encoder_arch.pad_token_id (${t.pad_token_id}) outside the vocabulary (${c.vocab_size})`);
  if (c.num_reconstructor_bottom_layer > c.num_bottom_layer) {
    p.push(`${where}: num_reconstructor_bottom_layer (${c.num_reconstructor_bottom_layer}) > num_bottom_layer (${c.num_bottom_layer})`);
  }
  if (c.num_reconstructor_top_layer > c.num_top_layer) {
    p.push(`${where}: num_reconstructor_top_layer (${c.num_reconstructor_top_layer}) > num_top_layer (${c.num_top_layer})`);
  }
  if (c.max_text_len < 2) p.push(`${where}: max_text_len must be >= 2 (<s> and </s>), got ${c.max_text_len}`);
  const types = c.loss_names.nlvr2 > 0 ? 3 : 2;
  if (c.image_token_type_idx >= types) p.push(`${where}: image_token_type_idx (${c.image_token_type_idx}) must be < ${types} (token_type_embeddings rows)`);
  if (c.loss_names.flm > 0 && !c.flm_backbone) p.push(`${where}: loss_names.flm > 0 needs flm_backbone = true`);
}

// ------------------------------------------------------------------------------------------ presets
/** The size parameters of a preset (the PRESETS dict of shared/reference/flmref/presets.py). */
export interface PresetSpec {
  /** batch size of the preset's data (fixture batch or per-step training batch) */
  batch: number;
  /** shortest caption length incl. <s>, </s> (benchmark data); fixtures use fixed lengths */
  min_text_len?: number;
  max_text_len: number;
  vocab_size: number;
  hidden: number;
  heads: number;
  heads_fusion: number;
  text_heads: number;
  num_top_layer: number;
  num_bottom_layer: number;
  num_reconstructor_bottom_layer: number;
  num_reconstructor_top_layer: number;
  image_size: number;
  patch_size: number;
  vit_width: number;
  vit_resblocks: number;
  vit_heads: number;
  /** vit_arch.conv_stem (a convolutional stem before the patch projection) */
  vit_conv_stem?: number[];
  span_corruption_rate: number;
  aux_l2r_weight: number;
  aux_r2l_weight: number;
  /** overrides for the paper-size preset (roberta-base / CLIP ViT-B/32 specifics) */
  drop_rate?: number;
  tokenizer?: string;
  vit?: string;
  max_position_embeddings?: number;
  clip_context_length?: number;
  clip_text_width?: number;
}

export type PresetName = 'tiny' | 'mini' | 'small' | 'base';

export const PRESETS: Readonly<Record<PresetName, Readonly<PresetSpec>>> = {
  // = fixtures/flm-tiny (fixed caption lengths [12, 7, 4])
  tiny: {
    batch: 3, max_text_len: 12, vocab_size: 64, hidden: 32, heads: 2, heads_fusion: 2, text_heads: 2,
    num_top_layer: 2, num_bottom_layer: 2, num_reconstructor_bottom_layer: 1, num_reconstructor_top_layer: 2,
    image_size: 32, patch_size: 8, vit_width: 32, vit_resblocks: 2, vit_heads: 2,
    span_corruption_rate: 0.5, aux_l2r_weight: 1.0, aux_r2l_weight: 1.0,
  },
  // the race size for a 2-core CPU (`flm compare`, `flm demo`): small's depth (2 + 2 text layers, 2 + 2
  // reconstructor layers) at width 128, a 2-block ViT on 48 px images (patch 8: 36 image tokens, enough
  // for the shapes world to be legible) and 32 text tokens (95% of shapes captions fit). Two stride-2
  // convolutions before the patch projection: a plain 8x8 patch embedding learns colours in a hundred steps
  // but shapes only after thousands (README, "How far the shapes-world models get"). The small
  // preset makes ~1 s steps here, too few for a race of minutes. No PyTorch-reference counterpart.
  mini: {
    batch: 32, min_text_len: 8, max_text_len: 32, vocab_size: 512, hidden: 128, heads: 4, heads_fusion: 4, text_heads: 4,
    num_top_layer: 2, num_bottom_layer: 2, num_reconstructor_bottom_layer: 2, num_reconstructor_top_layer: 2,
    image_size: 48, patch_size: 8, vit_width: 128, vit_resblocks: 2, vit_heads: 4, vit_conv_stem: [64, 128],
    span_corruption_rate: 0, aux_l2r_weight: 1.0, aux_r2l_weight: 1.0,
  },
  // the benchmark size (flm_bench.py); caption lengths uniform in 8..24
  small: {
    batch: 32, min_text_len: 8, max_text_len: 24, vocab_size: 1024, hidden: 256, heads: 4, heads_fusion: 4, text_heads: 4,
    num_top_layer: 2, num_bottom_layer: 2, num_reconstructor_bottom_layer: 2, num_reconstructor_top_layer: 2,
    image_size: 64, patch_size: 8, vit_width: 256, vit_resblocks: 4, vit_heads: 4,
    span_corruption_rate: 0.5, aux_l2r_weight: 1.0, aux_r2l_weight: 1.0,
  },
  // the paper: `flm text_roberta clip32 causal_flm`, image_size=288 (spec E.8). CLIP ViT-B/32 runs 11 of
  // its 12 blocks (B.1); batch is the effective pretraining batch; span corruption is 0 in every
  // released command (spec H.1).
  base: {
    batch: 4096, max_text_len: 50, vocab_size: 50265, hidden: 768, heads: 12, heads_fusion: 12, text_heads: 12,
    num_top_layer: 6, num_bottom_layer: 6, num_reconstructor_bottom_layer: 6, num_reconstructor_top_layer: 6,
    image_size: 288, patch_size: 32, vit_width: 768, vit_resblocks: 11, vit_heads: 12,
    span_corruption_rate: 0, aux_l2r_weight: 1.0, aux_r2l_weight: 1.0,
    drop_rate: 0.1, tokenizer: 'roberta-base', vit: 'ViT-B/32', max_position_embeddings: 514,
    clip_context_length: 77, clip_text_width: 512,
  },
};

/** Config keys shared by the FLM and the single-stream model of a preset (presets.py `_common`). */
function common(p: PresetSpec): Omit<FLMConfig, 'is_causal_mask' | 'causal_mask_w_post_cls' | 'flm_backbone' | 'span_corruption_rate' | 'loss_names'> {
  return {
    tokenizer: p.tokenizer ?? 'roberta-tiny',
    vocab_size: p.vocab_size,
    hidden_size: p.hidden,
    hidden_size_for_fusion: p.hidden,
    num_heads: p.heads,
    num_heads_fusion: p.heads_fusion,
    mlp_ratio: 4,
    num_top_layer: p.num_top_layer,
    num_bottom_layer: p.num_bottom_layer,
    num_reconstructor_bottom_layer: p.num_reconstructor_bottom_layer,
    num_reconstructor_top_layer: p.num_reconstructor_top_layer,
    max_text_len: p.max_text_len,
    image_size: p.image_size,
    patch_size: p.patch_size,
    input_image_embed_size: p.vit_width,
    input_text_embed_size: p.hidden,
    drop_rate: p.drop_rate ?? 0.0,
    vit: p.vit ?? 'tiny-clip (see vit_arch)',
    text_encoder_from_scratch: false,
    add_new_bos_token: false,
    full_att_mask: false,
    full_att_mask_for_eval: false,
    random_flm_mask: false,
    only_use_cls_for_flm: false,
    flm_mask_prob: 0.0,
    disable_flm_shuffle: false,
    share_lm_scorer_weights: true,
    enable_flm_aux_lm_loss: true,
    flm_aux_lm_loss_l2r_weight: p.aux_l2r_weight,
    flm_aux_lm_loss_r2l_weight: p.aux_r2l_weight,
    cross_layer_norm_eps: 1e-12,
    lm_ignore_index: 1,
    mlm_ignore_index: -100,
    image_token_type_idx: 1,
    vit_arch: {
      image_size: p.image_size,
      patch_size: p.patch_size,
      width: p.vit_width,
      num_resblocks: p.vit_resblocks,
      heads: p.vit_heads,
      layer_norm_eps: 1e-5,
      mlp_width: 4 * p.vit_width,
      clip_context_length: p.clip_context_length ?? 8,
      clip_text_width: p.clip_text_width ?? p.vit_width,
      ...(p.vit_conv_stem ? { conv_stem: [...p.vit_conv_stem] } : {}),
    },
    text_encoder_arch: {
      vocab_size: p.vocab_size,
      hidden_size: p.hidden,
      num_attention_heads: p.text_heads,
      intermediate_size: 4 * p.hidden,
      max_position_embeddings: p.max_position_embeddings ?? p.max_text_len + 2,
      type_vocab_size: 1,
      pad_token_id: 1,
      layer_norm_eps: 1e-5,
      hidden_act: 'gelu',
    },
  };
}

function presetSpec(p: PresetName | PresetSpec): PresetSpec {
  if (typeof p !== 'string') return p;
  const s = PRESETS[p];
  if (!s) throw new ConfigError(`unknown preset '${String(p)}' (known: ${Object.keys(PRESETS).join(', ')})`);
  return s;
}

/** The three-stream FLM model config of a preset (presets.py `flm_config`). */
export function flmConfig(preset: PresetName | PresetSpec): FLMConfig {
  const p = presetSpec(preset);
  return validateConfig({
    ...common(p),
    is_causal_mask: true,
    causal_mask_w_post_cls: true,
    flm_backbone: true,
    span_corruption_rate: p.span_corruption_rate,
    loss_names: { itm: 0, mlm: 0, ar: 0, flm: 1, vqa: 0, nlvr2: 0, irtr: 0 },
  });
}

/** The single-stream (MLM / AR / ITM) model config of a preset (presets.py `single_config`). */
export function singleConfig(preset: PresetName | PresetSpec): FLMConfig {
  const p = presetSpec(preset);
  return validateConfig({
    ...common(p),
    is_causal_mask: false,
    causal_mask_w_post_cls: false,
    flm_backbone: false,
    span_corruption_rate: 0.0,
    loss_names: { itm: 1, mlm: 1, ar: 1, flm: 0, vqa: 0, nlvr2: 0, irtr: 0 },
  });
}

export type ConfigOverrides = {
  [K in keyof FLMConfig]?: FLMConfig[K] extends object ? Partial<FLMConfig[K]> : FLMConfig[K];
};

/** A validated copy of `base` with some keys replaced (nested sections merged key by key). */
export function withOverrides(base: FLMConfig, overrides: ConfigOverrides): FLMConfig {
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(base));
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isPlainObject(v) && isPlainObject(cur) ? { ...cur, ...v } : v;
  }
  return validateConfig(out);
}

/** RoBERTa-family special ids of a config (positions as in roberta-base; `<mask>` is the last id). */
export function specialIds(c: FLMConfig): { bos: number; pad: number; eos: number; unk: number; mask: number } {
  return { bos: 0, pad: c.text_encoder_arch.pad_token_id, eos: 2, unk: 3, mask: c.vocab_size - 1 };
}
