import type { Command } from 'commander';
import { printJson } from './json.js';
import { availableParallelism } from 'node:os';
import { defaultNumThreads } from '../config/threads.js';
import type { PresetName } from '../models/index.js';
import type { OpTime } from '../tensor/index.js';

function threadList(v: string | undefined): number[] {
  if (v === undefined) return [...new Set([1, availableParallelism()])];
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a positive integer, got '${v}'`);
  return [n];
}

const OBJECTIVES = ['flm', 'mlm', 'ar', 'prefixlm'];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The ops with the most self time on either side, side by side (ms per step). */
function printProfile(flm: OpTime[], peer: OpTime[] | undefined, peerError: string | undefined, rows = 30): void {
  const total = (ops: OpTime[]): number => ops.reduce((a, t) => a + t.selfMs, 0);
  const byName = new Map((peer ?? []).map((t) => [t.op, t]));
  const names = [...new Set([...flm.slice(0, rows), ...(peer ?? []).slice(0, rows)].map((t) => t.op))];
  const flmByName = new Map(flm.map((t) => [t.op, t]));
  names.sort((a, b) => Math.max(flmByName.get(b)?.selfMs ?? 0, byName.get(b)?.selfMs ?? 0) - Math.max(flmByName.get(a)?.selfMs ?? 0, byName.get(a)?.selfMs ?? 0));
  const cell = (t: OpTime | undefined): string => (t ? `${t.selfMs.toFixed(1).padStart(8)} ms ${String(Math.round(t.calls)).padStart(6)}x` : `${'-'.padStart(8)}    ${''.padStart(6)} `);
  console.log(`  profile (self time per step; sum flm ${total(flm).toFixed(1)} ms${peer ? `, pytorch ${total(peer).toFixed(1)} ms` : ''})`);
  console.log(`    ${'op'.padEnd(44)} ${'flm'.padStart(19)}   ${peer ? 'pytorch'.padStart(19) : ''}`);
  for (const n of names) console.log(`    ${n.slice(0, 44).padEnd(44)} ${cell(flmByName.get(n))}   ${peer ? cell(byName.get(n)) : ''}`);
  if (peerError) console.log(`    pytorch not profiled: ${peerError}`);
}

export function registerBench(p: Command): void {
  const bench = p.command('bench').description('benchmarks against the PyTorch peer (same machine, threads and environment)');
  bench
    .command('engine')
    .description('tensor engine: per-op dispatch, matmul GFLOP/s, 4-layer transformer training step')
    .option('--threads <n>', 'intra-op threads (default: 1 and all cores, each a separate run)')
    .option('--repeat <n>', 'whole runs (flm, then the PyTorch peer) per thread count; the figures are medians, the ratio the median of the runs\' ratios', '1')
    .option('--quick', 'fewer repetitions')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--json', 'one JSON object: {command, metrics: {<case>@<threads>.ratio ...}, rows}')
    .action(async (o: { threads?: string; repeat: string; quick?: boolean; peer: boolean; json?: boolean }) => {
      const repeat = Number(o.repeat);
      if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be an integer >= 1, got '${o.repeat}'`);
      const { benchEngine } = await import('../bench/engine.js');
      const rows: Array<Record<string, unknown>> = [];
      const metrics: Record<string, number | null> = {};
      for (const t of threadList(o.threads)) {
        // each run puts both sides on the machine back to back, so a run's ratio compares like with like
        // on a shared machine whose load drifts; the medians over runs are what is reported
        const runs = Array.from({ length: repeat }, () => {
          const r = benchEngine({ threads: t, quick: o.quick ?? false, peer: o.peer });
          if (r.peerError) console.error(`flm bench: ${r.peerError}; printing flm's figures alone`);
          return r.rows;
        });
        for (const [i, first] of runs[0]!.entries()) {
          const of = runs.map((rs) => rs[i]!);
          const med = (xs: (number | null)[]): number | null => (xs.some((x) => x === null) ? null : median(xs as number[]));
          const row = { ...first, flm: median(of.map((r) => r.flm)), pytorch: med(of.map((r) => r.pytorch)), ratio: med(of.map((r) => r.ratio)), threads: t };
          rows.push(repeat > 1 ? { ...row, runs: of.map((r) => ({ flm: r.flm, pytorch: r.pytorch, ratio: r.ratio })) } : row);
          metrics[`${row.case}@${t}.ratio`] = row.ratio;
          if (!o.json) console.log(`${row.case.padEnd(28)} threads=${t}  flm ${row.flm.toFixed(3)} ${row.unit}  pytorch ${row.pytorch?.toFixed(3) ?? '-'}  ratio ${row.ratio?.toFixed(3) ?? '-'}${repeat > 1 ? `  (median of ${repeat} runs)` : ''}`);
        }
      }
      if (o.json) printJson('bench engine', metrics, { rows });
    });
  bench
    .command('step')
    .description('full pretraining steps (masks, forward, loss, backward, AdamW) vs the PyTorch reference (flm_bench.py), with counted GFLOP per step and achieved GFLOP/s')
    .option('--preset <name>', 'model preset: tiny | mini | small | base (mini has no PyTorch-reference counterpart: flm alone)', 'small')
    .requiredOption('--objective <name>', 'flm | mlm | ar | prefixlm')
    .option('--batch <n>', "batch size (default: the preset's)")
    .option('--steps <n>', 'timed steps', '20')
    .option('--warmup <n>', 'untimed steps first', '3')
    .option('--threads <n>', `intra-op threads, or a list (1,2), each a separate run (default: ${defaultNumThreads()}, the process default)`)
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--unbatched-streams', 'flm: run the l2r and r2l streams one after the other (the official order), not as one batch')
    .option('--padded-rows', 'compute every padded row of the text layers, not only each caption\'s real tokens and first pad')
    .option('--profile <steps>', 'time every op over this many more steps on both sides and print where the time goes (self time per op, per step)')
    .option('--json', 'one JSON object')
    .action(async (o: { preset: string; objective: string; batch?: string; steps: string; warmup: string; threads?: string; peer: boolean; unbatchedStreams?: boolean; paddedRows?: boolean; profile?: string; json?: boolean }) => {
      if (!OBJECTIVES.includes(o.objective)) throw new Error(`--objective must be one of ${OBJECTIVES.join(', ')}, got '${o.objective}'`);
      if (!['tiny', 'mini', 'small', 'base'].includes(o.preset)) throw new Error(`--preset must be tiny, mini, small or base, got '${o.preset}'`);
      const { benchStep } = await import('../bench/step.js');
      const num = (name: string, v: string | undefined, min: number): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
        return n;
      };
      const threads = o.threads === undefined ? [defaultNumThreads()] : o.threads.split(',').map((t) => num('threads', t.trim(), 1)!);
      const runs = threads.map((t) => benchStep({
        preset: o.preset as PresetName, objective: o.objective as 'flm', batch: num('batch', o.batch, 1),
        steps: num('steps', o.steps, 1), warmup: num('warmup', o.warmup, 0), threads: t, peer: o.peer, batchStreams: !o.unbatchedStreams, packRows: !o.paddedRows,
        profile: num('profile', o.profile, 1) ?? 0,
      }));
      for (const r of runs) if (r.peer_error) console.error(`flm bench: ${r.peer_error}; printing flm's figures alone`);
      const metricsOf = (r: (typeof runs)[number], suffix: string): Record<string, number | null> => ({
        [`ms_per_step_median${suffix}`]: r.ms_per_step_median, [`pytorch_ms_per_step_median${suffix}`]: r.pytorch_ms_per_step_median ?? null,
        [`ratio${suffix}`]: r.ratio ?? null, [`gflop_per_step${suffix}`]: r.gflop_per_step, [`gflops${suffix}`]: r.gflops,
        [`peak_fraction${suffix}`]: r.peak_fraction, [`pytorch_gflop_per_step${suffix}`]: r.pytorch_gflop_per_step ?? null,
        [`pytorch_gflops${suffix}`]: r.pytorch_gflops ?? null, [`pytorch_peak_fraction${suffix}`]: r.pytorch_peak_fraction ?? null,
      });
      if (o.json) {
        // one thread count: the measurement's keys at the top level, as always; several: metrics per
        // thread count (<key>@<threads>) and the measurements under `runs`
        if (runs.length === 1) printJson('bench step', metricsOf(runs[0]!, ''), { ...runs[0]! });
        else printJson('bench step', Object.assign({}, ...runs.map((r) => metricsOf(r, `@${r.threads}`))) as Record<string, number | null>, { runs });
        return;
      }
      for (const r of runs) {
        const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
        console.log(`${r.objective} (${r.preset}, batch ${r.batch}, ${r.threads} threads, ${r.params} params${r.pack_rows ? '' : ', every padded text row'}${r.batch_streams === false ? ', streams one after the other' : ''})`);
        console.log(`  flm      ${r.ms_per_step_median} ms/step (min ${r.ms_per_step_min}, max ${r.ms_per_step_max}), peak RSS ${r.peak_rss_mb} MB`);
        console.log(`           ${r.gflop_per_step} GFLOP/step (forward ${r.gflop_forward} + backward ${r.gflop_backward}) -> ${r.gflops} GFLOP/s, ${pct(r.peak_fraction)} of the matmul peak (${r.matmul_peak_gflops} GFLOP/s)`);
        if (r.pytorch_ms_per_step_median !== undefined) {
          console.log(`  pytorch  ${r.pytorch_ms_per_step_median} ms/step, peak RSS ${r.pytorch_peak_rss_mb} MB  -> ratio ${r.ratio}`);
          if (r.pytorch_gflop_per_step !== undefined) {
            console.log(`           ${r.pytorch_gflop_per_step} GFLOP/step (forward ${r.pytorch_gflop_forward} + backward ${r.pytorch_gflop_backward}) -> ${r.pytorch_gflops} GFLOP/s, ${pct(r.pytorch_peak_fraction ?? NaN)} of the matmul peak (${r.pytorch_matmul_peak_gflops} GFLOP/s)`);
          } else if (r.pytorch_flops_error) console.log(`           FLOPs not counted: ${r.pytorch_flops_error}`);
        }
        if (r.profile) printProfile(r.profile, r.pytorch_profile, r.pytorch_profile_error);
      }
    });
}
