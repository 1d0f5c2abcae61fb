// The model config an official FLM state dict is converted into (`flm convert --official`).
//
// Where it comes from, first match wins:
//   1. --model-config FILE: an FLM config (OUT/config.json of an earlier conversion, a fixture's
//      config.json, or {config: ...}); used exactly, the loader adapts the tensors to it (spec B.11).
//   2. the file's safetensors metadata: `flm_config` (written by flm convert) or `hyper_parameters`
//      (a JSON copy of Lightning's hyper_parameters; official keys are laid over the preset).
//      Lightning's hyper_parameters cannot be read from a torch.save file here: libtorch's unpickler
//      gives back tensors only (and a released .ckpt has to be re-saved as dict(state_dict) anyway).
//   3. --preset: its sizes, heads, eps and image size, with the structure the tensors show laid over
//      it: layer counts, vocabulary, positions, MLP widths, heads present (loss_names), VQA answers,
//      and which model (three-stream when text_transformer2.* / fusion_layers_* exist).
// Widths that disagree with the preset are errors naming the preset that fits.
import { existsSync, readFileSync } from 'node:fs';
import { Tensor } from '../tensor/index.js';
import {
  ConfigError, LOSS_NAMES, PRESETS, flmConfig, singleConfig, validateConfig,
  type FLMConfig, type LossName, type PresetName,
} from '../models/config.js';
import { patchProjection } from '../models/clip-vit.js';
import { ConvertError, type WeightsFile } from '../io/weights-file.js';

export interface ResolvedConfig {
  config: FLMConfig;
  /** 'preset base', 'config file X', 'X metadata (flm_config)', ... */
  source: string;
  /** what the tensors changed relative to the preset */
  notes: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function wrapConfigError<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError) throw new ConvertError(`${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Reads a model config file: a bare FLM config, `{config: ...}`, or a fixture config.json
 * (`models.flm.config` / `models.single.config`, picked by `threeStream`).
 */
export function readModelConfigFile(path: string, threeStream = true): FLMConfig {
  if (!existsSync(path)) throw new ConvertError(`${path}: no such model config file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConvertError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (isObject(raw) && isObject(raw.models)) {
    const m = raw.models[threeStream ? 'flm' : 'single'];
    if (!isObject(m)) throw new ConvertError(`${path}: has no models.${threeStream ? 'flm' : 'single'}.config`);
    raw = m.config;
  } else if (isObject(raw) && isObject(raw.config) && !('vocab_size' in raw)) raw = raw.config;
  return wrapConfigError(path, () => validateConfig(raw, 'config'));
}

// ------------------------------------------------------------------------------------ structure
interface Structure {
  threeStream: boolean;
  shape(name: string): number[] | undefined;
  count(re: RegExp): number | null;
  has(prefix: string): boolean;
}

function structureOf(tensors: Map<string, Tensor>): Structure {
  const names = [...tensors.keys()];
  return {
    threeStream: names.some((n) => n.startsWith('text_transformer2.') || n.startsWith('fusion_layers_') || n.startsWith('cross_modal_text_pooler_f.')),
    shape: (name) => tensors.get(name)?.shape,
    count: (re) => {
      let max = -1;
      for (const n of names) {
        const m = re.exec(n);
        if (m) max = Math.max(max, Number(m[1]));
      }
      return max < 0 ? null : max + 1;
    },
    has: (prefix) => names.some((n) => n.startsWith(prefix)),
  };
}

/** Presets whose widths match (for error hints). */
function presetsWith(hidden: number | undefined, vitWidth: number | undefined): string {
  const fit = (Object.keys(PRESETS) as PresetName[]).filter((p) => (hidden === undefined || PRESETS[p].hidden === hidden) && (vitWidth === undefined || PRESETS[p].vit_width === vitWidth));
  return fit.length ? ` (preset ${fit.join(' / ')} matches)` : '';
}

