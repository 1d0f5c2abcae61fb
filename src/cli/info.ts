import type { Command } from 'commander';
import { printJson } from './json.js';
import { defaultNumThreads, defaultNumThreadsSource } from '../config/threads.js';
import { readFileSync, existsSync, realpathSync } from 'node:fs';
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

/** The BLAS behind libtorch's generic libblas.so.3 (Debian builds), or null when not applicable. */
function blasLibrary(libDir: unknown): string | null {
  for (const p of [typeof libDir === 'string' ? join(libDir, 'libblas.so.3') : '', '/usr/lib/x86_64-linux-gnu/libblas.so.3', '/usr/lib/aarch64-linux-gnu/libblas.so.3']) {
    if (p && existsSync(p)) {
      try {
        return realpathSync(p);
      } catch {
        return p;
      }
    }
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
        blas: blasLibrary(lt?.libDir),
        threads: getNumThreads(),
        defaultThreads: { threads: defaultNumThreads(), rule: defaultNumThreadsSource() },
        ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null,
        node: process.version,
        parallel: b.parallelInfo.trim(),
        buildConfig: b.config.trim(),
      };
      if (o.json) {
        printJson('info', { threads: info.threads, cuda_available: info.cuda.available ? 1 : 0 }, info);
        return;
      }
      console.log(`libtorch   ${info.libtorch.version}  ${info.libtorch.path ?? '(path unknown)'}  [${info.libtorch.source ?? '?'}]`);
      console.log(`CUDA       addon built with CUDA: ${info.cuda.builtWithCuda ? 'yes' : 'no'}; CUDA available: ${info.cuda.available ? 'yes' : 'no'}`);
      if (info.blas) console.log(`BLAS       ${info.blas}${/openblas|mkl|blis/i.test(info.blas) ? '' : '  (reference BLAS: slow; install libopenblas0-openmp)'}`);
      console.log(`threads    ${info.threads} intra-op (the process default: ${info.defaultThreads.threads}, ${info.defaultThreads.rule}; OMP_WAIT_POLICY=${info.ompWaitPolicy})`);
      console.log(`node       ${info.node}`);
      console.log('\n' + info.parallel + '\n\n' + info.buildConfig);
    });
}
