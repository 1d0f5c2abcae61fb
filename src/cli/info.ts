import type { Command } from 'commander';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function libtorchRecord(): Record<string, unknown> | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, 'build', 'libtorch.json');
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  }
  return null;
}

export function registerInfo(p: Command): void {
  p.command('info')
    .description('print the libtorch found (path, version), CUDA availability, threads and addon build flags')
    .option('--json', 'one JSON object')
    .action(async (o: { json?: boolean }) => {
      const { buildInfo, getNumThreads } = await import('../tensor/index.js');
      const b = buildInfo();
      const lt = libtorchRecord();
      const info = {
        libtorch: { version: b.torchVersion, path: lt?.root ?? null, libDir: lt?.libDir ?? null, source: lt?.source ?? null },
        cuda: { builtWithCuda: b.builtWithCuda, available: b.cudaAvailable },
        threads: getNumThreads(),
        ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null,
        node: process.version,
        parallel: b.parallelInfo.trim(),
        buildConfig: b.config.trim(),
      };
      if (o.json) {
        console.log(JSON.stringify(info));
        return;
      }
      console.log(`libtorch   ${info.libtorch.version}  ${info.libtorch.path ?? '(path unknown)'}  [${info.libtorch.source ?? '?'}]`);
      console.log(`CUDA       addon built with CUDA: ${info.cuda.builtWithCuda ? 'yes' : 'no'}; CUDA available: ${info.cuda.available ? 'yes' : 'no'}`);
      console.log(`threads    ${info.threads} (OMP_WAIT_POLICY=${info.ompWaitPolicy})`);
      console.log(`node       ${info.node}`);
      console.log('\n' + info.parallel + '\n\n' + info.buildConfig);
    });
}
