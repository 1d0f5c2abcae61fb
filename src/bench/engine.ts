// `flm bench engine`: the tensor engine against PyTorch on the same machine, same threads and environment.
// Cases: per-op dispatch overhead, matmul throughput, and a 4-layer transformer encoder training step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, Tensor, manualSeed, ones, randn, setNumThreads, tidy } from '../tensor/index.js';
import { LayerNorm, Linear, Module, ModuleList } from '../nn/index.js';
import { AdamW } from '../optim/index.js';

export interface BenchRow {
  case: string;
  unit: string;
  flm: number;
  pytorch: number | null;
  /** flm time / pytorch time (for throughput units: pytorch figure / flm figure) */
  ratio: number | null;
  threads: number;
}

function times(fn: () => void, reps: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** GFLOP/s of an [m, k] x [k, n] float32 matmul at the current threads: the median of `reps` timed runs. */
export function matmulGflops(m: number, k: number, n: number, reps: number): number {
  const A = randn([m, k]);
  const B = randn([k, n]);
  const mm = (): void => A.matmul(B).dispose();
  mm();
  const g = (2 * m * k * n) / (median(times(mm, reps)) / 1e3) / 1e9;
  A.dispose();
  B.dispose();
  return g;
}

class Block extends Module {
  readonly qkv: Linear; readonly o: Linear; readonly ln1: LayerNorm; readonly ln2: LayerNorm; readonly fc1: Linear; readonly fc2: Linear;
  constructor(readonly h: number, readonly heads: number) {
    super();
    this.qkv = this.child('qkv', new Linear(h, 3 * h));
    this.o = this.child('o', new Linear(h, h));
    this.ln1 = this.child('ln1', new LayerNorm(h));
    this.ln2 = this.child('ln2', new LayerNorm(h));
    this.fc1 = this.child('fc1', new Linear(h, 4 * h));
    this.fc2 = this.child('fc2', new Linear(4 * h, h));
  }
  forward(x: Tensor): Tensor {
    const [B, L, H] = x.shape as [number, number, number];
    const d = H / this.heads;
    const [q, k, v] = this.qkv.forward(x).split(H, -1).map((t) => t.view(B, L, this.heads, d).transpose(1, 2)) as [Tensor, Tensor, Tensor];
    const y = F.attention(q, k, v).transpose(1, 2).reshape(B, L, H);
    const x1 = this.ln1.forward(x.add(this.o.forward(y)));
    return this.ln2.forward(x1.add(this.fc2.forward(this.fc1.forward(x1).gelu())));
  }
}

function flmFigures(quick: boolean): Record<string, number> {
  const out: Record<string, number> = {};
  const x = ones([16]);
  const n = quick ? 20000 : 200000;
  const adds = (): void => {
    tidy(() => {
      let y = x;
      for (let i = 0; i < n; i++) {
        const next = F.add(x, y);
        if (y !== x) y.dispose();
        y = next;
      }
    });
  };
  adds();
  out.dispatch_add_us = (Math.min(...times(adds, 3)) / n) * 1e3;
  out.matmul_512x768x768_gflops = matmulGflops(512, 768, 768, quick ? 3 : 50);
  out.matmul_2048_gflops = matmulGflops(2048, 2048, 2048, quick ? 3 : 5);
  const enc = new ModuleList([0, 1, 2, 3].map(() => new Block(256, 4)));
  const opt = new AdamW(enc.parameters(), { lr: 1e-4 });
  const xb = randn([32, 64, 256]);
  const step = (): void => {
    opt.zeroGrad();
    tidy(() => {
      let h = xb;
      for (const b of enc.items) h = b.forward(h);
      h.square().mean().backward();
    });
    opt.step();
  };
  for (let i = 0; i < 3; i++) step();
  out.transformer_step_ms = median(times(step, quick ? 5 : 20));
  enc.dispose();
  opt.dispose();
  return out;
}

function peerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, 'bench', 'engine_peer.py');
    if (existsSync(p)) return p;
  }
  return join(process.cwd(), 'bench', 'engine_peer.py');
}

function runPeer(threads: number, quick: boolean): Record<string, number> | string {
  const python = process.env.FLM_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [peerScript(), '--threads', String(threads), ...(quick ? ['--quick'] : [])], { encoding: 'utf8', env: process.env, timeout: 600000 });
  if (r.status !== 0) return `PyTorch peer failed (${python}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

const UNITS: Record<string, [string, 'time' | 'rate']> = {
  dispatch_add_us: ['us/op', 'time'],
  matmul_512x768x768_gflops: ['GFLOP/s', 'rate'],
  matmul_2048_gflops: ['GFLOP/s', 'rate'],
  transformer_step_ms: ['ms/step', 'time'],
};

/** Runs every case at the given thread count; the PyTorch peer runs right after in a child process. */
export function benchEngine(o: { threads: number; quick?: boolean; peer?: boolean }): { rows: BenchRow[]; peerError?: string } {
  setNumThreads(o.threads);
  manualSeed(0);
  const mine = flmFigures(o.quick ?? false);
  const peer = o.peer === false ? 'peer disabled' : runPeer(o.threads, o.quick ?? false);
  const rows = Object.entries(mine).map(([k, v]): BenchRow => {
    const p = typeof peer === 'string' ? null : peer[k] ?? null;
    const [unit, kind] = UNITS[k]!;
    const ratio = p === null ? null : kind === 'time' ? v / p : p / v;
    return { case: k, unit, flm: v, pytorch: p, ratio, threads: o.threads };
  });
  return typeof peer === 'string' ? { rows, peerError: peer } : { rows };
}
