// Loads the native addon (build/Release/flm_native.node). Its functions are typed in binding.gen.ts,
// generated from native/ops.def (node scripts/gen-binding.mjs).
//
// The rule: src/tensor/ wraps these raw handles in the Tensor API, and the layers above use that API.
// The exceptions need native calls the Tensor API does not carry: src/optim/ (fused optimizer steps on
// raw gradients, gradient clipping), src/dist/ (process groups, collectives, the gradient reducer) and
// src/io/torch-pickle.ts (libtorch's pickler).
import type { NativeBinding } from './binding.gen.js';
import { TorchError } from './errors.js';
import { defaultNumThreads } from '../config/threads.js';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { NativeBinding } from './binding.gen.js';
export type { DistGroupHandle, DistReducerHandle, NativeTensor } from './types.js';

function addonPath(): string {
  // FLM_ADDON points at another build of the addon (a scratch build, a CUDA build...).
  const override = process.env.FLM_ADDON;
  if (override !== undefined && override !== '') {
    const p = resolve(override);
    if (!existsSync(p)) throw new Error(`flm: FLM_ADDON=${override} does not exist`);
    return p;
  }
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/native -> repo root is three levels up; src/native (ts-node style) is two.
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, 'build', 'Release', 'flm_native.node');
    if (existsSync(p)) return p;
  }
  throw new Error(
    'the native addon is not built (build/Release/flm_native.node is missing). Run `npm install` ' +
      '(or `npm run build:native`) in the flm package folder; it finds libtorch and builds the addon.',
  );
}

function load(): NativeBinding {
  // GNU OpenMP spin-waits by default; on small VMs that makes 2 threads slower than 1. libgomp reads
  // this when it is loaded, which happens with the addon below, so it must be set first.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  const require = createRequire(import.meta.url);
  const addon = require(addonPath()) as NativeBinding;
  // Every error the addon throws is made natively as an instance of this class (one path: no wrapper
  // in TypeScript rewraps native errors, and callers of `native` directly get TorchErrors too).
  addon.setErrorClass(TorchError);
  // Every process starts with the same intra-op threads flm reports (flm info, --threads help); libtorch
  // would pick its count of physical cores. OMP_NUM_THREADS, when set, is libtorch's and ours alike. Only
  // the main thread: a worker (image decoding) loading the addon later must not undo the user's choice.
  if (isMainThread && process.env.OMP_NUM_THREADS === undefined) addon.setNumThreads(defaultNumThreads());
  return addon;
}

export const native: NativeBinding = load();
