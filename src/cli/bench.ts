import type { Command } from 'commander';
import { availableParallelism } from 'node:os';

function threadList(v: string | undefined): number[] {
  if (v === undefined) return [...new Set([1, availableParallelism()])];
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a positive integer, got '${v}'`);
  return [n];
}

export function registerBench(p: Command): void {
  const bench = p.command('bench').description('benchmarks against the PyTorch peer (same machine, threads and environment)');
  bench
    .command('engine')
    .description('tensor engine: per-op dispatch, matmul GFLOP/s, 4-layer transformer training step')
    .option('--threads <n>', 'intra-op threads (default: 1 and all cores, each a separate run)')
    .option('--quick', 'fewer repetitions')
    .option('--no-peer', 'skip the PyTorch peer')
    .option('--json', 'one JSON line per case')
    .action(async (o: { threads?: string; quick?: boolean; peer: boolean; json?: boolean }) => {
      const { benchEngine } = await import('../bench/engine.js');
      for (const t of threadList(o.threads)) {
        const r = benchEngine({ threads: t, quick: o.quick ?? false, peer: o.peer });
        if (r.peerError) console.error(`flm bench: ${r.peerError}; printing flm's figures alone`);
        for (const row of r.rows) {
          if (o.json) console.log(JSON.stringify(row));
          else console.log(`${row.case.padEnd(28)} threads=${t}  flm ${row.flm.toFixed(3)} ${row.unit}  pytorch ${row.pytorch?.toFixed(3) ?? '-'}  ratio ${row.ratio?.toFixed(3) ?? '-'}`);
        }
      }
    });
}
