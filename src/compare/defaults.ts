// The race's defaults as plain data (the CLI shows them in --help without loading the engine).
//
// The default race fits in 30 minutes on a 2-core CPU: 3 contestants x 2 seeds x 100 s of training
// (10 min), the probes at 3 checkpoints and the initialisation (about 12 s per checkpoint; MLM, scored
// one word at a time, about 30 s), and each of those 24 checkpoints fine-tuned for 100 caption steps, the
// cheapest downstream task (about 23 s with its scoring; VQA 59 s, NLVR2 48 s, retrieval 73 s).
// `--full` (FULL_RACE) is longer and sharper: 3 seeds, 300 s per run, more test items, and every
// checkpoint fine-tuned on the four downstream tasks: hours on 2 cores (`--resume` continues it).
import { PRESETS, type PresetSpec } from '../models/config.js';
import type { RaceConfig } from './race-config.js';
import type { ProbeSettings } from './probes.js';

export const DOWNSTREAM_TASKS = ['vqa', 'nlvr2', 'retrieval', 'caption'] as const;
export type DownstreamTask = (typeof DOWNSTREAM_TASKS)[number];

/** Test items per downstream task when the race does not say (retrieval: images, in groups of K). */
export const DOWNSTREAM_TEST: Readonly<Record<DownstreamTask, number>> = { vqa: 1000, nlvr2: 1000, retrieval: 300, caption: 200 };

export interface DownstreamSettings {
  /** tasks to fine-tune every probed checkpoint on (empty: none) */
  tasks: string[];
  /** fine-tuning steps per task and checkpoint */
  steps: number;
  /** test items per task (null: DOWNSTREAM_TEST) */
  test: number | null;
}

export const PROBE_DEFAULTS: ProbeSettings = {
  zsImages: 100, way: 10, mpImages: 40, mpRefs: 1, lpSteps: 200, lpTrain: 1000, lpTest: 1000, mlmScoring: 'one-word', mlmPasses: 4, batch: 96,
};

export const RACE_DEFAULTS: Omit<RaceConfig, 'data' | 'testData' | 'probeTrainData' | 'out'> = {
  objectives: ['flm', 'mlm', 'ar'], seeds: 2, budgetS: 100, evals: 3, evalInit: true, preset: 'mini', batchSize: 32, lr: 3e-4,
  warmupSteps: 20, threads: 0, workers: 1, spanCorruptionRate: null, mlmRate: 0.15, probes: { ...PROBE_DEFAULTS },
  downstream: { tasks: ['caption'], steps: 100, test: null }, metric: null, resamples: 1000, bootstrapSeed: 0,
};

/** `--full`: what it changes in the defaults (flags given with it still win). */
export const FULL_RACE: Omit<RaceConfig, 'data' | 'testData' | 'probeTrainData' | 'out'> = {
  ...RACE_DEFAULTS, seeds: 3, budgetS: 300, evals: 3,
  probes: { ...PROBE_DEFAULTS, zsImages: 300, mpImages: 100, mpRefs: 2, lpTrain: 2000 },
  downstream: { tasks: ['vqa', 'nlvr2', 'retrieval', 'caption'], steps: 100, test: null },
};

/** The race's shapes-world specs at an image size: train / test (seed 1); the linear probe fits on val. */
export function raceDataAt(size: number): { data: string; testData: string } {
  return { data: `shapes:train?n=20000&seed=1&size=${size}`, testData: `shapes:test?n=1000&seed=1&size=${size}` };
}

/** The race's specs at the preset's image size. */
export function defaultRaceData(preset: string): { data: string; testData: string } {
  return raceDataAt((PRESETS as Record<string, PresetSpec>)[preset]?.image_size ?? 48);
}
