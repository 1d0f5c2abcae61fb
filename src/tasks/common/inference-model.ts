// Loads the model of a model, run or checkpoint folder for inference and fine-tuning: the weights, the
// model config and the tokenizer the run used.
//
// Where things are looked up:
//   folder      DIR itself when it holds state.json (a checkpoint) or is a model folder (config.json in the
//               train/model-folder.ts format, e.g. `flm export`), else DIR/checkpoints/<latest|best|step-N>
//   config      config.json `model` (model folders: every checkpoint written since they exist), else
//               state.json `modelConfig` (older fine-tuning checkpoints), else the pretraining settings
//               `config.{objective, preset}` with the tokenizer's vocabulary size (older pretraining ones)
//   tokenizer   config.json `tokenizer.file` in the folder; for older checkpoints <checkpoint>/tokenizer.json,
//               <run>/tokenizer.json, then state `config.tokenizer`
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { StateDictError } from '../../nn/module.js';
import { loadSafetensors } from '../../io/safetensors.js';
import { createModel, validateConfig, withOverrides, type AnyFLMModel, type FLMConfig, type PresetName } from '../../models/index.js';
import { TextTokenizer } from '../../data/tokenizer.js';
import { CheckpointError, resolveCheckpoint, type CheckpointState } from '../../train/checkpoint.js';
import { isModelFolder, readModelFolderConfig, type ModelFolderConfig } from '../../train/model-folder.js';
import { objectiveConfig, PRETRAIN_OBJECTIVES, type PretrainObjective } from '../pretrain/objective-step.js';
import { readTokenizerJson } from '../caption/tokens.js';
import type { Tensor } from '../../tensor/index.js';

export interface RunModel {
  /** the checkpoint folder */
  dir: string;
  /** the run folder above it (= dir for a loose checkpoint folder) */
  runDir: string;
  /** the task the model was trained for: 'pretrain', 'retrieval', 'vqa', 'nlvr2', 'caption' */
  task: string;
  /**
   * state.json; for a model folder without one (`flm export`), the state its config.json stands for:
   * {step, task, config: settings, modelConfig, ...head} (head: objective, captionTokens, answers)
   */
  state: CheckpointState;
  /** the folder's config.json when it is a model folder (null: an older checkpoint) */
  folder: ModelFolderConfig | null;
  config: FLMConfig;
  model: AnyFLMModel;
  tokenizer: TextTokenizer;
  tokenizerPath: string;
}

/**
 * The checkpoint folder of a run folder / checkpoint path, or a CheckpointError saying what is wrong.
 * which: 'latest', 'best', a step folder name, or 'auto' (best when the run has one, else latest).
 */
export function findCheckpoint(path: string, which = 'latest'): { dir: string; runDir: string } {
  const p = resolve(path);
  if (!existsSync(p)) throw new CheckpointError(`checkpoint ${path} does not exist`);
  if (!existsSync(join(p, 'state.json')) && isModelFolder(p)) return { dir: p, runDir: p };
  const dir = which === 'auto' ? resolveCheckpoint(p, 'best') ?? resolveCheckpoint(p, 'latest') : resolveCheckpoint(p, which);
  if (!dir) {
    throw new CheckpointError(`${path} is not a checkpoint: expected a run folder with checkpoints/${which === 'auto' ? 'latest' : which}, a checkpoint folder with state.json and model.safetensors, or a model folder (config.json, tokenizer.json, model.safetensors)`);
  }
  const parent = dirname(dir);
  return { dir, runDir: basename(parent) === 'checkpoints' ? dirname(parent) : dir };
}

