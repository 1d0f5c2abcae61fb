// Training checkpoints: one folder per save under <run>/checkpoints/step-<N>/ holding
//   model.safetensors      the model's state dict (PyTorch names, aliases included) — readable by PyTorch
//   optimizer.safetensors  optimiser moments by parameter name
//   state.json             step, config, command line, metrics, optimiser scalars, RNG and data-loader state
//   config.json, tokenizer.json   (the trainer's `files`) what makes the folder a model folder usable on its
//                          own, copied anywhere (model-folder.ts)
// A folder is written under a temporary name and renamed into place; `latest` and `best` are small
// pointer files replaced atomically after that, so a kill during a save never breaks either.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Tensor } from '../tensor/index.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { publishDir, tempSibling, writeFileAtomic } from '../io/atomic.js';

export interface CheckpointState {
  step: number;
  /** anything JSON-serialisable: config, loader position, rng state (base64), metrics, best value... */
  [key: string]: unknown;
}

export interface SaveOptions {
  /** keep this many most recent step folders (the best one is kept in addition) */
  keepLast?: number;
  /** mark this checkpoint as the best so far */
  isBest?: boolean;
  /** more files written into the folder before it is published (name -> contents) */
  files?: Readonly<Record<string, string | Uint8Array>>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const STEP_DIR = /^step-(\d+)$/;

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

export function saveCheckpoint(
  runDir: string,
  model: Map<string, Tensor>,
  optimizer: { tensors: Map<string, Tensor>; meta: Record<string, unknown> },
  state: CheckpointState,
  o: SaveOptions = {},
): string {
  const root = checkpointsDir(runDir);
  mkdirSync(root, { recursive: true });
  const name = `step-${String(state.step).padStart(8, '0')}`;
  const final = join(root, name);
  const tmp = tempSibling(final);
  mkdirSync(tmp);
  try {
    saveSafetensors(join(tmp, 'model.safetensors'), model, { format: 'pt', step: String(state.step) });
    saveSafetensors(join(tmp, 'optimizer.safetensors'), optimizer.tensors, { format: 'flm-optimizer' });
    writeFileAtomic(join(tmp, 'state.json'), JSON.stringify({ ...state, optimizer: optimizer.meta }, null, 1));
    for (const [file, data] of Object.entries(o.files ?? {})) {
      if (basename(file) !== file || ['model.safetensors', 'optimizer.safetensors', 'state.json'].includes(file)) throw new CheckpointError(`saveCheckpoint: cannot write extra file '${file}'`);
      writeFileAtomic(join(tmp, file), data);
    }
    publishDir(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  writeFileAtomic(join(root, 'latest'), name + '\n');
  if (o.isBest) writeFileAtomic(join(root, 'best'), name + '\n');
  if (o.keepLast !== undefined) prune(root, o.keepLast);
  return final;
}

function pointer(root: string, which: 'latest' | 'best'): string | null {
  const p = join(root, which);
  if (!existsSync(p)) return null;
  return readFileSync(p, 'utf8').trim() || null;
}

function prune(root: string, keepLast: number): void {
  const keep = new Set([pointer(root, 'latest'), pointer(root, 'best')]);
  const steps = readdirSync(root).filter((d) => STEP_DIR.test(d)).sort();
  const old = steps.slice(0, Math.max(0, steps.length - Math.max(1, keepLast)));
  for (const d of old) if (!keep.has(d)) rmSync(join(root, d), { recursive: true, force: true });
  // leftovers of saves that were killed half-way
  for (const d of readdirSync(root)) if (d.startsWith('.step-') && d.includes('.tmp-')) rmSync(join(root, d), { recursive: true, force: true });
}

/** Resolves 'latest', 'best', a step folder or a checkpoint path to a folder, or null if none exists. */
export function resolveCheckpoint(runDirOrPath: string, which: 'latest' | 'best' | string = 'latest'): string | null {
  if (existsSync(join(runDirOrPath, 'state.json'))) return runDirOrPath;
  const root = checkpointsDir(runDirOrPath);
  if (!existsSync(root)) return null;
  const name = which === 'latest' || which === 'best' ? pointer(root, which) : which;
  if (!name) return null;
  const dir = join(root, name);
  return existsSync(join(dir, 'state.json')) ? dir : null;
}

export interface LoadedCheckpoint {
  dir: string;
  model: Map<string, Tensor>;
  optimizer: { tensors: Map<string, Tensor>; meta: Record<string, unknown> };
  state: CheckpointState;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
    if (!existsSync(join(dir, f))) throw new CheckpointError(`checkpoint ${dir} is incomplete: ${f} is missing`);
  }
  let state: CheckpointState & { optimizer?: Record<string, unknown> };
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState & { optimizer?: Record<string, unknown> };
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: state.json is not valid JSON (${(e as Error).message})`);
  }
  if (typeof state.step !== 'number') throw new CheckpointError(`checkpoint ${dir}: state.json has no step`);
  const model = loadSafetensors(join(dir, 'model.safetensors')).tensors;
  const opt = loadSafetensors(join(dir, 'optimizer.safetensors')).tensors;
  const { optimizer: meta, ...rest } = state;
  return { dir, model, optimizer: { tensors: opt, meta: meta ?? {} }, state: rest as CheckpointState };
}
