// `flm eval <task>` for every registered task with an evaluation: metrics of a fine-tuned checkpoint
// (spec F); `--zero-shot` retrieval from a pretraining run, scored by its own pretraining loss
// (tasks/retrieval/zero-shot.ts). Captioning registers its own (cli/caption.ts: beam search options).
import type { Command } from 'commander';
import { printJson } from './json.js';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { commandGroup } from './inference.js';
import { FINETUNE_TASKS, type TaskEntry } from '../tasks/registry.js';
import type { EvaluateTask } from '../api/evaluate.js';
import { formatVqaBreakdown } from '../tasks/vqa/breakdown.js';
import { formatNlvr2Breakdown } from '../tasks/nlvr2/breakdown.js';

interface EvalFlags {
  checkpoint: string; data?: string; which?: string; zeroShot?: boolean; batchSize?: string; limit?: string; workers?: string;
  threads?: string; predictions?: string; json?: boolean; quiet?: boolean;
}

const ORDER = ['tr_r1', 'tr_r5', 'tr_r10', 'ir_r1', 'ir_r5', 'ir_r10', 'rsum', 'r1_sum', 'vqa_score', 'accuracy'];

function addTask(group: Command, entry: TaskEntry): void {
  const task = entry.spec.name;
  const cmd = group.command(task)
    .description(entry.spec.evaluation?.description ?? `${task} metrics (spec F)`)
    .requiredOption('--checkpoint <dir>', `fine-tuned run (its best checkpoint, else the latest) or checkpoint folder${task === 'retrieval' ? '; with --zero-shot a pretraining run' : ''}`)
    .option('--data <spec>', `evaluation data (default ${entry.spec.testData ?? 'none'})`)
    .option('--which <name>', 'checkpoint of a run folder: best | latest | a step folder name (step-00000100)')
    .option('--batch-size <n>', task === 'retrieval' ? 'texts per image pass (official 64)' : 'examples per pass')
    .option('--limit <n>', task === 'retrieval' ? 'the first n images (with their captions) only' : 'stop after n examples (whole batches)')
    .option('--workers <n>', 'image decode worker threads')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--json', 'print one JSON object with the metrics')
    .option('--quiet', 'no progress messages');
  if (task === 'retrieval') cmd.option('--zero-shot', 'score pairs by the pretraining objective\'s loss of the caption given the image (no fine-tuning)');
  cmd.option('--predictions <file>', task === 'retrieval'
    ? 'write each query\'s rank of its first correct item as JSON ({images: [{image_id, rank}], texts: [{text, image_id, rank}]}; R@K is the share of ranks <= K)'
    : task === 'nlvr2' ? 'write each statement\'s verdict as JSON ([{identifier, prediction: "True"|"False", sentence, label, statement_type?}]: the official prediction keys, then the statement, its label and, where the data names it, its type)'
      : 'write the predictions as JSON (VQA: [{question_id, answer}], the EvalAI submission format)');
  cmd.action(async (f: EvalFlags, c: Command) => {
    const { evaluate } = await import('../api/evaluate.js');
    const threads = num('threads', f.threads, { int: true, min: 0 });
    const batchSize = num('batch-size', f.batchSize, { int: true, min: 1 });
    const limit = num('limit', f.limit, { int: true, min: 1 });
    const workers = num('workers', f.workers, { int: true, min: 0 });
    const r = await evaluate(f.checkpoint, {
      task: task as EvaluateTask, data: f.data ?? entry.spec.testData ?? '', zeroShot: f.zeroShot ?? false,
      ...(f.which !== undefined ? { which: f.which } : {}), ...(batchSize !== undefined ? { batchSize } : {}),
      ...(limit !== undefined ? { limit } : {}), ...(workers !== undefined ? { workers } : {}), ...(threads ? { threads } : {}),
      ...(f.predictions ? { predictions: f.predictions } : {}),
      ...(f.quiet ? {} : { progress: (m: string) => console.error(`flm eval ${task}: ${m}`) }),
    });
    const { predictions: _p, ranks: _r, judgements: _j, ...summary } = r;
    if (f.json) printJson(`eval ${task}`, summary.metrics, summary);
    else {
      console.log(`checkpoint  ${r.checkpoint} (step ${r.step})${r.zeroShotObjective ? `, zero-shot by the ${r.zeroShotObjective} loss` : ''}`);
      console.log(`data        ${r.data}`);
      const keys = Object.keys(r.metrics).sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
      const width = Math.max(11, ...keys.map((k) => k.length));
      for (const k of keys) {
        const v = r.metrics[k]!;
        console.log(`${k.padEnd(width)} ${/^(tr|ir)_r|^vqa_(prior_)?score|accuracy/.test(k) ? `${(100 * v).toFixed(2)}%` : Number.isInteger(v) ? v : v.toFixed(4)}`);
      }
      if (r.breakdown) for (const line of ['', ...formatVqaBreakdown(r.breakdown)]) console.log(line);
      if (r.statementBreakdown) for (const line of ['', ...formatNlvr2Breakdown(r.statementBreakdown)]) console.log(line);
    }
    setExitCode(c, 0);
  });
}

export function registerEval(p: Command): void {
  const group = commandGroup(p, 'eval', 'evaluate a checkpoint: a fine-tuned one, or a pretraining run with eval retrieval --zero-shot');
  for (const entry of FINETUNE_TASKS) if (entry.spec.evaluation && !entry.spec.evaluation.ownCommand) addTask(group, entry);
}
