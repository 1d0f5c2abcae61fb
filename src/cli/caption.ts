// `flm finetune caption` and `flm eval caption` (spec D.11, F).
import type { Command } from 'commander';
import { readConfigFile, num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { DEFAULT_DATA } from './pretrain.js';

export const DEFAULT_CAPTION_EVAL_DATA = 'shapes:test?n=500&seed=1';

interface FinetuneFlags {
  config?: string; init?: string; preset?: string; data?: string; out?: string; steps?: string; batchSize?: string; microBatch?: string; lr?: string;
  warmup?: string; weightDecay?: string; lrMultHead?: string; lrMultCrossModal?: string; optimizer?: string; clipNorm?: string;
  compat?: string; newTokens?: boolean; tokenizer?: string; vocabSize?: string; dropRate?: string; augment?: boolean; workers?: string;
  seed?: string; threads?: string; logEvery?: string; saveEvery?: string; keepLast?: string; timeBudget?: string; evalData?: string;
  evalLimit?: string; beam?: string; resume?: boolean; quiet?: boolean; json?: boolean; precision?: string;
}

export function registerCaptionFinetune(finetune: Command): void {
  finetune.command('caption')
    .description('fine-tune an FLM checkpoint for captioning: AR loss with <bos>/<eos> (spec D.11)')
    .option('--config <file>', 'settings from a JSON or YAML file (command-line flags override it)')
    .option('--init <dir>', 'pretrained FLM run or checkpoint folder (default: random init of --preset)')
    .option('--preset <name>', 'model size without --init: tiny | mini | small | base')
    .option('--data <spec>', `caption training data (default ${DEFAULT_DATA})`)
    .option('--out <dir>', 'run folder (default runs/caption)')
    .option('--steps <n>', 'optimiser steps')
    .option('--batch-size <n>', 'images per step')
    .option('--micro-batch <n>', 'images per forward pass (gradient accumulation; default: the batch size)')
    .option('--lr <x>', 'base learning rate')
    .option('--warmup <x>', 'warmup steps, or a fraction of the steps when < 1')
    .option('--weight-decay <x>', 'AdamW weight decay')
    .option('--lr-mult-head <x>', 'learning-rate multiplier of the LM head (official 5)')
    .option('--lr-mult-cross-modal <x>', 'multiplier of the cross-modal layers (official 5)')
    .option('--optimizer <name>', 'adamw | adamw-hf')
    .option('--clip-norm <x>', 'global gradient-norm clipping (0: off)')
    .option('--compat <mode>', "'official': put the loss on the reconstructor as released (spec H.12); default: the forward stream")
    .option('--no-new-tokens', 'reuse <s> / </s> as bos / eos instead of adding <bos> / <eos> to the vocabulary')
    .option('--tokenizer <file>', 'without --init: a tokenizer.json (default: train a BPE vocabulary on the data)')
    .option('--vocab-size <n>', 'without --init: vocabulary size of the trained tokenizer')
    .option('--drop-rate <p>', 'dropout in the text and fusion layers')
    .option('--augment', 'RandAugment on the training images (official clip_randaug)')
    .option('--workers <n>', 'image decode worker threads')
    .option('--seed <n>', 'random seed')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--log-every <n>', 'log every n steps')
    .option('--save-every <n>', 'checkpoint (and evaluate) every n steps')
    .option('--keep-last <n>', 'checkpoints kept')
    .option('--time-budget <s>', 'stop after this many seconds of training')
    .option('--precision <p>', 'fp32 | bf16 (bfloat16 autocast of the forward pass)')
    .option('--eval-data <spec>', 'caption data scored at every checkpoint (BLEU-4, CIDEr-D; semantic accuracy on shapes)')
    .option('--eval-limit <n>', 'images of --eval-data scored (0: all)')
    .option('--beam <k>', 'beam size of the evaluation decoding (1: greedy)')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--quiet', 'no progress line')
    .option('--json', 'print a JSON summary at the end')
    .action(async (f: FinetuneFlags, cmd: Command) => {
      const { finetuneCaption, CAPTION_DEFAULTS } = await import('../tasks/caption.js');
      const file = f.config ? readConfigFile(f.config) : {};
      if (f.compat !== undefined && f.compat !== 'official') throw new Error(`--compat must be 'official', got '${f.compat}'`);
      const flags: Record<string, unknown> = {
        init: f.init, preset: f.preset, data: f.data, out: f.out, optimizer: f.optimizer, tokenizer: f.tokenizer, augment: f.augment, precision: f.precision,
        compat: f.compat, newTokens: f.newTokens === false ? false : undefined, evalData: f.evalData,
        steps: num('steps', f.steps, { int: true, min: 1 }), batchSize: num('batch-size', f.batchSize, { int: true, min: 1 }),
        microBatch: num('micro-batch', f.microBatch, { int: true, min: 1 }), lr: num('lr', f.lr, { min: 0 }), warmup: num('warmup', f.warmup, { min: 0 }), weightDecay: num('weight-decay', f.weightDecay, { min: 0 }),
        lrMultHead: num('lr-mult-head', f.lrMultHead, { min: 0 }), lrMultCrossModal: num('lr-mult-cross-modal', f.lrMultCrossModal, { min: 0 }),
        clipNorm: num('clip-norm', f.clipNorm, { min: 0 }), vocabSize: num('vocab-size', f.vocabSize, { int: true, min: 16 }),
        dropRate: num('drop-rate', f.dropRate, { min: 0, max: 0.99 }), workers: num('workers', f.workers, { int: true, min: 0 }),
        seed: num('seed', f.seed, { int: true, min: 0 }), threads: num('threads', f.threads, { int: true, min: 0 }),
        logEvery: num('log-every', f.logEvery, { int: true, min: 1 }), saveEvery: num('save-every', f.saveEvery, { int: true, min: 1 }),
        keepLast: num('keep-last', f.keepLast, { int: true, min: 1 }), timeBudgetS: num('time-budget', f.timeBudget, { min: 0 }),
        evalLimit: num('eval-limit', f.evalLimit, { int: true, min: 0 }), beam: num('beam', f.beam, { int: true, min: 1 }),
      };
      const known = new Set([...Object.keys(CAPTION_DEFAULTS), 'data', 'out']);
      for (const k of Object.keys(file)) if (!known.has(k)) throw new Error(`config file: unknown setting '${k}' (known: ${[...known].join(', ')})`);
      const merged: Record<string, unknown> = { ...CAPTION_DEFAULTS, data: DEFAULT_DATA, out: 'runs/caption', ...file };
      for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
      const r = await finetuneCaption(merged as unknown as Parameters<typeof finetuneCaption>[0], { resume: f.resume ?? false, quiet: f.quiet ?? false });
      const { predictions: _p, ...evalSummary } = r.eval ?? { predictions: null };
      if (f.json) console.log(JSON.stringify({ ...r, eval: r.eval ? evalSummary : null }));
      else console.error(`flm finetune caption: ${r.stopped} after ${r.steps} steps in ${r.elapsedS.toFixed(1)} s; final loss ${r.finalLoss?.toFixed(4) ?? '-'}; run folder ${r.runDir}`);
      setExitCode(cmd, 0);
    });
}

interface EvalFlags {
  checkpoint: string; data?: string; beam?: string; lengthPenalty?: string; maxSteps?: string; limit?: string; batchSize?: string;
  threads?: string; predictions?: string; json?: boolean;
}

export function registerCaptionEval(evalCmd: Command): void {
  evalCmd.command('caption')
    .description('caption a dataset with a caption checkpoint: BLEU-1..4 and CIDEr-D (pycocoevalcap-exact), semantic accuracy on shapes')
    .requiredOption('--checkpoint <dir>', 'caption run (its best checkpoint, else the latest) or checkpoint folder')
    .option('--data <spec>', `caption dataset (default ${DEFAULT_CAPTION_EVAL_DATA})`)
    .option('--beam <k>', 'beam size (1: greedy, the official decoder)', '1')
    .option('--length-penalty <x>', 'beam score = sum log p / length^x', '1')
    .option('--max-steps <n>', 'generated tokens at most', '30')
    .option('--limit <n>', 'score the first n images only')
    .option('--batch-size <n>', 'images per decoding batch', '32')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--predictions <file>', 'write the captions and references as JSON')
    .option('--json', 'print the scores as JSON')
    .action(async (f: EvalFlags, cmd: Command) => {
      const { loadRunModel } = await import('../tasks/inference-model.js');
      const { captionModelOf } = await import('../tasks/infer-caption.js');
      const { evaluateCaptions } = await import('../tasks/caption-eval.js');
      const { setNumThreads } = await import('../tensor/index.js');
      const { writeFileAtomic } = await import('../io/atomic.js');
      const threads = num('threads', f.threads, { int: true, min: 0 });
      if (threads) setNumThreads(threads);
      const opts = {
        beam: num('beam', f.beam, { int: true, min: 1 }), lengthPenalty: num('length-penalty', f.lengthPenalty),
        maxSteps: num('max-steps', f.maxSteps, { int: true, min: 1 }), limit: num('limit', f.limit, { int: true, min: 1 }),
        batchSize: num('batch-size', f.batchSize, { int: true, min: 1 }),
      };
      const run = await loadRunModel(f.checkpoint, { which: 'auto' });
      try {
        const { model, tokens } = captionModelOf(run);
        const r = await evaluateCaptions(model, run.tokenizer, tokens, f.data ?? DEFAULT_CAPTION_EVAL_DATA, opts);
        if (f.predictions) writeFileAtomic(f.predictions, JSON.stringify(r.predictions, null, 1));
        const { predictions: _p, ...summary } = r;
        if (f.json) console.log(JSON.stringify({ checkpoint: run.dir, ...summary }));
        else {
          console.log(`images      ${r.images}${r.skipped ? ` (${r.skipped} skipped)` : ''}`);
          r.bleu.forEach((b, i) => console.log(`BLEU-${i + 1}      ${b.toFixed(4)}`));
          console.log(`CIDEr-D     ${r.cider.toFixed(4)}`);
          if (r.semantic) console.log(`semantic    ${r.semantic.accuracy.toFixed(4)} true, ${r.semantic.parsed.toFixed(4)} parsed, coverage ${r.semantic.coverage.toFixed(4)}`);
          console.log(`time        ${r.elapsedS.toFixed(1)} s`);
        }
      } finally {
        run.model.dispose();
      }
      setExitCode(cmd, 0);
    });
}
