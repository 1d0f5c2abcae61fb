// Where the weights of a --from source are: a .safetensors file, a converted model folder (flm
// convert), a checkpoint folder, or a run folder (its latest checkpoint); and its tokenizer, if any.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveCheckpoint } from '../../train/checkpoint.js';
import { TrainConfigError } from '../../train/errors.js';

/** The size a folder's state.json says its model has (`config.preset` of an flm run), or null. */
function presetOf(dir: string): string | null {
  try {
    const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { config?: { preset?: unknown } };
    return typeof st.config?.preset === 'string' ? st.config.preset : null;
  } catch {
    return null;
  }
}

/** The weights file of a --from source, the tokenizer that came with it and the model size it records (if any). */
export function weightsSource(path: string): { weights: string; tokenizer: string | null; preset: string | null } {
  const p = resolve(path);
  if (!existsSync(p)) throw new TrainConfigError(`from: ${path} does not exist`);
  if (statSync(p).isFile()) return { weights: p, tokenizer: null, preset: null };
  const dir = existsSync(join(p, 'model.safetensors')) ? p : resolveCheckpoint(p, 'latest');
  if (!dir) throw new TrainConfigError(`from: ${path} holds neither model.safetensors nor checkpoints/latest`);
  const tokenizer = [join(dir, 'tokenizer.json'), join(p, 'tokenizer.json')].find((f) => existsSync(f)) ?? null;
  return { weights: join(dir, 'model.safetensors'), tokenizer, preset: presetOf(dir) };
}

