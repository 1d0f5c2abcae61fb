import type { Command } from 'commander';
import { readConfigFile, num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { addLaunchOptions } from './launch.js';

export const DEFAULT_DATA = 'shapes:train?n=20000&seed=1';

interface PretrainFlags {
  config?: string; objective?: string; preset?: string; data?: string; out?: string; steps?: string; batchSize?: string; microBatch?: string;
  lr?: string; warmup?: string; weightDecay?: string; clipNorm?: string; seed?: string; threads?: string; logEvery?: string;
  saveEvery?: string; keepLast?: string; spanCorruptionRate?: string; mlmRate?: string; tokenizer?: string; vocabSize?: string;
  workers?: string; augment?: boolean; timeBudget?: string; resume?: boolean; optimizer?: string; lrMultHead?: string;
  lrMultCrossModal?: string; dropRate?: string; json?: boolean; quiet?: boolean;
  init?: string; precision?: string;
  nproc?: number; nnodes?: number; nodeRank?: number; masterAddr?: string; masterPort?: number; distTimeout?: number;
}

export function registerPretrain(p: Command): void {
  const cmd = p.command('pretrain')
    .description('pretrain a vision-language model with FLM (or the MLM / AR / PrefixLM baselines)')
    .option('--config <file>', 'settings from a JSON or YAML file (command-line flags override it)')
    .option('--objective <name>', 'flm | mlm | ar | prefixlm', undefined)
    .option('--preset <name>', 'model size: tiny | mini | small | base')
    .option('--data <spec>', `dataset spec (default ${DEFAULT_DATA}); see \`flm data --help\``)
    .option('--out <dir>', 'run folder: checkpoints, metrics.jsonl, curves (default runs/<objective>)')
    .option('--steps <n>', 'optimiser steps')
    .option('--batch-size <n>', 'effective batch (micro-batch x accumulation)')
    .option('--micro-batch <n>', 'examples per forward pass (default: the batch size)')
    .option('--lr <x>', 'base learning rate')
    .option('--lr-mult-head <x>', 'learning-rate multiplier of the heads (official 5)')
    .option('--lr-mult-cross-modal <x>', 'multiplier of the cross-modal and reconstructor layers (official 5)')
    .option('--warmup <x>', 'warmup steps, or a fraction of the steps when < 1')
    .option('--weight-decay <x>', 'AdamW weight decay (none on biases and LayerNorm weights)')
    .option('--optimizer <name>', 'adamw (torch) | adamw-hf (transformers 4.6, as the official code)')
    .option('--clip-norm <x>', 'global gradient-norm clipping (0: off)')
    .option('--span-corruption-rate <r>', 'FLM corruption rate r (default: the preset\'s)')
    .option('--mlm-rate <r>', 'MLM masking rate')
    .option('--drop-rate <p>', 'dropout in the text and fusion layers')
    .option('--tokenizer <file>', 'a Hugging Face tokenizer.json (default: train a BPE vocabulary on the data)')
    .option('--vocab-size <n>', 'vocabulary size of the trained tokenizer')
    .option('--workers <n>', 'image decode worker threads')
    .option('--augment', 'RandAugment on the training images')
    .option('--seed <n>', 'random seed')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--log-every <n>', 'log every n steps')
    .option('--save-every <n>', 'checkpoint every n steps')
    .option('--keep-last <n>', 'checkpoints kept')
    .option('--time-budget <s>', 'stop after this many seconds of training')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--init <file>', 'start from these weights (flm convert output), loaded by name')
    .option('--precision <p>', 'fp32 | bf16 (bfloat16 autocast of the forward pass; parameters and optimiser stay float32)')
    .option('--quiet', 'no progress line')
    .option('--json', 'print a JSON summary at the end');
  addLaunchOptions(cmd).action(async (f: PretrainFlags, cmd: Command) => {
      const { launchSelfIfRequested } = await import('../dist/launch.js');
      const launched = await launchSelfIfRequested(f);
      if (launched !== null) return setExitCode(cmd, launched);
      const { pretrain, PRETRAIN_DEFAULTS } = await import('../train/pretrain.js');
      const file = f.config ? readConfigFile(f.config) : {};
      const flags: Record<string, unknown> = {
        objective: f.objective, preset: f.preset, data: f.data, out: f.out, optimizer: f.optimizer, tokenizer: f.tokenizer,
        augment: f.augment, init: f.init, precision: f.precision,
        steps: num('steps', f.steps, { int: true, min: 1 }), batchSize: num('batch-size', f.batchSize, { int: true, min: 1 }),
        microBatch: num('micro-batch', f.microBatch, { int: true, min: 1 }), lr: num('lr', f.lr, { min: 0 }),
        lrMultHead: num('lr-mult-head', f.lrMultHead, { min: 0 }), lrMultCrossModal: num('lr-mult-cross-modal', f.lrMultCrossModal, { min: 0 }),
        warmup: num('warmup', f.warmup, { min: 0 }), weightDecay: num('weight-decay', f.weightDecay, { min: 0 }), clipNorm: num('clip-norm', f.clipNorm, { min: 0 }),
        spanCorruptionRate: num('span-corruption-rate', f.spanCorruptionRate, { min: 0, max: 1 }), mlmRate: num('mlm-rate', f.mlmRate, { min: 0, max: 1 }),
        dropRate: num('drop-rate', f.dropRate, { min: 0, max: 0.99 }), vocabSize: num('vocab-size', f.vocabSize, { int: true, min: 16 }),
        workers: num('workers', f.workers, { int: true, min: 0 }), seed: num('seed', f.seed, { int: true, min: 0 }), threads: num('threads', f.threads, { int: true, min: 0 }),
        logEvery: num('log-every', f.logEvery, { int: true, min: 1 }), saveEvery: num('save-every', f.saveEvery, { int: true, min: 1 }),
        keepLast: num('keep-last', f.keepLast, { int: true, min: 1 }), timeBudgetS: num('time-budget', f.timeBudget, { min: 0 }),
      };
      const known = new Set([...Object.keys(PRETRAIN_DEFAULTS), 'data', 'out']);
      for (const k of Object.keys(file)) if (!known.has(k)) throw new Error(`config file: unknown setting '${k}' (known: ${[...known].join(', ')})`);
      const merged: Record<string, unknown> = { ...PRETRAIN_DEFAULTS, data: DEFAULT_DATA, ...file };
      for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
      if (flags.microBatch === undefined && file.microBatch === undefined) merged.microBatch = merged.batchSize;
      merged.out ??= `runs/${String(merged.objective)}`;
      const r = await pretrain(merged as unknown as Parameters<typeof pretrain>[0], { resume: f.resume ?? false, quiet: f.quiet ?? false });
      if (process.env.RANK !== undefined && process.env.RANK !== '0') return setExitCode(cmd, 0);
      if (f.json) console.log(JSON.stringify(r));
      else console.error(`flm pretrain: ${r.stopped} after ${r.steps} steps in ${r.elapsedS.toFixed(1)} s; final loss ${r.finalLoss?.toFixed(4) ?? '-'}; run folder ${r.runDir}`);
      setExitCode(cmd, 0);
    });
}
