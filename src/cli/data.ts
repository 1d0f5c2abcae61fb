import type { Command } from 'commander';

function int(name: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function registerData(p: Command): void {
  const data = p.command('data').description('datasets: generate the built-in shapes world, inspect any dataset');
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
}
