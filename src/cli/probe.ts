// `flm probe --checkpoint DIR`: the race's probes on one checkpoint (src/compare/probe-checkpoint.ts).
import type { Command } from 'commander';
import { printJson } from './json.js';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { PROBE_DEFAULTS } from '../compare/defaults.js';

interface ProbeFlags {
  checkpoint: string; which?: string; data?: string; probeTrainData?: string; zsImages?: string; way?: string; mpImages?: string;
  lpTrain?: string; lpTest?: string; lpSteps?: string; workers?: string; threads?: string; json?: boolean;
}

export function registerProbe(p: Command): void {
  const P = PROBE_DEFAULTS;
  p.command('probe')
    .description('what a checkpoint has learnt, without fine-tuning: the race\'s probes (zero-shot K-way retrieval and minimal image pairs scored by the pretraining loss, for pretraining runs; linear probes of the frozen image tower, for any model)')
    .requiredOption('--checkpoint <dir>', 'run folder (its latest checkpoint), checkpoint folder or model folder')
    .option('--which <name>', 'checkpoint of a run folder: latest | best | a step folder name (step-00000100)')
    .option('--data <spec>', 'held-out images with captions (default shapes:test?n=1000&seed=1&size=<the model\'s image size>)')
    .option('--probe-train-data <spec>', 'linear-probe training images (default: the val split of a shapes --data, or train when --data is val)')
    .option('--zs-images <n>', `test images of the zero-shot K-way retrieval (default ${P.zsImages})`)
    .option('--way <k>', `candidates per zero-shot choice (default ${P.way})`)
    .option('--mp-images <n>', `test images the minimal image pairs are built from; shapes world, 0: none (default ${P.mpImages})`)
    .option('--lp-train <n>', `linear-probe training images (default ${P.lpTrain})`)
    .option('--lp-test <n>', `linear-probe test images (default ${P.lpTest})`)
    .option('--lp-steps <n>', `linear-probe optimiser steps; 0: no linear probe (default ${P.lpSteps})`)
    .option('--workers <n>', 'image decode worker threads (default 1)')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--json', 'print one JSON object with the metrics')
    .action(async (f: ProbeFlags, cmd: Command) => {
      const { setNumThreads } = await import('../tensor/index.js');
      const { probeCheckpoint } = await import('../compare/probe-checkpoint.js');
      const threads = num('threads', f.threads, { int: true, min: 0 });
      if (threads) setNumThreads(threads);
      const n = (name: string, v: string | undefined, min: number) => num(name, v, { int: true, min });
      const probes = Object.fromEntries(Object.entries({
        zsImages: n('zs-images', f.zsImages, 2), way: n('way', f.way, 2), mpImages: n('mp-images', f.mpImages, 0),
        lpTrain: n('lp-train', f.lpTrain, 0), lpTest: n('lp-test', f.lpTest, 0), lpSteps: n('lp-steps', f.lpSteps, 0),
      }).filter(([, v]) => v !== undefined));
      const workers = n('workers', f.workers, 0);
      const r = await probeCheckpoint(f.checkpoint, {
        ...(f.which !== undefined ? { which: f.which } : {}), ...(f.data !== undefined ? { data: f.data } : {}),
        ...(f.probeTrainData !== undefined ? { probeTrainData: f.probeTrainData } : {}), probes, ...(workers !== undefined ? { workers } : {}),
      });
      if (f.json) printJson('probe', r.metrics, { ...r });
      else {
        console.log(`checkpoint  ${r.checkpoint} (step ${r.step}, ${r.task})${r.objective ? `, captions scored by the ${r.objective} loss` : ', a fine-tuned model: linear probes only'}`);
        console.log(`data        ${r.data}${r.probeTrainData ? `; linear probes fitted on ${r.probeTrainData}` : ''}`);
        const width = Math.max(11, ...Object.keys(r.metrics).map((k) => k.length));
        for (const [k, v] of Object.entries(r.metrics)) console.log(`${k.padEnd(width)} ${k === 'probe_s' ? `${v} s` : v.toFixed(3)}`);
      }
      setExitCode(cmd, 0);
    });
}
