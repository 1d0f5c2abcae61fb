// The model folder: what makes a folder usable on its own, copied anywhere. Every checkpoint folder the
// trainer writes is one, and `flm export` writes one without the training state:
//   config.json        this file's format (below): the model config, the tokenizer settings, the task head
//   tokenizer.json     the Hugging Face tokenizer the model was trained with
//   model.safetensors  the state dict with the official PyTorch names (safetensors.torch.load_file reads it)
//
// config.json
//   format, formatVersion   'flm-model', 1 (a run folder's config.json, the training settings, has neither)
//   task        'pretrain' | 'retrieval' | 'vqa' | 'nlvr2' | 'caption': which heads the model has and what it does
//   step        the training step of the weights
//   model       the model config (official names: vit_arch, text_encoder_arch, loss_names, ...), createModel's input
//   tokenizer   {file, vocabSize, maxLength}: the tokenizer file and the text length the model was built for
//   head        what the task head needs besides weights: {objective} (pretrain), {captionTokens, compat}
//               (caption), {answers} (vqa: class index -> answer), {} (retrieval, nlvr2)
//   settings    the resolved training settings of the run (data, preset, steps, ...), for the record
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, type FLMConfig } from '../models/index.js';
import { CheckpointError } from './checkpoint.js';
import { isRecord } from '../data/formats/common.js';

export const MODEL_FOLDER_FORMAT = 'flm-model';
export const MODEL_FOLDER_VERSION = 1;
export const MODEL_CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const WEIGHTS_FILE = 'model.safetensors';

export interface ModelFolderConfig {
  format: typeof MODEL_FOLDER_FORMAT;
  formatVersion: number;
  task: string;
  step: number;
  model: FLMConfig;
  tokenizer: { file: string; vocabSize: number; maxLength: number };
  head: Record<string, unknown>;
  settings: Record<string, unknown>;
}

export function modelFolderConfig(o: {
  task: string; step: number; model: FLMConfig; vocabSize: number; head?: Record<string, unknown>; settings?: Record<string, unknown>;
}): ModelFolderConfig {
  return {
    format: MODEL_FOLDER_FORMAT, formatVersion: MODEL_FOLDER_VERSION, task: o.task, step: o.step, model: o.model,
    tokenizer: { file: TOKENIZER_FILE, vocabSize: o.vocabSize, maxLength: o.model.max_text_len },
    head: o.head ?? {}, settings: o.settings ?? {},
  };
}


/**
 * The model-folder config.json of `dir`, or null when the folder has none (an older checkpoint, a run
 * folder, whose config.json holds training settings, or a `flm convert` output). A config.json that
 * says it is a model folder but is malformed is an error naming the problem.
 */
export function readModelFolderConfig(dir: string): ModelFolderConfig | null {
  const path = join(dir, MODEL_CONFIG_FILE);
  if (!existsSync(path)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${path} is not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(json) || json.format !== MODEL_FOLDER_FORMAT) return null;
  const bad = (what: string): CheckpointError => new CheckpointError(`${path}: ${what}`);
  if (typeof json.formatVersion !== 'number' || json.formatVersion > MODEL_FOLDER_VERSION) {
    throw bad(`format version ${String(json.formatVersion)} is not one this flm reads (up to ${MODEL_FOLDER_VERSION}): update flm`);
  }
  if (typeof json.task !== 'string' || json.task === '') throw bad('no "task"');
  if (typeof json.step !== 'number') throw bad('no "step"');
  const tok = json.tokenizer;
  if (!isRecord(tok) || typeof tok.file !== 'string' || typeof tok.vocabSize !== 'number' || typeof tok.maxLength !== 'number') {
    throw bad('"tokenizer" must be {file, vocabSize, maxLength}');
  }
  if (tok.file.includes('/') || tok.file.includes('\\') || tok.file.startsWith('.')) throw bad(`"tokenizer.file" must name a file in the folder, got '${tok.file}'`);
  const head = json.head ?? {};
  const settings = json.settings ?? {};
  if (!isRecord(head)) throw bad('"head" must be an object');
  if (!isRecord(settings)) throw bad('"settings" must be an object');
  const model = validateConfig(json.model, `${path}: model`);
  return {
    format: MODEL_FOLDER_FORMAT, formatVersion: json.formatVersion, task: json.task, step: json.step, model,
    tokenizer: { file: tok.file, vocabSize: tok.vocabSize, maxLength: tok.maxLength }, head, settings,
  };
}

/** Whether `dir` is a model folder (config.json in this format next to model.safetensors). */
export function isModelFolder(dir: string): boolean {
  if (!existsSync(join(dir, WEIGHTS_FILE)) || !existsSync(join(dir, MODEL_CONFIG_FILE))) return false;
  try {
    const json = JSON.parse(readFileSync(join(dir, MODEL_CONFIG_FILE), 'utf8')) as unknown;
    return isRecord(json) && json.format === MODEL_FOLDER_FORMAT;
  } catch {
    return false;
  }
}
