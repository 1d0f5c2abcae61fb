// The race's defaults as plain data (the CLI shows them in --help without loading the engine).
import { PRESETS, type PresetSpec } from '../models/config.js';
import type { RaceConfig } from './race.js';
import type { ProbeSettings } from './probes.js';

export const PROBE_DEFAULTS: ProbeSettings = { zsImages: 50, way: 10, mpImages: 40, mpRefs: 2, lpSteps: 200, lpTrain: 600, lpTest: 300, mlmScoring: 'one-word', mlmPasses: 4, batch: 96 };

export const RACE_DEFAULTS: Omit<RaceConfig, 'data' | 'testData' | 'probeTrainData' | 'out'> = {
  objectives: ['flm', 'mlm', 'ar'], seeds: 3, budgetS: 100, evals: 4, evalInit: true, preset: 'mini', batchSize: 32, lr: 3e-4,
  warmupSteps: 20, threads: 0, workers: 1, spanCorruptionRate: null, mlmRate: 0.15, probes: { ...PROBE_DEFAULTS }, metric: null, resamples: 1000, bootstrapSeed: 0,
};

/** Default specs at the preset's image size: shapes world train / test (seed 1), linear probe on val. */
export function defaultRaceData(preset: string): { data: string; testData: string } {
  const size = (PRESETS as Record<string, PresetSpec>)[preset]?.image_size ?? 48;
  return { data: `shapes:train?n=20000&seed=1&size=${size}`, testData: `shapes:test?n=1000&seed=1&size=${size}` };
}

