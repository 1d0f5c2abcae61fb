import type { Command } from 'commander';
import { printJson } from './json.js';
import { availableParallelism } from 'node:os';
import type { PresetName } from '../models/index.js';

function threadList(v: string | undefined): number[] {
  if (v === undefined) return [...new Set([1, availableParallelism()])];
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a positive integer, got '${v}'`);
  return [n];
}

const OBJECTIVES = ['flm', 'mlm', 'ar', 'prefixlm'];

export function registerBench(p: Command): void {
  const bench = p.command('bench').description('benchmarks against the PyTorch peer (same machine, threads and environment)');
  bench
    .command('engine')
    .description('tensor engine: per-op dispatch, matmul GFLOP/s, 4-layer transformer training step')
    .option('--threads <n>', 'intra-op threads (default: 1 and all cores, each a separate run)')
    .option('--quick', 'fewer repetitions')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--json', 'one JSON object: {command, metrics: {<case>.ratio ...}, rows}')
    .action(async (o: { threads?: string; quick?: boolean; peer: boolean; json?: boolean }) => {
      const { benchEngine } = await import('../bench/engine.js');
      const rows: Array<Record<string, unknown>> = [];
      const metrics: Record<string, number | null> = {};
      for (const t of threadList(o.threads)) {
        const r = benchEngine({ threads: t, quick: o.quick ?? false, peer: o.peer });
        if (r.peerError) console.error(`flm bench: ${r.peerError}; printing flm's figures alone`);
        for (const row of r.rows) {
          rows.push({ ...row, threads: t });
          metrics[`${row.case}@${t}.ratio`] = row.ratio ?? null;
          if (!o.json) console.log(`${row.case.padEnd(28)} threads=${t}  flm ${row.flm.toFixed(3)} ${row.unit}  pytorch ${row.pytorch?.toFixed(3) ?? '-'}  ratio ${row.ratio?.toFixed(3) ?? '-'}`);
        }
      }
      if (o.json) printJson('bench engine', metrics, { rows });
    });
  bench
    .command('step')
    .description('full pretraining steps (masks, forward, loss, backward, AdamW) vs the PyTorch reference (flm_bench.py)')
    .option('--preset <name>', 'model preset: tiny | mini | small | base (the PyTorch peer has no mini)', 'small')
    .requiredOption('--objective <name>', 'flm | mlm | ar | prefixlm')
    .option('--batch <n>', "batch size (default: the preset's)")
    .option('--steps <n>', 'timed steps', '20')
    .option('--warmup <n>', 'untimed steps first', '3')
    .option('--threads <n>', 'intra-op threads (default: all cores)')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--unbatched-streams', 'flm: run the l2r and r2l streams one after the other (the official order), not as one batch')
    .option('--json', 'one JSON object')
    .action(async (o: { preset: string; objective: string; batch?: string; steps: string; warmup: string; threads?: string; peer: boolean; unbatchedStreams?: boolean; json?: boolean }) => {
      if (!OBJECTIVES.includes(o.objective)) throw new Error(`--objective must be one of ${OBJECTIVES.join(', ')}, got '${o.objective}'`);
      if (!['tiny', 'mini', 'small', 'base'].includes(o.preset)) throw new Error(`--preset must be tiny, mini, small or base, got '${o.preset}'`);
      const { benchStep } = await import('../bench/step.js');
      const num = (name: string, v: string | undefined, min: number): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
        return n;
      };
      const r = benchStep({
        preset: o.preset as PresetName, objective: o.objective as 'flm', batch: num('batch', o.batch, 1),
        steps: num('steps', o.steps, 1), warmup: num('warmup', o.warmup, 0), threads: num('threads', o.threads, 1) ?? availableParallelism(), peer: o.peer,
        batchStreams: !o.unbatchedStreams,
      });
      if (r.peer_error) console.error(`flm bench: ${r.peer_error}; printing flm's figures alone`);
      if (o.json) printJson('bench step', { ms_per_step_median: r.ms_per_step_median, pytorch_ms_per_step_median: r.pytorch_ms_per_step_median ?? null, ratio: r.ratio ?? null }, { ...r });
      else {
        console.log(`${r.objective} (${r.preset}, batch ${r.batch}, ${r.threads} threads, ${r.params} params)`);
        console.log(`  flm      ${r.ms_per_step_median} ms/step (min ${r.ms_per_step_min}, max ${r.ms_per_step_max}), peak RSS ${r.peak_rss_mb} MB`);
        if (r.pytorch_ms_per_step_median !== undefined) console.log(`  pytorch  ${r.pytorch_ms_per_step_median} ms/step, peak RSS ${r.pytorch_peak_rss_mb} MB  -> ratio ${r.ratio}`);
      }
    });
}
