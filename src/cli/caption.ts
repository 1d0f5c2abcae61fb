// `flm eval caption` (spec D.11, F); `flm finetune caption` is built from the task registry (train-command.ts).
import type { Command } from 'commander';
import { printJson } from './json.js';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { CAPTION } from '../tasks/caption/spec.js';

export const DEFAULT_CAPTION_EVAL_DATA = CAPTION.testData;

interface EvalFlags {
  checkpoint: string; data?: string; beam?: string; lengthPenalty?: string; maxSteps?: string; limit?: string; batchSize?: string;
  threads?: string; predictions?: string; json?: boolean;
}

export function registerCaptionEval(evalCmd: Command): void {
  evalCmd.command('caption')
    .description('caption a dataset with a caption checkpoint: BLEU-1..4 and CIDEr-D (pycocoevalcap-exact), semantic accuracy and object recall on shapes')
    .requiredOption('--checkpoint <dir>', 'caption run (its best checkpoint, else the latest) or checkpoint folder')
    .option('--data <spec>', `caption dataset (default ${DEFAULT_CAPTION_EVAL_DATA})`)
    .option('--beam <k>', 'beam size (1: greedy, the official decoder)', '1')
    .option('--length-penalty <x>', 'beam score = sum log p / length^x', '1')
    .option('--max-steps <n>', 'generated tokens at most', '30')
    .option('--limit <n>', 'score the first n images only')
    .option('--batch-size <n>', 'images per decoding batch', '32')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--predictions <file>', 'write the captions and references as JSON')
    .option('--json', 'print the scores as one JSON object ({command, metrics, ...}; docs/json.md)')
    .action(async (f: EvalFlags, cmd: Command) => {
      const { loadRunModel } = await import('../tasks/common/inference-model.js');
      const { captionModelOf } = await import('../tasks/caption/infer.js');
      const { evaluateCaptions } = await import('../tasks/caption/eval.js');
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
        if (f.json) {
          const { captionMetrics } = await import('../tasks/caption/recipe.js');
          printJson('eval caption', captionMetrics(r), { task: 'caption', checkpoint: run.dir, step: run.state.step, data: f.data ?? DEFAULT_CAPTION_EVAL_DATA, selection: r.cider, ...summary });
        }
        else {
          console.log(`images      ${r.images}${r.skipped ? ` (${r.skipped} skipped)` : ''}`);
          r.bleu.forEach((b, i) => console.log(`BLEU-${i + 1}      ${b.toFixed(4)}`));
          console.log(`CIDEr-D     ${r.cider.toFixed(4)}`);
          if (r.semantic) console.log(`semantic    ${r.semantic.accuracy.toFixed(4)} true, ${r.semantic.parsed.toFixed(4)} parsed, coverage ${r.semantic.coverage.toFixed(4)}, object recall ${r.semantic.objectRecall.toFixed(4)}`);
          console.log(`time        ${r.elapsedS.toFixed(1)} s`);
        }
      } finally {
        run.model.dispose();
      }
      setExitCode(cmd, 0);
    });
}
