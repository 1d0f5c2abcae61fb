// Where the weights of a --from source are: a .safetensors file, a converted model folder (flm
// convert), a checkpoint folder, or a run folder (its latest checkpoint); and its tokenizer, if any.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveCheckpoint } from '../../train/checkpoint.js';
import { TrainConfigError } from '../../train/errors.js';

/** The weights file of a --from source and the tokenizer that came with it (if any). */
export function weightsSource(path: string): { weights: string; tokenizer: string | null } {
  const p = resolve(path);
  if (!existsSync(p)) throw new TrainConfigError(`from: ${path} does not exist`);
  if (statSync(p).isFile()) return { weights: p, tokenizer: null };
  const dir = existsSync(join(p, 'model.safetensors')) ? p : resolveCheckpoint(p, 'latest');
  if (!dir) throw new TrainConfigError(`from: ${path} holds neither model.safetensors nor checkpoints/latest`);
  const tokenizer = [join(dir, 'tokenizer.json'), join(p, 'tokenizer.json')].find((f) => existsSync(f)) ?? null;
  return { weights: join(dir, 'model.safetensors'), tokenizer };
}

