/**
 * One AdamW update of every parameter of a preset's FLM model, fused (one vectorised pass per tensor) against
 * the same formula as separate libtorch ops, on the same random gradients, alternating which goes first.
 * Prints the median of the timed updates per path, one JSON line per thread count.
 *
 *   node dist/bench/adamw.js [--preset small] [--threads 1,2] [--repeat 25]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randn, setNumThreads, tidy } from '../src/tensor/index.js';
import { FLMModel, flmConfig, type PresetName } from '../src/models/index.js';
import { AdamW } from '../src/optim/index.js';

const { values: args } = parseArgs({
  options: { preset: { type: 'string', default: 'small' }, threads: { type: 'string', default: '1,2' }, repeat: { type: 'string', default: '25' } },
});
const WARMUP = 3;
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

const model = new FLMModel(flmConfig(args.preset as PresetName));
const params = model.parameters();
for (const p of params) p.grad = tidy(() => randn(p.shape));
const count = params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
for (const threads of args.threads.split(',').map(Number)) {
  setNumThreads(threads);
  const paths = { fused: new AdamW(params, { lr: 1e-4, weightDecay: 0.01 }), plain: new AdamW(params, { lr: 1e-4, weightDecay: 0.01, fused: false }) };
  const times: Record<keyof typeof paths, number[]> = { fused: [], plain: [] };
  for (let r = 0; r < Number(args.repeat); r++) {
    for (const k of r % 2 === 0 ? (['fused', 'plain'] as const) : (['plain', 'fused'] as const)) {
      const t0 = performance.now();
      paths[k].step();
      if (r >= WARMUP) times[k].push(performance.now() - t0);
    }
  }
  for (const o of Object.values(paths)) o.dispose();
  const [fused, plain] = [median(times.fused), median(times.plain)];
  console.log(JSON.stringify({ preset: args.preset, threads, params: count, tensors: params.length, fused_ms: +fused.toFixed(2), plain_ms: +plain.toFixed(2), speedup: +(plain / fused).toFixed(2) }));
}
model.dispose();
