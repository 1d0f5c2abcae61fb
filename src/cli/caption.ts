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
      const { evaluate } = await import('../api/evaluate.js');
      const threads = num('threads', f.threads, { int: true, min: 0 });
      const opts = {
        beam: num('beam', f.beam, { int: true, min: 1 }), lengthPenalty: num('length-penalty', f.lengthPenalty),
        maxSteps: num('max-steps', f.maxSteps, { int: true, min: 1 }), limit: num('limit', f.limit, { int: true, min: 1 }),
        batchSize: num('batch-size', f.batchSize, { int: true, min: 1 }),
      };
      const data = f.data ?? DEFAULT_CAPTION_EVAL_DATA;
      const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<Record<keyof typeof opts, number>>;
      const e = await evaluate(f.checkpoint, {
        task: 'caption', data, ...defined, ...(threads ? { threads } : {}), ...(f.predictions ? { predictions: f.predictions } : {}),
      });
      const r = e.captions!;
      const { predictions: _p, ...summary } = r;
      if (f.json) printJson('eval caption', e.metrics, { task: 'caption', checkpoint: e.checkpoint, step: e.step, data, selection: e.selection, ...summary });
      else {
        console.log(`images      ${r.images}${r.skipped ? ` (${r.skipped} skipped)` : ''}`);
        r.bleu.forEach((b, i) => console.log(`BLEU-${i + 1}      ${b.toFixed(4)}`));
        console.log(`CIDEr-D     ${r.cider.toFixed(4)}`);
        if (r.semantic) console.log(`semantic    ${r.semantic.accuracy.toFixed(4)} true, ${r.semantic.parsed.toFixed(4)} parsed, coverage ${r.semantic.coverage.toFixed(4)}, object recall ${r.semantic.objectRecall.toFixed(4)}`);
        console.log(`time        ${r.elapsedS.toFixed(1)} s`);
      }
      setExitCode(cmd, 0);
    });
}