/** Lays the structure of the tensors over `base` (a preset's config) and validates the result. */
function fitStructure(base: FLMConfig, tensors: Map<string, Tensor>, file: string, source: string): { config: FLMConfig; notes: string[] } {
  const s = structureOf(tensors);
  const c = JSON.parse(JSON.stringify(base)) as FLMConfig;
  const notes: string[] = [];
  const set = (what: string, get: () => number, put: (v: number) => void, v: number | null | undefined) => {
    if (v === null || v === undefined) return;
    const old = get();
    if (old !== v) {
      put(v);
      notes.push(`${what}: ${v} (${source}: ${old})`);
    }
  };
  const width = (what: string, got: number | undefined, want: number, key: string, hint: string) => {
    if (got !== undefined && got !== want) throw new ConvertError(`${file}: ${key} has ${what} ${got}, but ${source} has ${want}${hint}; pass the matching --preset or --model-config`);
  };
  const word = s.shape('text_transformer.embeddings.word_embeddings.weight');
  const conv = s.shape('vit_model.visual.conv1.weight');
  const ctt = s.shape('cross_modal_text_transform.weight');
  width('text width', word?.[1], c.text_encoder_arch.hidden_size, 'text_transformer.embeddings.word_embeddings.weight', presetsWith(word?.[1], conv?.[0]));
  width('CLIP width', conv?.[0], c.vit_arch.width, 'vit_model.visual.conv1.weight', presetsWith(word?.[1], conv?.[0]));
  // flm's convolutional stem (vit_arch.conv_stem): its layers' output channels, in order; official checkpoints have none
  const stem: number[] = [];
  for (let i = 0; s.shape(`vit_model.visual.conv_stem.${i}.weight`) !== undefined; i++) stem.push(s.shape(`vit_model.visual.conv_stem.${i}.weight`)![0]!);
  if (stem.join() !== (c.vit_arch.conv_stem ?? []).join()) {
    notes.push(`vit_arch.conv_stem: [${stem.join(', ')}] (${source}: [${(c.vit_arch.conv_stem ?? []).join(', ')}])`);
    if (stem.length > 0) c.vit_arch.conv_stem = stem;
    else delete c.vit_arch.conv_stem;
  }
  if (c.vit_arch.patch_size % 2 ** stem.length !== 0) throw new ConvertError(`${file}: ${stem.length} conv_stem convolutions, but ${source} has patch size ${c.vit_arch.patch_size}, not divisible by ${2 ** stem.length}`);
  const proj = patchProjection(c.vit_arch);
  width('kernel', conv?.[2], proj.kernel, 'vit_model.visual.conv1.weight', stem.length > 0 ? ` (patch ${c.vit_arch.patch_size} after ${stem.length} stem convolutions)` : ` (patch ${c.vit_arch.patch_size})`);
  width('hidden size', ctt?.[0], c.hidden_size, 'cross_modal_text_transform.weight', presetsWith(ctt?.[0], conv?.[0]));

  const t = c.text_encoder_arch;
  const v = c.vit_arch;
  set('num_bottom_layer', () => c.num_bottom_layer, (x) => (c.num_bottom_layer = x), s.count(/^text_transformer\.encoder\.layer\.(\d+)\./));
  set('num_top_layer', () => c.num_top_layer, (x) => (c.num_top_layer = x), s.count(/^cross_modal_text_layers\.(\d+)\./));
  if (s.threeStream) {
    set('num_reconstructor_bottom_layer', () => c.num_reconstructor_bottom_layer, (x) => (c.num_reconstructor_bottom_layer = x), s.count(/^fusion_layers_bottom\.(\d+)\./) ?? 0);
    set('num_reconstructor_top_layer', () => c.num_reconstructor_top_layer, (x) => (c.num_reconstructor_top_layer = x), s.count(/^fusion_layers_top\.(\d+)\./) ?? 0);
  }
  set('vit_arch.num_resblocks', () => v.num_resblocks, (x) => (v.num_resblocks = x), s.count(/^vit_model\.visual\.transformer\.resblocks\.(\d+)\./));
  set('vit_arch.mlp_width', () => v.mlp_width, (x) => (v.mlp_width = x), s.shape('vit_model.visual.transformer.resblocks.0.mlp.c_fc.weight')?.[0]);
  const ctx = s.shape('vit_model.positional_embedding');
  set('vit_arch.clip_context_length', () => v.clip_context_length, (x) => (v.clip_context_length = x), ctx?.[0]);
  set('vit_arch.clip_text_width', () => v.clip_text_width, (x) => (v.clip_text_width = x), ctx?.[1]);
  set('vocab_size', () => c.vocab_size, (x) => {
    c.vocab_size = x;
    t.vocab_size = x;
  }, word?.[0]);
  set('text_encoder_arch.max_position_embeddings', () => t.max_position_embeddings, (x) => (t.max_position_embeddings = x), s.shape('text_transformer.embeddings.position_embeddings.weight')?.[0]);
  set('text_encoder_arch.type_vocab_size', () => t.type_vocab_size, (x) => (t.type_vocab_size = x), s.shape('text_transformer.embeddings.token_type_embeddings.weight')?.[0]);
  set('text_encoder_arch.intermediate_size', () => t.intermediate_size, (x) => (t.intermediate_size = x), s.shape('text_transformer.encoder.layer.0.intermediate.dense.weight')?.[0]);
  const crossInter = s.shape('cross_modal_text_layers.0.intermediate.dense.weight')?.[0];
  if (crossInter !== undefined && crossInter % c.hidden_size === 0) set('mlp_ratio', () => c.mlp_ratio, (x) => (c.mlp_ratio = x), crossInter / c.hidden_size);

  // heads present -> loss_names (every loss has its own head)
  // three-stream: lm_score with its lm_score_r / _f aliases is the FLM scorer; lm_score alone is an AR head
  // (the official caption fine-tuning runs AR on the FLM backbone)
  const flmHead = s.threeStream && (s.has('lm_score_r.') || s.has('lm_score_f.'));
  const present: Record<LossName, boolean> = {
    flm: flmHead,
    ar: !flmHead && s.has('lm_score.'),
    mlm: s.has('mlm_score.'),
    itm: s.has('itm_score.') || s.has('rank_output.'),
    vqa: s.has('vqa_classifier.'),
    nlvr2: s.has('nlvr2_classifier.'),
    irtr: s.has('rank_output.'),
  };
  for (const n of LOSS_NAMES) {
    const old = c.loss_names[n];
    const now = present[n] ? (old > 0 ? old : 1) : 0;
    if (now !== old) {
      c.loss_names[n] = now;
      notes.push(`loss_names.${n}: ${now} (${present[n] ? 'head present' : 'no head'} in the file)`);
    }
  }
  const answers = s.shape('vqa_classifier.3.weight')?.[0];
  if (answers !== undefined && answers !== (c.vqa_label_size ?? 3129)) {
    c.vqa_label_size = answers;
    notes.push(`vqa_label_size: ${answers}`);
  }
  const lmR = tensorsEqual(tensors, 'lm_score.decoder.weight', 'lm_score_r.decoder.weight');
  if (lmR === false && c.share_lm_scorer_weights) {
    c.share_lm_scorer_weights = false;
    notes.push('share_lm_scorer_weights: false (lm_score_r differs from lm_score)');
  }
  const config = wrapConfigError(`${file}: the config built from ${source} and the tensors`, () => validateConfig(c));
  return { config, notes };
}

