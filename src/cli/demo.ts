import type { Command } from 'commander';
import { printJson } from './json.js';
import { num } from './config-file.js';

interface DemoFlags {
  steps?: string; retrievalSteps?: string; captionSteps?: string; vqaSteps?: string; preset?: string; out: string; threads?: string; quiet?: boolean; json?: boolean;
}

/** The README's main command (src/demo/demo.ts). */
export function registerDemo(p: Command): void {
  p.command('demo')
    .description('the whole path on the built-in shapes world (no downloads, minutes on a CPU): FLM pretraining, zero-shot retrieval, caption and VQA fine-tuning, with their metrics and examples')
    .option('--steps <n>', 'pretraining steps (default 600)')
    .option('--retrieval-steps <n>', 'also fine-tune retrieval for n steps (default 0: zero-shot retrieval only)')
    .option('--caption-steps <n>', 'caption fine-tuning steps (default 1000)')
    .option('--vqa-steps <n>', 'VQA fine-tuning steps (default 200; 0: none)')
    .option('--preset <name>', 'model size: mini (default) | tiny | small | base')
    .option('--out <dir>', 'folder of the three runs and demo.json', 'runs/demo')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--quiet', 'no progress lines')
    .option('--json', 'print the results as one JSON object')
    .action(async (f: DemoFlags) => {
      const { runDemo, formatDemo, DEMO_DEFAULTS } = await import('../demo/demo.js');
      const { PRESETS } = await import('../models/index.js');
      const { buildInfo } = await import('../tensor/index.js');
      const { availableParallelism } = await import('node:os');
      const preset = f.preset ?? DEMO_DEFAULTS.preset;
      if (!(preset in PRESETS)) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);
      const threads = num('threads', f.threads, { int: true, min: 0 }) ?? DEMO_DEFAULTS.threads;
      if (!f.quiet) console.error(`flm demo: libtorch ${buildInfo().torchVersion}, ${threads || availableParallelism()} thread(s)${threads ? '' : ' (all cores)'}`);
      const r = await runDemo({
        ...DEMO_DEFAULTS, out: f.out, preset: preset as typeof DEMO_DEFAULTS.preset, threads, quiet: f.quiet ?? false,
        pretrainSteps: num('steps', f.steps, { int: true, min: 2 }) ?? DEMO_DEFAULTS.pretrainSteps,
        retrievalSteps: num('retrieval-steps', f.retrievalSteps, { int: true, min: 0 }) ?? DEMO_DEFAULTS.retrievalSteps,
        captionSteps: num('caption-steps', f.captionSteps, { int: true, min: 1 }) ?? DEMO_DEFAULTS.captionSteps,
        vqaSteps: num('vqa-steps', f.vqaSteps, { int: true, min: 0 }) ?? DEMO_DEFAULTS.vqaSteps,
      });
      if (f.json) {
        printJson('demo', {
          pretrain_final_loss: r.pretrain.finalLoss, zero_shot_tr_r1: r.zeroShot.tr_r1, zero_shot_ir_r1: r.zeroShot.ir_r1,
          retrieval_tr_r1: r.retrieval?.tr_r1 ?? null, retrieval_ir_r1: r.retrieval?.ir_r1 ?? null,
          caption_bleu4: r.caption.bleu4, caption_cider: r.caption.cider, caption_semantic_accuracy: r.caption.semanticAccuracy, caption_object_recall: r.caption.objectRecall,
          vqa_score: r.vqa?.score ?? null, vqa_prior_score: r.vqa?.priorScore ?? null, seconds: r.seconds,
        }, r as unknown as Record<string, unknown>);
      }
      else console.log(formatDemo(r, f.out).join('\n'));
    });
}
