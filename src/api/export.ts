// exportModel() / `flm export`: a model folder to hand on — config.json, tokenizer.json,
// model.safetensors (the weights byte for byte, without the optimiser state) and a model card
// (README.md) — from a run folder (its best checkpoint, else the latest), a checkpoint folder, or a
// model folder. The weights are loaded once on the way, so a folder that does not load is never exported.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { publishDir, tempSibling, writeFileAtomic } from '../io/atomic.js';
import { modelFolderConfig, MODEL_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, type ModelFolderConfig } from '../train/model-folder.js';
import { loadRunModel, type RunModel } from '../tasks/common/inference-model.js';
import { modelCard, type TrainingRecord } from './model-card.js';

import { EXPORT_FORMATS, type ExportFormat } from './export-formats.js';

export { EXPORT_FORMATS, type ExportFormat };

export interface ExportOptions {
  /** the folder to write; it must not exist or be empty unless `force` */
  out: string;
  /** 'safetensors' (default): config.json + tokenizer.json + model.safetensors + README.md */
  format?: ExportFormat;
  /** in a run folder: 'best', 'latest' or a step folder name (default: best when the run has one, else latest) */
  which?: string;
  /** replace a non-empty `out` */
  force?: boolean;
}

export interface ExportResult {
  out: string;
  format: ExportFormat;
  /** the checkpoint (or model) folder exported */
  source: string;
  task: string;
  step: number;
  /** the files written, in `out` */
  files: string[];
}

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** state.json keys that are the trainer's own; the rest of an older checkpoint's state is its task head. */
const TRAINER_KEYS = new Set(['step', 'task', 'config', 'modelConfig', 'rng', 'loader', 'ranks', 'elapsedS', 'skippedNonFinite', 'lastLoss', 'best', 'lastEval', 'optimizer']);

/** The config.json of a checkpoint written before model folders existed, from what loadRunModel found. */
function legacyConfig(run: RunModel): ModelFolderConfig {
  const settings = (run.state.config ?? {}) as Record<string, unknown>;
  const head = Object.fromEntries(Object.entries(run.state).filter(([k]) => !TRAINER_KEYS.has(k)));
  if (run.task === 'pretrain' && typeof settings.objective === 'string') head.objective = settings.objective;
  return modelFolderConfig({ task: run.task, step: Number(run.state.step), model: run.config, vocabSize: run.tokenizer.vocabSize, head, settings });
}

function trainingRecord(dir: string): TrainingRecord | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as TrainingRecord;
  } catch {
    return null;
  }
}

export async function exportModel(source: string, o: ExportOptions): Promise<ExportResult> {
  const format = o.format ?? 'safetensors';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new ExportError(`format must be one of ${EXPORT_FORMATS.join(', ')}, got '${String(format)}'`);
  if (typeof o.out !== 'string' || o.out === '') throw new ExportError('give the output folder (--out DIR)');
  const out = resolve(o.out);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new ExportError(`${out} exists and is not a folder`);
    if (readdirSync(out).length > 0 && !o.force) throw new ExportError(`${out} is not empty (use --force to replace it)`);
  }
  const run = await loadRunModel(source, { which: o.which ?? 'auto' });
  try {
    if (resolve(run.dir) === out) throw new ExportError(`--out ${out} is the folder being exported`);
    const cfg = run.folder ?? legacyConfig(run);
    const record = trainingRecord(run.dir);
    mkdirSync(dirname(out), { recursive: true });
    const tmp = tempSibling(out);
    mkdirSync(tmp);
    try {
      copyFileSync(join(run.dir, WEIGHTS_FILE), join(tmp, WEIGHTS_FILE));
      copyFileSync(run.tokenizerPath, join(tmp, TOKENIZER_FILE));
      const config: ModelFolderConfig = { ...cfg, tokenizer: { ...cfg.tokenizer, file: TOKENIZER_FILE } };
      writeFileAtomic(join(tmp, MODEL_CONFIG_FILE), JSON.stringify(config, null, 1));
      writeFileAtomic(join(tmp, 'README.md'), modelCard(config, record, { name: basename(out), source: run.dir }));
      publishDir(tmp, out);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return { out, format, source: run.dir, task: cfg.task, step: cfg.step, files: [MODEL_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, 'README.md'] };
  } finally {
    run.model.dispose();
  }
}