function tensorsEqual(tensors: Map<string, Tensor>, a: string, b: string): boolean | null {
  const x = tensors.get(a);
  const y = tensors.get(b);
  if (!x || !y) return null;
  const sx = x.shape;
  const sy = y.shape;
  return sx.length === sy.length && sx.every((d, i) => d === sy[i]) && x.equal(y);
}

// ------------------------------------------------------------------------------------ hyper_parameters
const ARCH_KEYS = new Set(['vit_arch', 'text_encoder_arch', 'loss_names']);

/** Lays official hyper_parameters (flm/config.py keys) over a preset config; unknown keys are skipped. */
function overlayHyperParameters(base: FLMConfig, hp: Record<string, unknown>): { raw: Record<string, unknown>; used: string[] } {
  const raw = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  const used: string[] = [];
  for (const [k, v] of Object.entries(hp)) {
    const known = k in raw || k === 'vqa_label_size';
    if (!known || ARCH_KEYS.has(k) || typeof v !== (k === 'vqa_label_size' ? 'number' : typeof raw[k])) continue;
    raw[k] = v;
    used.push(k);
  }
  if (isObject(hp.loss_names)) {
    const ln = raw.loss_names as Record<string, number>;
    for (const n of LOSS_NAMES) if (typeof hp.loss_names[n] === 'number') ln[n] = hp.loss_names[n] as number;
    used.push('loss_names');
  }
  const t = raw.text_encoder_arch as Record<string, unknown>;
  const v = raw.vit_arch as Record<string, unknown>;
  t.vocab_size = raw.vocab_size;
  v.image_size = raw.image_size;
  v.patch_size = raw.patch_size;
  return { raw, used };
}