function readState(dir: string): CheckpointState {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: cannot read state.json (${(e as Error).message})`);
  }
  if (typeof (json as { step?: unknown } | null)?.step !== 'number') throw new CheckpointError(`checkpoint ${dir}: state.json has no step`);
  return json as CheckpointState;
}

function tokenizerPathOf(dir: string, runDir: string, state: CheckpointState): string {
  const cfg = state.config as { tokenizer?: unknown } | undefined;
  const candidates = [join(dir, 'tokenizer.json'), join(runDir, 'tokenizer.json')];
  if (typeof state.tokenizer === 'string') candidates.push(resolve(runDir, state.tokenizer));
  if (typeof cfg?.tokenizer === 'string') candidates.push(resolve(cfg.tokenizer));
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new CheckpointError(`checkpoint ${dir}: no tokenizer.json (looked in ${candidates.join(', ')})`);
  return found;
}

/** The model config a checkpoint was trained with. */
export function modelConfigOf(state: CheckpointState, vocabSize: number, dir: string): FLMConfig {
  if (state.modelConfig !== undefined) return validateConfig(state.modelConfig, `${dir}: modelConfig`);
  const pc = state.config as { objective?: unknown; preset?: unknown; dropRate?: unknown } | undefined;
  if (typeof pc?.objective === 'string' && typeof pc.preset === 'string') {
    if (!(PRETRAIN_OBJECTIVES as readonly string[]).includes(pc.objective)) throw new CheckpointError(`checkpoint ${dir}: unknown objective '${pc.objective}'`);
    const c = objectiveConfig(pc.objective as PretrainObjective, pc.preset as PresetName, vocabSize);
    return typeof pc.dropRate === 'number' ? withOverrides(c, { drop_rate: pc.dropRate }) : c;
  }
  throw new CheckpointError(`checkpoint ${dir}: state.json has neither modelConfig nor pretraining settings (objective, preset)`);
}

/** The checkpoint state a model folder's config.json stands for (see RunModel.state). */
function stateOfFolder(f: ModelFolderConfig): CheckpointState {
  return { ...f.head, step: f.step, task: f.task, config: f.settings, modelConfig: f.model };
}

/** Loads weights, config and tokenizer; the model is in eval mode. */
export async function loadRunModel(path: string, o: { which?: string } = {}): Promise<RunModel> {
  const { dir, runDir } = findCheckpoint(path, o.which);
  const folder = readModelFolderConfig(dir);
  const state = existsSync(join(dir, 'state.json')) || !folder ? readState(dir) : stateOfFolder(folder);
  let tokenizerPath = folder ? join(dir, folder.tokenizer.file) : '';
  if (!folder || !existsSync(tokenizerPath)) {
    // a checkpoint saved without its tokenizer (the run folder had none) looks where older ones keep it
    if (folder && !existsSync(join(dir, 'state.json'))) throw new CheckpointError(`model folder ${dir} is incomplete: ${folder.tokenizer.file} is missing`);
    tokenizerPath = tokenizerPathOf(dir, runDir, state);
  }
  const tokJson = readTokenizerJson(tokenizerPath);
  const vocabSize = new TextTokenizer(tokJson).vocabSize;
  const config = folder ? folder.model : modelConfigOf(state, vocabSize, dir);
  if (config.vocab_size !== vocabSize) {
    throw new CheckpointError(`checkpoint ${dir}: the model has ${config.vocab_size} vocabulary rows but ${tokenizerPath} has ${vocabSize} tokens`);
  }
  const tokenizer = new TextTokenizer(tokJson, { maxLength: config.max_text_len });
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) throw new CheckpointError(`checkpoint ${dir} is incomplete: model.safetensors is missing`);
  let tensors: Map<string, Tensor>;
  try {
    tensors = loadSafetensors(weights).tensors;
  } catch (e) {
    throw new CheckpointError(`cannot read ${weights}: ${(e as Error).message}`);
  }
  const model = createModel(config);
  try {
    model.loadStateDict(tensors, { strict: true });
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError) throw new CheckpointError(`checkpoint ${dir} does not match its model config: ${e.message}`);
    throw e;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  model.eval();
  const task = folder ? folder.task : typeof state.task === 'string' ? state.task : 'pretrain';
  return { dir, runDir, task, state, folder, config, model, tokenizer, tokenizerPath };
}
