import type { Command } from 'commander';
import { DATASET_SPEC_HELP } from '../data/spec-help.js';
import { setExitCode } from './exit-code.js';
import { num } from './config-file.js';
import { DEFAULT_EMOJI_CATEGORIES } from '../data/emoji/categories.js';

function int(name: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function registerData(p: Command): void {
  const data = p.command('data').description('datasets: generate the built-in shapes world or the emoji real-image set, inspect any dataset').addHelpText('after', '\n' + DATASET_SPEC_HELP);
  data
    .command('inspect <spec>')
    .description('read a whole dataset once and report images, captions, failures and splits')
    .option('--json', 'one JSON object: {command, metrics: {items, images, captions, failed, seconds}, failures, splits, ...}')
    .option('--no-decode', 'check that image files exist without decoding them')
    .action(async (spec: string, o: { json?: boolean; decode: boolean }, cmd: Command) => {
      const { dataInspectCommand } = await import('../data/commands.js');
      setExitCode(cmd, await dataInspectCommand(spec, { json: o.json ?? false, decode: o.decode }));
    });
  data
    .command('shapes')
    .description('write the shapes world to DIR as Karpathy JSON + PNG images (plus VQAv2 and NLVR2 files)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--n <n>', 'number of images over all splits', '1000')
    .option('--seed <seed>', 'generator seed', '0')
    .option('--image-size <px>', 'image side in pixels', '64')
    .action(async (o: { out: string; n: string; seed: string; imageSize: string }) => {
      const { shapesCommand } = await import('../data/shapes/index.js');
      await shapesCommand({ out: o.out, n: int('n', o.n, 1), seed: int('seed', o.seed), imageSize: int('image-size', o.imageSize, 8) });
    });
  data
    .command('emoji')
    .description('write a real-image set to DIR: scenes of one or two emoji (Fluent and Noto artwork, from their npm packages) with captions, as Karpathy JSON + JPEG images; val/test show concept pairs never seen in training')
    .requiredOption('--out <dir>', 'output folder')
    .option('--train <n>', 'training images', '20000')
    .option('--val <n>', 'validation images', '1000')
    .option('--test <n>', 'test images', '1000')
    .option('--size <px>', 'image side in pixels (16 to 1024)', '64')
    .option('--concepts <n>', 'concepts drawn from the categories (0: all, else at least 3)', '100')
    .option('--categories <list>', 'comma-separated emoji categories', DEFAULT_EMOJI_CATEGORIES.join(','))
    .option('--seed <seed>', 'generator seed', '1')
    .action(async (o: { out: string; train: string; val: string; test: string; size: string; concepts: string; categories: string; seed: string }) => {
      const { emojiCommand } = await import('../data/emoji/write.js');
      await emojiCommand({
        out: o.out, seed: int('seed', o.seed), size: int('size', o.size, 16), concepts: int('concepts', o.concepts),
        images: { train: int('train', o.train), val: int('val', o.val), test: int('test', o.test) },
        categories: o.categories.split(',').map((c) => c.trim()).filter((c) => c !== ''),
      });
    });
  const tok = p.command('tokenizer').description('tokenizers for from-scratch models');
  tok
    .command('train')
    .description('train a byte-level BPE (RoBERTa-style) or WordPiece (BERT-style) vocabulary; writes a Hugging Face tokenizer.json')
    .requiredOption('--corpus <specOrFile...>', 'dataset specs (their captions) and/or text files (one text per line)')
    .requiredOption('--out <file>', 'output tokenizer.json')
    .option('--vocab-size <n>', 'vocabulary size, special tokens included', '1024')
    .option('--kind <kind>', 'bpe | wordpiece', 'bpe')
    .option('--min-frequency <n>', 'pairs seen fewer times are never merged', '2')
    .action(async (o: { corpus: string[]; out: string; vocabSize: string; kind: string; minFrequency: string }, cmd: Command) => {
      if (o.kind !== 'bpe' && o.kind !== 'wordpiece') throw new Error(`--kind must be bpe or wordpiece, got '${o.kind}'`);
      const { tokenizerTrainCommand } = await import('../data/commands.js');
      setExitCode(cmd, await tokenizerTrainCommand({
        corpus: o.corpus, out: o.out, kind: o.kind, vocabSize: num('vocab-size', o.vocabSize, { int: true, min: 16 })!,
        minFrequency: num('min-frequency', o.minFrequency, { int: true, min: 1 }),
      }));
    });
}