function configFromMetadata(file: WeightsFile, preset: PresetName | undefined, threeStream: boolean): ResolvedConfig | null {
  const md = file.metadata;
  if (md.flm_config !== undefined) {
    const raw = parseJson(md.flm_config, `${file.path}: metadata flm_config`);
    return { config: wrapConfigError(`${file.path}: metadata flm_config`, () => validateConfig(raw)), source: `${file.path} metadata (flm_config)`, notes: [] };
  }
  if (md.hyper_parameters === undefined) return null;
  const parsed = parseJson(md.hyper_parameters, `${file.path}: metadata hyper_parameters`);
  const hp = isObject(parsed) && isObject(parsed.config) ? parsed.config : parsed;
  if (!isObject(hp)) throw new ConvertError(`${file.path}: metadata hyper_parameters is not an object`);
  try {
    return { config: validateConfig(hp), source: `${file.path} metadata (hyper_parameters)`, notes: [] };
  } catch {
    // official keys only: the architectures come from a preset
  }
  const p = preset ?? (hp.vit === 'ViT-B/32' ? 'base' : undefined);
  if (!p) throw new ConvertError(`${file.path}: metadata hyper_parameters has no architecture (vit '${String(hp.vit)}' is not ViT-B/32): pass --preset`);
  const base = threeStream ? flmConfig(p) : singleConfig(p);
  const { raw, used } = overlayHyperParameters(base, hp);
  const config = wrapConfigError(`${file.path}: hyper_parameters over preset ${p}`, () => validateConfig(raw));
  return { config, source: `preset ${p} + ${file.path} hyper_parameters (${used.length} keys)`, notes: [] };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConvertError(`${where} is not valid JSON (${(e as Error).message})`);
  }
}

/** Picks the model config for an official state dict (see the file comment for the order). */
export function resolveOfficialConfig(file: WeightsFile, o: { preset?: PresetName; configJson?: string }): ResolvedConfig {
  const threeStream = structureOf(file.tensors).threeStream;
  if (o.configJson !== undefined) return { config: readModelConfigFile(o.configJson, threeStream), source: `config file ${o.configJson}`, notes: [] };
  const fromMd = configFromMetadata(file, o.preset, threeStream);
  if (fromMd) {
    if (fromMd.source.startsWith('preset ')) {
      const fit = fitStructure(fromMd.config, file.tensors, file.path, fromMd.source);
      return { config: fit.config, source: fromMd.source, notes: fit.notes };
    }
    return fromMd;
  }
  if (o.preset === undefined) {
    const word = file.tensors.get('text_transformer.embeddings.word_embeddings.weight')?.shape[1];
    const vit = file.tensors.get('vit_model.visual.conv1.weight')?.shape[0];
    throw new ConvertError(
      `${file.path}: the file carries no model config (torch.save hyper_parameters are not readable through libtorch, which returns tensors only): ` +
      `pass --preset tiny|small|base${presetsWith(word, vit)} or --model-config FILE`,
    );
  }
  if (!(o.preset in PRESETS)) throw new ConvertError(`unknown preset '${o.preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const base = threeStream ? flmConfig(o.preset) : singleConfig(o.preset);
  const source = `preset ${o.preset}`;
  const fit = fitStructure(base, file.tensors, file.path, source);
  return { config: fit.config, source, notes: fit.notes };
}
