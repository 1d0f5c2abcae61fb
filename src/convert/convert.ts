// `flm convert`: outside weights into a flm model folder.
// (Model-aware, so it sits above models/; io/ keeps the file formats: safetensors, torch pickle, weights files.)
//
//   convertOfficial  an official FLM state dict (safetensors, or a .ckpt / .pt through the guarded
//                    pickle import) -> the model its config describes, aliases verified (spec B.11)
//   convertHf        Hugging Face CLIP ViT-B/32 vision weights and RoBERTa / BERT weights -> a fresh
//                    FLM (or single-stream) model's vit_model.* / text_transformer.*, the rest at the
//                    official init (N(0, 0.02); reconstructor layers PyTorch's default, spec H.3)
//   convertHfClipVision / convertHfText   the two name mappings alone (hf.ts)
//
// Every conversion writes OUT/
//   model.safetensors    the model's state dict, official names, aliases included (fixture layout)
//   config.json          the model config
//   state.json           {step: 0, task, modelConfig}: OUT is a checkpoint folder for `flm finetune
//                        --from OUT` / inference once OUT/tokenizer.json exists (--tokenizer copies one)
//   convert-report.json  what was loaded, missing, unexpected, resized and dropped
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, tidy } from '../tensor/index.js';
import {
  createModel, flmConfig, singleConfig, withOverrides, ConfigError,
  type AnyFLMModel, type ConfigOverrides, type FLMConfig, type PresetName, type TextEncoderArch, type VitArch, PRESETS,
} from '../models/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ConvertError, disposeAll, readWeightsFile, writeModelWeights } from '../io/weights-file.js';
import { resolveOfficialConfig } from './official-config.js';
import { firstNames, loadWeightsByName } from './init-weights.js';
import { inspectClipVision, inspectText, mapClipVision, mapText, type ClipInfo, type HfMapped, type TextInfo } from './hf.js';

export { ConvertError } from '../io/weights-file.js';

export interface ConvertReport {
  kind: 'official' | 'hf';
  inputs: { official?: string; clip?: string; text?: string };
  /** where the model config came from, and what the input changed in it */
  config: { source: string; notes: string[] };
  model: 'FLMModel' | 'SingleStreamModel';
  /** state.json task: pretrain, or the fine-tuning task whose head the checkpoint has */
  task: string;
  /** names written to model.safetensors (aliases included) */
  written: number;
  /** distinct model tensors that took their value from the input(s) */
  loaded: number;
  /** model names the input lacks: they keep the fresh init (one name per tensor, aliases not repeated) */
  missing: string[];
  /** input names the model does not have (not written) */
  unexpected: string[];
  /** tensors changed to fit (positional-embedding resize, vocabulary growth, token-type rows) */
  resized: string[];
  /** input tensors deliberately left out (HF: blocks beyond the model, text tower, heads), by reason */
  dropped: string[];
  notes: string[];
  out: string;
}

export interface OfficialOptions {
  out: string;
  preset?: PresetName;
  /** a model config file (see official-config.ts readModelConfigFile) */
  configJson?: string;
  /** read .ckpt / .pt torch.save files (pickle); refused otherwise */
  allowPickle?: boolean;
  /** also fail on missing / unexpected names (default: report them, as the official strict=False load) */
  strict?: boolean;
  /** seed for anything drawn fresh (missing tensors, grown vocabulary rows) */
  seed?: number;
  /** a tokenizer.json to copy into OUT */
  tokenizer?: string;
}

export interface HfOptions {
  out: string;
  clip?: string;
  text?: string;
  /** model sizes (default base: CLIP ViT-B/32 + roberta-base) */
  preset?: PresetName;
  /** the single-stream model instead of the three-stream FLM model */
  single?: boolean;
  allowPickle?: boolean;
  /** seed of the fresh init (default: the current RNG state) */
  seed?: number;
  tokenizer?: string;
}

