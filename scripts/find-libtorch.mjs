#!/usr/bin/env node
// Locates a libtorch to build the native addon against, in the documented order:
//   1. $LIBTORCH: a folder with include/ and lib/ (an unpacked libtorch archive or a pip `torch/` folder);
//   2. a Python `torch` installation (its package folder carries include/ and lib/);
//   3. the system's libtorch-dev (Debian/Ubuntu: /usr/include/torch, /usr/lib/<triplet>/libtorch.so).
// Prints JSON, or one gyp fragment with --gyp=<include|libdir|libs|defines>.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function fromRoot(root, source) {
  const inc = join(root, 'include');
  const lib = join(root, 'lib');
  if (!existsSync(join(inc, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  const apiInc = join(inc, 'torch', 'csrc', 'api', 'include');
  return {
    source,
    root,
    includeDirs: existsSync(apiInc) ? [inc, apiInc] : [inc],
    libDir: lib,
    cuda: existsSync(join(lib, 'libtorch_cuda.so')),
  };
}

function fromPython() {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    try {
      const out = execFileSync(py, ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60000,
      }).toString().trim();
      const found = out && fromRoot(out, `python torch (${py})`);
      if (found) return found;
    } catch {
      /* no torch for this interpreter */
    }
  }
  return null;
}

function fromSystem() {
  const triplets = ['x86_64-linux-gnu', 'aarch64-linux-gnu'];
  for (const t of triplets) {
    const lib = `/usr/lib/${t}`;
    if (existsSync('/usr/include/ATen/ATen.h') && existsSync(join(lib, 'libtorch_cpu.so'))) {
      return {
        source: 'system libtorch-dev',
        root: '/usr',
        includeDirs: ['/usr/include', '/usr/include/torch/csrc/api/include'],
        libDir: lib,
        cuda: existsSync(join(lib, 'libtorch_cuda.so')),
      };
    }
  }
  return null;
}

function version(found) {
  for (const d of found.includeDirs) {
    const f = join(d, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
    const g = join(d, 'torch', 'version.h');
    for (const p of [f, g]) {
      if (existsSync(p)) {
        const txt = readFileSync(p, 'utf8');
        const part = (k) => txt.match(new RegExp(`TORCH_VERSION_${k}\\s+(\\d+)`))?.[1];
        if (part('MAJOR')) return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
      }
    }
  }
  return 'unknown';
}

export function findLibtorch() {
  let found = null;
  if (process.env.LIBTORCH) {
    found = fromRoot(process.env.LIBTORCH, 'LIBTORCH');
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
  }
  found = found ?? fromPython() ?? fromSystem();
  if (found) found.version = version(found);
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = findLibtorch();
  const gyp = process.argv.find((a) => a.startsWith('--gyp='))?.slice(6);
  if (!gyp) {
    console.log(JSON.stringify(found, null, 1));
    process.exit(found ? 0 : 1);
  }
  if (!found) process.exit(1);
  const libs = ['-ltorch', '-ltorch_cpu', '-lc10'].concat(found.cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []);
  const out = {
    include: found.includeDirs.join(' '),
    libdir: `-L${found.libDir} -Wl,-rpath,${found.libDir}` + (found.cuda ? ' -Wl,--no-as-needed -ltorch_cuda -Wl,--as-needed' : ''),
    libs: libs.join(' '),
    defines: found.cuda ? 'FLM_WITH_CUDA' : 'FLM_CPU_ONLY',
  }[gyp];
  console.log(out);
}
