// `flm finetune retrieval|vqa|nlvr2`: fine-tune a pretraining run on a downstream task (tasks/finetune.ts).
import type { Command } from 'commander';
import { readConfigFile, num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { commandGroup } from './inference.js';
import { addLaunchOptions } from './launch.js';
import { TASK_DATA } from '../tasks/task-data.js';

const TASKS = {
  retrieval: 'image-text retrieval: rank_output over the true caption and random negatives, plus ITM (spec D.10)',
  vqa: 'VQA: answer classifier on cls_feats, BCE on soft scores (spec D.8)',
  nlvr2: 'NLVR2-style reasoning over two images: classifier on cat(cls0, cls1) (spec D.9)',
} as const;
type Task = keyof typeof TASKS;

interface FinetuneFlags {
  config?: string; from?: string; preset?: string; data?: string; valData?: string; out?: string; steps?: string; batchSize?: string;
  microBatch?: string; lr?: string; lrMultHead?: string; lrMultCrossModal?: string; warmup?: string; weightDecay?: string; optimizer?: string;
  clipNorm?: string; dropRate?: string; tokenizer?: string; vocabSize?: string; augment?: boolean; workers?: string; seed?: string;
  threads?: string; logEvery?: string; saveEvery?: string; evalEvery?: string; keepLast?: string; timeBudget?: string; negatives?: string;
  itmWeight?: string; evalBatch?: string; evalLimit?: string; minAnswerCount?: string; resume?: boolean; quiet?: boolean; json?: boolean; precision?: string;
  nproc?: number; nnodes?: number; nodeRank?: number; masterAddr?: string; masterPort?: number; distTimeout?: number;
}

function addTask(group: Command, task: Task): void {
  const cmd = group.command(task)
    .description(`fine-tune for ${TASKS[task]}`)
    .option('--config <file>', 'settings from a JSON or YAML file (command-line flags override it)')
    .option('--from <dir>', 'pretraining (or fine-tuning) run or checkpoint folder (default: random init of --preset)')
    .option('--preset <name>', 'model size without --from: tiny | mini | small | base')
    .option('--data <spec>', `training data (default ${TASK_DATA[task].data})`)
    .option('--val-data <spec>', `evaluated every --eval-every steps and at the end; picks the best checkpoint ('none': skip; default ${TASK_DATA[task].valData})`)
    .option('--out <dir>', `run folder (default runs/${task})`)
    .option('--steps <n>', 'optimiser steps')
    .option('--batch-size <n>', task === 'retrieval' ? 'images per step (each with 1 + negatives captions)' : 'examples per step')
    .option('--micro-batch <n>', 'examples per forward pass (default: the batch size)')
    .option('--lr <x>', 'base learning rate')
    .option('--lr-mult-head <x>', 'learning-rate multiplier of the task head')
    .option('--lr-mult-cross-modal <x>', 'multiplier of the cross-modal and reconstructor layers')
    .option('--warmup <x>', 'warmup steps, or a fraction of the steps when < 1')
    .option('--weight-decay <x>', 'AdamW weight decay (none on biases and LayerNorm weights)')
    .option('--optimizer <name>', 'adamw (torch) | adamw-hf (transformers 4.6, as the official code)')
    .option('--clip-norm <x>', 'global gradient-norm clipping (0: off)')
    .option('--drop-rate <p>', 'dropout in the text and fusion layers (default: the source model\'s)')
    .option('--tokenizer <file>', 'without --from: a tokenizer.json (default: train a BPE vocabulary on the data)')
    .option('--vocab-size <n>', 'without --from: vocabulary size of the trained tokenizer')
    .option('--augment', 'RandAugment on the training images (official clip_randaug)')
    .option('--workers <n>', 'image decode worker threads')
    .option('--seed <n>', 'random seed')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--log-every <n>', 'log every n steps')
    .option('--save-every <n>', 'checkpoint every n steps')
    .option('--eval-every <n>', 'evaluate --val-data (and checkpoint) every n steps')
    .option('--eval-batch <n>', task === 'retrieval' ? 'texts per image pass in evaluation' : 'examples per evaluation pass')
    .option('--eval-limit <n>', 'evaluate the first n images / examples of --val-data only (0: all)')
    .option('--keep-last <n>', 'checkpoints kept (the best one is kept in addition)')
    .option('--time-budget <s>', 'stop after this many seconds of training')
    .option('--precision <p>', 'fp32 | bf16 (bfloat16 autocast of the forward pass)')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--quiet', 'no progress line')
    .option('--json', 'print a JSON summary at the end');
  if (task === 'retrieval') {
    cmd.option('--negatives <n>', 'random captions per image besides the true one (official 15)')
      .option('--itm-weight <x>', 'weight of the ITM term (official 0.5; 0: off)');
  }
  if (task === 'vqa') cmd.option('--min-answer-count <n>', 'non-shapes data: answers seen at least n times form the vocabulary (official 9)');
  addLaunchOptions(cmd);
  cmd.action(async (f: FinetuneFlags, c: Command) => {
    const { launchSelfIfRequested } = await import('../dist/launch.js');
    const launched = await launchSelfIfRequested(f);
    if (launched !== null) return setExitCode(c, launched);
    const { finetune } = await import('../tasks/finetune.js');
    const { finetuneDefaults } = await import('../tasks/finetune-config.js');
    const file = f.config ? readConfigFile(f.config) : {};
    const flags: Record<string, unknown> = {
      from: f.from, preset: f.preset, data: f.data, valData: f.valData === 'none' ? null : f.valData, out: f.out, optimizer: f.optimizer,
      tokenizer: f.tokenizer, augment: f.augment, precision: f.precision,
      steps: num('steps', f.steps, { int: true, min: 1 }), batchSize: num('batch-size', f.batchSize, { int: true, min: 1 }),
      microBatch: num('micro-batch', f.microBatch, { int: true, min: 1 }), lr: num('lr', f.lr, { min: 0 }),
      lrMultHead: num('lr-mult-head', f.lrMultHead, { min: 0 }), lrMultCrossModal: num('lr-mult-cross-modal', f.lrMultCrossModal, { min: 0 }),
      warmup: num('warmup', f.warmup, { min: 0 }), weightDecay: num('weight-decay', f.weightDecay, { min: 0 }), clipNorm: num('clip-norm', f.clipNorm, { min: 0 }),
      dropRate: num('drop-rate', f.dropRate, { min: 0, max: 0.99 }), vocabSize: num('vocab-size', f.vocabSize, { int: true, min: 16 }),
      workers: num('workers', f.workers, { int: true, min: 0 }), seed: num('seed', f.seed, { int: true, min: 0 }), threads: num('threads', f.threads, { int: true, min: 0 }),
      logEvery: num('log-every', f.logEvery, { int: true, min: 1 }), saveEvery: num('save-every', f.saveEvery, { int: true, min: 1 }),
      evalEvery: num('eval-every', f.evalEvery, { int: true, min: 1 }), evalBatch: num('eval-batch', f.evalBatch, { int: true, min: 1 }),
      evalLimit: num('eval-limit', f.evalLimit, { int: true, min: 0 }), keepLast: num('keep-last', f.keepLast, { int: true, min: 1 }),
      timeBudgetS: num('time-budget', f.timeBudget, { min: 0 }), negatives: num('negatives', f.negatives, { int: true, min: 1 }),
      itmWeight: num('itm-weight', f.itmWeight, { min: 0 }), minAnswerCount: num('min-answer-count', f.minAnswerCount, { int: true, min: 1 }),
    };
    const defaults = finetuneDefaults(task);
    const known = new Set(Object.keys(defaults));
    for (const k of Object.keys(file)) if (!known.has(k) || k === 'task') throw new Error(`config file: unknown setting '${k}' (known: ${[...known].filter((x) => x !== 'task').join(', ')})`);
    const merged: Record<string, unknown> = { ...defaults, ...file, task };
    for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
    if (flags.microBatch === undefined && file.microBatch === undefined) merged.microBatch = merged.batchSize;
    const r = await finetune(merged as unknown as Parameters<typeof finetune>[0], { resume: f.resume ?? false, quiet: f.quiet ?? false });
    if (process.env.RANK !== undefined && process.env.RANK !== '0') return setExitCode(c, 0);
    if (f.json) console.log(JSON.stringify(r));
    else {
      const best = r.best ? `; best step ${r.best.step}: ${Object.entries(r.best.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' ')}` : '';
      console.error(`flm finetune ${task}: ${r.stopped} after ${r.steps} steps in ${r.elapsedS.toFixed(1)} s; final loss ${r.finalLoss?.toFixed(4) ?? '-'}${best}; run folder ${r.runDir}`);
    }
    setExitCode(c, 0);
  });
}

export function registerFinetune(p: Command): void {
  const group = commandGroup(p, 'finetune', 'fine-tune a checkpoint on a downstream task');
  for (const task of Object.keys(TASKS) as Task[]) addTask(group, task);
}
