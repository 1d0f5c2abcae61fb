// Where the weights of a --from source are: a .safetensors file, a converted model folder (flm
// convert), a checkpoint folder, or a run folder (its latest checkpoint); and its tokenizer, if any.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveCheckpoint } from '../../train/checkpoint.js';
import { TrainConfigError } from '../../train/errors.js';

/** The size a folder's state.json (or a model folder's config.json) says its model has (the run's `preset`), or null. */
function presetOf(dir: string): string | null {
  for (const [file, key] of [['state.json', 'config'], ['config.json', 'settings']] as const) {
    try {
      const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, { preset?: unknown } | undefined>;
      const preset = json[key]?.preset;
      if (typeof preset === 'string') return preset;
    } catch {
      /* no such file, or not JSON: try the next */
    }
  }
  return null;
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

