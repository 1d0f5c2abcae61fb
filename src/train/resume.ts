// Starting or resuming a trainer's run folder, and restoring a trainer from one of its checkpoints:
// what pretraining and fine-tuning share.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { manualSeed, setNumThreads, setRngState } from '../tensor/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { distEnv, initProcessGroup, type ProcessGroup } from '../dist/process-group.js';
import type { Module } from '../nn/index.js';
import type { AdamW } from '../optim/index.js';
import type { DataLoader, LoaderState } from '../data/loader.js';
import { checkpointsDir, loadCheckpoint, resolveCheckpoint } from './checkpoint.js';
import { TrainConfigError, upgradeSavedSettings, validateSettings } from '../config/resolve.js';
import type { TaskSpec, TrainSettings } from '../config/settings.js';

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

/** The settings a resumed run may change; the saved run defines everything else. */
const RESUME_MAY_CHANGE = ['steps', 'timeBudgetS', 'threads', 'tensorboard'] as const;

/**
 * Opens the run folder `c.out`. With `resume`, rank 0 finds the latest checkpoint (every rank learns
 * which) and every rank reads its state: the saved run defines the model, data and schedule, so its
 * settings replace `c` except for the length, time budget, threads and TensorBoard logging (older saved
 * settings are upgraded to today's names and checked). Without `resume`, a folder that holds
 * checkpoints is an error (its run would be mixed with the new one's: `latest`, `best`, pruning) unless
 * `overwrite`, which deletes them. Rank 0 writes config.json; the intra-op threads (all cores shared by
 * the ranks when 0) and the seed are set.
 */
export function openRun<C extends TrainSettings, S extends { config: unknown; task?: unknown }>(c: C, o: {
  spec: TaskSpec;
  resume: boolean;
  /** a new run may replace the checkpoints of an earlier run in the folder */
  overwrite?: boolean;
  /** the settings the caller gave explicitly (absent: all); on resume only these may change the saved ones */
  explicit?: ReadonlySet<string>;
  pg: ProcessGroup | null;
  say(message: string): void;
}): { c: C; saved: S | null; ckptDir: string | null } {
  const main = (o.pg?.rank ?? 0) === 0;
  let ckptDir = o.resume && main ? resolveCheckpoint(c.out, 'latest') : null;
  if (o.pg) ckptDir = o.pg.broadcastObject(ckptDir);
  if (!o.resume) {
    // every rank learns rank 0's verdict, so that none waits for the others at a later collective
    let refusal = main ? usedFolder(c.out, o.overwrite ?? false, o.say) : null;
    if (o.pg) refusal = o.pg.broadcastObject(refusal);
    if (refusal !== null) throw new TrainConfigError(refusal);
  }
  let saved: S | null = null;
  if (ckptDir) {
    const raw = JSON.parse(readFileSync(join(ckptDir, 'state.json'), 'utf8')) as Record<string, unknown>;
    saved = (o.spec.upgradeSaved ? o.spec.upgradeSaved(raw) : raw) as S;
    const task = typeof saved.task === 'string' ? saved.task : 'pretrain';
    if (task !== o.spec.name) throw new TrainConfigError(`${ckptDir} is a ${task} checkpoint; it cannot resume as ${o.spec.name}`);
    const old = upgradeSavedSettings(o.spec, (saved.config ?? {}) as Record<string, unknown>);
    const changed = Object.fromEntries(RESUME_MAY_CHANGE.filter((k) => o.explicit?.has(k) ?? true).map((k) => [k, c[k]]));
    c = validateSettings(o.spec, { ...old, ...changed, out: c.out }) as unknown as C;
  } else if (o.resume && main) {
    // a folder that was never a run is a mistyped path, not a run to start with every default
    if (!existsSync(c.out)) throw new TrainConfigError(`--resume: ${c.out} does not exist (nothing to resume)`);
    o.say(`no checkpoint in ${c.out}; starting a new run`);
  }
  if (main) {
    mkdirSync(c.out, { recursive: true });
    writeFileAtomic(join(c.out, 'config.json'), JSON.stringify(c, null, 1));
  }
  setNumThreads(c.threads || Math.max(1, Math.floor(availableParallelism() / (o.pg?.worldSize ?? 1))));
  manualSeed(c.seed);
  return { c, saved, ckptDir };
}

/**
 * A new run's folder: null when it holds no checkpoint (or `overwrite` deleted them), else the error
 * that says what to do.
 */
function usedFolder(out: string, overwrite: boolean, say: (m: string) => void): string | null {
  const latest = resolveCheckpoint(out, 'latest');
  const dir = checkpointsDir(out);
  // a save killed half-way leaves only a temporary folder: that is no run to protect
  const any = latest !== null || (existsSync(dir) && readdirSync(dir).some((d) => /^step-\d+$/.test(d)));
  if (!any) return null;
  if (!overwrite) {
    return `${out} already holds a run's checkpoints${latest !== null ? ` (latest: ${latest})` : ''}: continue it with --resume, `
      + 'or start the new run in another --out (--overwrite deletes the old checkpoints)';
  }
  rmSync(checkpointsDir(out), { recursive: true, force: true });
  say(`--overwrite: deleted the checkpoints of the earlier run in ${out}`);
  return null;
}

/**
 * The process group of a trainer started by `flm launch` / `--nproc` (null in a single process), this
 * process's place in it, and the check that the global batch splits over the ranks' micro-batches.
 */
export function trainerGroup(batchSize: number, microBatch: number): { pg: ProcessGroup | null; rank: number; world: number; main: boolean } {
  const env = distEnv();
  const pg = env && env.worldSize > 1 ? initProcessGroup() : null;
  const rank = pg?.rank ?? 0;
  const world = pg?.worldSize ?? 1;
  if (batchSize % (microBatch * world) !== 0) {
    pg?.destroy();
    throw new TrainConfigError(`batchSize (${batchSize}) must be a multiple of microBatch x world size (${microBatch} x ${world})`);
  }
  return { pg, rank, world, main: rank === 0 };
}