const list = (xs: string[], n = 6): string => (xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')}, ... (${xs.length - n} more)`);

/** The state.json task a model's heads make it (inference and fine-tuning read it). */
function taskOf(c: FLMConfig): string {
  if (c.loss_names.vqa > 0) return 'vqa';
  if (c.loss_names.nlvr2 > 0) return 'nlvr2';
  if (c.loss_names.irtr > 0) return 'retrieval';
  return 'pretrain';
}

function writeOut(model: AnyFLMModel, report: Omit<ConvertReport, 'written' | 'model' | 'task'>, tokenizer: string | undefined): ConvertReport {
  const c = model.config;
  const out = report.out;
  if (tokenizer !== undefined && !existsSync(tokenizer)) throw new ConvertError(`${tokenizer}: no such tokenizer file`);
  mkdirSync(out, { recursive: true });
  const sd = model.stateDict();
  const full: ConvertReport = { ...report, model: c.flm_backbone ? 'FLMModel' : 'SingleStreamModel', task: taskOf(c), written: sd.size };
  writeModelWeights(join(out, 'model.safetensors'), sd, {
    generator: 'flm convert', flm_config: JSON.stringify(c), converted_from: JSON.stringify(report.inputs),
  });
  writeFileAtomic(join(out, 'config.json'), JSON.stringify(c, null, 1) + '\n');
  writeFileAtomic(join(out, 'state.json'), JSON.stringify({ step: 0, task: full.task, modelConfig: c, convertedFrom: report.inputs }, null, 1) + '\n');
  if (tokenizer !== undefined) copyFileSync(tokenizer, join(out, 'tokenizer.json'));
  writeFileAtomic(join(out, 'convert-report.json'), JSON.stringify(full, null, 1) + '\n');
  return full;
}

// ------------------------------------------------------------------------------------------ official
/**
 * Converts an official FLM state dict into OUT (see the file comment). Aliased names must hold
 * identical tensors; mis-shaped tensors are errors; missing / unexpected names are reported (errors
 * with `strict`). Nothing is written when it throws.
 */
export function convertOfficial(input: string, o: OfficialOptions): ConvertReport {
  const file = readWeightsFile(input, { allowPickle: o.allowPickle ?? false });
  let model: AnyFLMModel | null = null;
  try {
    const resolved = resolveOfficialConfig(file, { ...(o.preset !== undefined ? { preset: o.preset } : {}), ...(o.configJson !== undefined ? { configJson: o.configJson } : {}) });
    if (o.seed !== undefined) manualSeed(o.seed);
    model = createModel(resolved.config);
    const r = loadWeightsByName(model, file.tensors);
    if (r.loaded === 0) {
      throw new ConvertError(`${input}: no official FLM names (such as text_transformer.embeddings.word_embeddings.weight); the file starts with ${list([...file.tensors.keys()], 4)}. Hugging Face CLIP / RoBERTa weights go through --clip / --text`);
    }
    if (r.shapeMismatch.length) throw new ConvertError(`${input}: tensors whose shape does not fit the model (${resolved.source}): ${list(r.shapeMismatch, 10)}`);
    if (r.aliasConflicts.length) {
      throw new ConvertError(`${input}: aliased names differ from the first name of the same module (the official state_dict stores one module under every alias, spec B.11): ${list(r.aliasConflicts, 10)}`);
    }
    if (o.strict && (r.missing.length || r.unexpected.length)) {
      throw new ConvertError(`${input}: strict conversion: ${[r.missing.length ? `missing ${list(r.missing, 10)}` : '', r.unexpected.length ? `unexpected ${list(r.unexpected, 10)}` : ''].filter(Boolean).join('; ')}`);
    }
    const notes: string[] = [];
    if (file.strippedPrefix) notes.push(`names read under '${file.strippedPrefix}'`);
    if (file.ignored.length) notes.push(`ignored ${file.ignored.length} tensors outside '${file.strippedPrefix}' (${list(file.ignored, 3)})`);
    if (r.missing.length) notes.push(`${r.missing.length} missing tensors keep the fresh init`);
    return writeOut(model, {
      kind: 'official', inputs: { official: input }, config: { source: resolved.source, notes: resolved.notes },
      loaded: r.loaded, missing: r.missing, unexpected: r.unexpected, resized: r.adapted, dropped: [], notes, out: o.out,
    }, o.tokenizer);
  } finally {
    disposeAll(file.tensors);
    model?.dispose();
  }
}

// ------------------------------------------------------------------------------------------ HF
/** Reads a CLIP vision file and maps it onto vit_model.* for `arch` (the caller frees `tensors`). */
export function convertHfClipVision(input: string, arch: VitArch, o: { allowPickle?: boolean } = {}): HfMapped {
  const file = readWeightsFile(input, o);
  try {
    return mapClipVision(file.tensors, arch, input);
  } finally {
    disposeAll(file.tensors);
  }
}

/** Reads a RoBERTa / BERT file and maps its first `numLayers` layers onto text_transformer.* (the caller frees `tensors`). */
export function convertHfText(input: string, arch: TextEncoderArch, numLayers: number, o: { allowPickle?: boolean } = {}): HfMapped {
  const file = readWeightsFile(input, o);
  try {
    return mapText(file.tensors, arch, numLayers, input);
  } finally {
    disposeAll(file.tensors);
  }
}

/** The preset config with the sizes the HF files fix (vocabulary, positions, MLP widths, eps). */
function hfConfig(preset: PresetName, single: boolean, clip: { info: ClipInfo; file: string } | null, text: { info: TextInfo; file: string } | null): { config: FLMConfig; notes: string[] } {
  const base = single ? singleConfig(preset) : flmConfig(preset);
  const notes: string[] = [];
  const ov: ConfigOverrides = {};
  const fits = (hidden: number | null, vit: number | null): string => {
    const ps = (Object.keys(PRESETS) as PresetName[]).filter((p) => (hidden === null || PRESETS[p].hidden === hidden) && (vit === null || PRESETS[p].vit_width === vit));
    return ps.length ? `: use --preset ${ps.join(' / ')}` : '';
  };
  if (clip) {
    const i = clip.info;
    if (i.width !== base.vit_arch.width || i.patch !== base.vit_arch.patch_size) {
      throw new ConvertError(`${clip.file}: a CLIP tower of width ${i.width}, patch ${i.patch}, but preset ${preset} has width ${base.vit_arch.width}, patch ${base.vit_arch.patch_size}${fits(null, i.width)}`);
    }
    if (i.mlpWidth !== base.vit_arch.mlp_width) {
      ov.vit_arch = { mlp_width: i.mlpWidth };
      notes.push(`vit_arch.mlp_width: ${i.mlpWidth} (from ${clip.file})`);
    }
  }
  if (text) {
    const i = text.info;
    if (i.hidden !== base.hidden_size) throw new ConvertError(`${text.file}: a ${i.family} encoder of width ${i.hidden}, but preset ${preset} has hidden size ${base.hidden_size}${fits(i.hidden, null)}`);
    const t: Partial<TextEncoderArch> = { vocab_size: i.vocab, max_position_embeddings: i.maxPositions, intermediate_size: i.intermediate };
    if (i.family === 'bert') t.layer_norm_eps = 1e-12;
    ov.vocab_size = i.vocab;
    ov.text_encoder_arch = t;
    for (const [k, v] of Object.entries(t)) {
      if ((base.text_encoder_arch as unknown as Record<string, unknown>)[k] !== v) notes.push(`text_encoder_arch.${k}: ${v} (from ${text.file})`);
    }
  }
  try {
    return { config: withOverrides(base, ov), notes };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConvertError(`the config of preset ${preset} with the sizes of ${[clip?.file, text?.file].filter(Boolean).join(' and ')}: ${e.message}`);
    throw e;
  }
}

/** Module-level summary of names: 'cross_modal_text_layers (96)', ... */
export function groupByModule(names: string[]): string[] {
  const by = new Map<string, number>();
  for (const n of names) {
    const parts = n.split('.');
    const key = parts[0] === 'vit_model' || parts[0] === 'text_transformer' ? parts.slice(0, 2).join('.') : parts[0]!;
    by.set(key, (by.get(key) ?? 0) + 1);
  }
  return [...by].map(([k, c]) => `${k} (${c})`);
}

/**
 * Builds a fresh FLM (or single-stream) model of `preset`, puts the CLIP vision weights into
 * vit_model and the RoBERTa / BERT weights into text_transformer, and writes OUT.
 */
export function convertHf(o: HfOptions): ConvertReport {
  if (o.clip === undefined && o.text === undefined) throw new ConvertError('flm convert: give --clip FILE and/or --text FILE (or --official FILE)');
  const preset = o.preset ?? 'base';
  if (!(preset in PRESETS)) throw new ConvertError(`unknown preset '${preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const clipFile = o.clip !== undefined ? readWeightsFile(o.clip, { allowPickle: o.allowPickle ?? false }) : null;
  let textFile = null;
  let model: AnyFLMModel | null = null;
  const mapped: HfMapped[] = [];
  try {
    textFile = o.text !== undefined ? readWeightsFile(o.text, { allowPickle: o.allowPickle ?? false }) : null;
    const clip = clipFile ? { info: inspectClipVision(clipFile.tensors, clipFile.path), file: clipFile.path } : null;
    const text = textFile ? { info: inspectText(textFile.tensors, textFile.path), file: textFile.path } : null;
    const { config, notes } = hfConfig(preset, o.single ?? false, clip, text);
    if (clipFile) mapped.push(mapClipVision(clipFile.tensors, config.vit_arch, clipFile.path));
    if (textFile) mapped.push(mapText(textFile.tensors, config.text_encoder_arch, config.num_bottom_layer, textFile.path));
    if (o.seed !== undefined) manualSeed(o.seed);
    model = createModel(config);
    const all = new Map(mapped.flatMap((m) => [...m.tensors]));
    const origin = new Map(mapped.flatMap((m) => [...m.origin]));
    const m = model;
    const r = tidy(() => m.loadStateDict(all, { strict: false }));
    if (r.shapeMismatch.length || r.unexpected.length) {
      const bad = [
        ...r.shapeMismatch.map((x) => `${origin.get(x.name) ?? x.name} -> ${x.name}: [${x.got}] vs the model's [${x.expected}]`),
        ...r.unexpected.map((x) => `${origin.get(x) ?? x} -> ${x}: not in the model`),
      ];
      throw new ConvertError(`tensors that do not fit preset ${preset}: ${list(bad, 10)}`);
    }
    // position_ids buffers are aranges the model builds itself; not "missing" in any useful sense
    const fresh = firstNames(model, r.missing).filter((n) => !n.endsWith('position_ids'));
    const reportNotes = [
      ...mapped.flatMap((x) => x.notes),
      'missing tensors have the official fresh init: N(0, 0.02) weights, zero biases, LayerNorm 1 / 0; reconstructor layers PyTorch\'s default (spec H.3)',
    ];
    if (!clipFile) reportNotes.push('no --clip: vit_model keeps its fresh init');
    if (!textFile) reportNotes.push('no --text: text_transformer keeps its fresh init');
    const inputs = { ...(o.clip !== undefined ? { clip: o.clip } : {}), ...(o.text !== undefined ? { text: o.text } : {}) };
    return writeOut(model, {
      kind: 'hf', inputs, config: { source: `preset ${preset}${o.single ? ' (single-stream)' : ''}`, notes },
      loaded: all.size, missing: fresh, unexpected: [], resized: mapped.flatMap((x) => x.resized), dropped: mapped.flatMap((x) => x.dropped),
      notes: reportNotes, out: o.out,
    }, o.tokenizer);
  } finally {
    for (const x of mapped) disposeAll(x.tensors);
    if (clipFile) disposeAll(clipFile.tensors);
    if (textFile) disposeAll(textFile.tensors);
    model?.dispose();
  }
}
