// One-command inference on a checkpoint: `flm caption`, `flm vqa`, `flm retrieve`, `flm embed`; and
// `flm eval caption` (cli/caption.ts), attached to the `eval` command group whoever registers it first.
import type { Command } from 'commander';
import { printJson } from './json.js';
import { num } from './config-file.js';
import { setExitCode } from './exit-code.js';
import { registerCaptionEval } from './caption.js';

/** The subcommand group `name` of p, created when no one has registered it yet. */
export function commandGroup(p: Command, name: string, description: string): Command {
  return p.commands.find((c) => c.name() === name) ?? p.command(name).description(description);
}

type RunModel = import('../tasks/common/inference-model.js').RunModel;

async function withRun<T>(checkpoint: string, fn: (run: RunModel) => Promise<T>, threads?: string): Promise<T> {
  const { loadRunModel } = await import('../tasks/common/inference-model.js');
  const n = num('threads', threads, { int: true, min: 0 });
  if (n) (await import('../tensor/index.js')).setNumThreads(n);
  const run = await loadRunModel(checkpoint, { which: 'auto' });
  try {
    return await fn(run);
  } finally {
    run.model.dispose();
  }
}

export function registerInference(p: Command): void {
  registerCaptionEval(commandGroup(p, 'eval', 'evaluate a checkpoint: a fine-tuned one, or a pretraining run with eval retrieval --zero-shot'));

  p.command('caption')
    .description('caption image files (PNG, JPEG, WebP) with a caption checkpoint')
    .argument('<image...>', 'image files')
    .requiredOption('--checkpoint <dir>', 'caption run (its best checkpoint, else the latest) or checkpoint folder')
    .option('--beam <k>', 'beam size (1: greedy, the official decoder)', '1')
    .option('--length-penalty <x>', 'beam score = sum log p / length^x', '1')
    .option('--max-steps <n>', 'generated tokens at most', '30')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--json', 'print one JSON object {command, metrics, captions: [{path, caption, stopped}]}')
    .action(async (images: string[], f: { checkpoint: string; beam: string; lengthPenalty: string; maxSteps: string; threads?: string; json?: boolean }, cmd: Command) => {
      const { captionFiles } = await import('../tasks/caption/infer.js');
      const o = {
        beam: num('beam', f.beam, { int: true, min: 1 }), lengthPenalty: num('length-penalty', f.lengthPenalty),
        maxSteps: num('max-steps', f.maxSteps, { int: true, min: 1 }),
      };
      const out = await withRun(f.checkpoint, (run) => captionFiles(run, images, o), f.threads);
      if (f.json) printJson('caption', { images: out.length }, { captions: out });
      else for (const c of out) console.log(images.length === 1 ? c.caption : `${c.path}\t${c.caption}`);
      setExitCode(cmd, 0);
    });

  p.command('vqa')
    .description('answer a question about an image with a VQA checkpoint (argmax over its answer vocabulary)')
    .argument('<image>', 'image file')
    .argument('<question>', 'the question')
    .requiredOption('--checkpoint <dir>', 'VQA run or checkpoint folder')
    .option('--top <k>', 'also list the k best answers with their scores', '1')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--json', 'print JSON')
    .action(async (image: string, question: string, f: { checkpoint: string; top: string; threads?: string; json?: boolean }, cmd: Command) => {
      const { answerQuestion } = await import('../tasks/vqa/infer.js');
      const top = num('top', f.top, { int: true, min: 1 })!;
      const answers = await withRun(f.checkpoint, (run) => answerQuestion(run, image, question, { top }), f.threads);
      if (f.json) printJson('vqa', { score: answers[0]?.score ?? null }, { image, question, answer: answers[0]?.answer, answers });
      else if (top === 1) console.log(answers[0]?.answer ?? '');
      else for (const a of answers) console.log(`${a.score.toFixed(4)}\t${a.answer}`);
      setExitCode(cmd, 0);
    });

  p.command('retrieve')
    .description('rank the images of a folder for a text (rank/ITM head, caption likelihood, or the pretraining loss)')
    .requiredOption('--images <dir>', 'folder of image files')
    .requiredOption('--text <text>', 'the query text')
    .requiredOption('--checkpoint <dir>', 'run or checkpoint folder')
    .option('--top <k>', 'images listed', '5')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--json', 'print JSON')
    .action(async (f: { images: string; text: string; checkpoint: string; top: string; threads?: string; json?: boolean }, cmd: Command) => {
      const { retrieveImages } = await import('../tasks/retrieval/infer.js');
      const { listImages } = await import('../tasks/common/inference-inputs.js');
      const top = num('top', f.top, { int: true, min: 1 })!;
      const files = listImages(f.images);
      const r = await withRun(f.checkpoint, (run) => retrieveImages(run, files, f.text), f.threads);
      const best = r.ranked.slice(0, top);
      if (f.json) printJson('retrieve', { images: files.length, top_score: best[0]?.score ?? null }, { text: f.text, score: r.score, ranked: best });
      else {
        console.error(`flm retrieve: ${files.length} images scored by ${r.score}`);
        for (const x of best) console.log(`${x.score.toFixed(4)}\t${x.path}`);
      }
      setExitCode(cmd, 0);
    });

  p.command('embed')
    .description('write image features (CLIP class token) or text features (CLS of the uni-modal text layers) to a safetensors file')
    .requiredOption('--checkpoint <dir>', 'run or checkpoint folder')
    .option('--images <dir>', 'folder of image files')
    .option('--texts <file>', 'text file, one text per line')
    .requiredOption('--out <file>', 'output .safetensors (tensor "features" [N, D], metadata "names")')
    .option('--threads <n>', 'intra-op threads (0: all cores)')
    .option('--json', 'print one JSON object {command, metrics: {count, dim}, kind, out}')
    .action(async (f: { checkpoint: string; images?: string; texts?: string; out: string; threads?: string; json?: boolean }, cmd: Command) => {
      if ((f.images === undefined) === (f.texts === undefined)) throw new Error('give exactly one of --images DIR or --texts FILE');
      const { embed } = await import('../tasks/common/embed.js');
      const { listImages, InputError } = await import('../tasks/common/inference-inputs.js');
      let input: { images: string[] } | { texts: string[] };
      if (f.images !== undefined) input = { images: listImages(f.images) };
      else {
        const { existsSync, readFileSync } = await import('node:fs');
        if (!existsSync(f.texts!)) throw new InputError(`text file ${f.texts} does not exist`);
        input = { texts: readFileSync(f.texts!, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0) };
      }
      const r = await withRun(f.checkpoint, (run) => embed(run, input, f.out), f.threads);
      if (f.json) printJson('embed', { count: r.count, dim: r.dim }, { kind: r.kind, out: r.out });
      else console.error(`flm embed: ${r.count} ${r.kind} features of size ${r.dim} written to ${r.out}`);
      setExitCode(cmd, 0);
    });
}
