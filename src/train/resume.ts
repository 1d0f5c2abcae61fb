// Restoring a trainer from one of its checkpoints: what pretraining and fine-tuning share.
import { setRngState } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import type { AdamW } from '../optim/index.js';
import type { DataLoader, LoaderState } from '../data/loader.js';
import { loadCheckpoint } from './checkpoint.js';
import { TrainConfigError } from './errors.js';

/** One rank's data position and libtorch generator state (base64), as a checkpoint stores them. */
export interface RankState {
  rng: string;
  loader: LoaderState;
}

export const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/**
 * Loads the weights and optimiser moments of `dir` and puts this rank's loader position and generator
 * back. `saved.ranks` holds every rank's state (data-parallel runs); a one-process checkpoint has only
 * `rng` / `loader`. A run resumes with the number of processes that wrote it.
 */
export function restoreTrainingState(
  dir: string, model: Module, opt: AdamW, loader: DataLoader,
  saved: { rng: string; loader: LoaderState; ranks?: RankState[] }, rank = 0, world = 1,
): void {
  const ck = loadCheckpoint(dir);
  model.loadStateDict(ck.model, { strict: true });
  opt.loadStateDict(ck.optimizer);
  for (const t of [...ck.model.values(), ...ck.optimizer.tensors.values()]) t.dispose();
  const ranks = saved.ranks ?? [{ rng: saved.rng, loader: saved.loader }];
  const mine = ranks[rank];
  if (ranks.length !== world || !mine) {
    throw new TrainConfigError(`checkpoint ${dir} was written by ${ranks.length} process(es); resume it with the same number (now ${world})`);
  }
  loader.restore(mine.loader);
  setRngState(unb64(mine.rng));
}
