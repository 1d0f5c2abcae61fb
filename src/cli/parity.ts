import type { Command } from 'commander';
import { printJson } from './json.js';
import { setExitCode } from './exit-code.js';

export function registerParity(p: Command): void {
  p.command('parity')
    .description('compare flm with golden values from the PyTorch reference: outputs, losses, gradients, masks, span statistics')
    .requiredOption('--fixtures <dir>', 'fixture folder (config.json, weights-flm/-single.safetensors, cases.safetensors, mask-cases.safetensors)')
    .option('--json', 'one JSON object')
    .option('--no-stats', 'skip the sampled span-corruption statistics')
    .action(async (o: { fixtures: string; json?: boolean; stats: boolean }, cmd: Command) => {
      const { runParity } = await import('../verify/model-parity.js');
      const { setNumThreads } = await import('../tensor/index.js');
      setNumThreads(1);
      const r = runParity(o.fixtures, { stats: o.stats });
      if (o.json) {
        const passed = r.rows.filter((x) => x.ok).length;
        printJson('parity', { passed, failed: r.rows.length - passed }, { ok: r.ok, passed, failed: r.rows.length - passed, rows: r.rows, skipped: r.skipped });
      } else {
        const w = Math.max(...r.rows.map((x) => x.name.length));
        for (const x of r.rows) {
          const d = Number.isFinite(x.maxAbsDiff) ? x.maxAbsDiff.toExponential(2) : String(x.maxAbsDiff);
          console.log(`${x.name.padEnd(w)}  ${d.padStart(9)}  atol ${x.atol.toExponential(1)}  ${x.ok ? 'ok' : 'FAIL'}${x.note ? `  (${x.note})` : ''}`);
        }
        const failed = r.rows.filter((x) => !x.ok).length;
        console.log(`\n${r.rows.length - failed} passed, ${failed} failed`);
      }
      setExitCode(cmd, r.ok ? 0 : 1);
    });
}
