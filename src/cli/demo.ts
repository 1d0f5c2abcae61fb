import type { Command } from 'commander';
import { num } from './config-file.js';
import { DEFAULT_DATA } from './pretrain.js';

/** The README's main command: a short FLM pretraining on the built-in shapes world. */
export function registerDemo(p: Command): void {
  p.command('demo')
    .description('a short FLM pretraining run on the built-in shapes world (no downloads), printing the loss')
    .option('--steps <n>', 'optimiser steps', '200')
    .option('--preset <name>', 'model size', 'small')
    .option('--out <dir>', 'run folder', 'runs/demo')
    .action(async (f: { steps: string; preset: string; out: string }) => {
      const { pretrain, PRETRAIN_DEFAULTS } = await import('../train/pretrain.js');
      const { buildInfo, getNumThreads } = await import('../tensor/index.js');
      const b = buildInfo();
      console.error(`flm demo: libtorch ${b.torchVersion}, ${getNumThreads()} threads; FLM pretraining (${f.preset} preset) on ${DEFAULT_DATA}`);
      const r = await pretrain({
        ...PRETRAIN_DEFAULTS, objective: 'flm', preset: f.preset as 'small', data: DEFAULT_DATA, out: f.out,
        steps: num('steps', f.steps, { int: true, min: 2 })!, batchSize: 32, microBatch: 32, lr: 2e-4, warmup: 0.05, logEvery: 10, saveEvery: 100,
      }, { resume: false });
      console.error(`flm demo: ${r.steps} steps in ${r.elapsedS.toFixed(1)} s, final loss ${r.finalLoss?.toFixed(4)}; curves and checkpoints in ${r.runDir}`);
    });
}
