// Data-parallel benchmark: flm's c10d layer against PyTorch's DistributedDataParallel (Gloo), both with
// 2 processes on this machine, in the same run, one intra-op thread per process, over loopback.
//   1. all-reduce: ms per all-reduce of one flat float32 tensor of the model's gradient size
//      (default: the FLM 'small' preset's trainable parameters);
//   2. per-step overhead of data parallelism: an MLP of about the same parameter count, forward +
//      backward per rank, with gradient synchronisation (DDP) and without it (noSync / no_sync());
//      overhead = median over steps of (synced step - the unsynced step right after it), in the same
//      2-process setting. --rounds R alternates flm and PyTorch R times and reports medians.
//   node dist/bench/dist.js [--preset small|base] [--numel N] [--iters 5] [--ar-iters 20] [--batch 32] [--rounds 1] [--no-peer] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, launch } from '../src/dist/launch.js';

const here = dirname(fileURLToPath(import.meta.url));

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface DistBenchFigures {
  numel: number;
  allreduceMs: number;
  /** MLP used for the step timing */
  mlp: { width: number; layers: number; numel: number; batch: number };
  stepSyncMs: number;
  stepNoSyncMs: number;
  overheadMs: number;
  buckets?: number;
}

/** An MLP of `layers` Linear(width, width) layers: about numel parameters. */
export function mlpShape(numel: number, width = 1024): { width: number; layers: number; numel: number } {
  const layers = Math.max(1, Math.round(numel / (width * width + width)));
  return { width, layers, numel: layers * (width * width + width) };
}

async function worker(): Promise<void> {
  const { initProcessGroup } = await import('../src/dist/process-group.js');
  const { DistributedDataParallel } = await import('../src/dist/ddp.js');
  const { Linear, Module } = await import('../src/nn/index.js');
  const { manualSeed, randn, tidy, zeros, setNumThreads } = await import('../src/tensor/index.js');
  setNumThreads(1);
  const numel = Number(arg('--numel'));
  const iters = Number(arg('--iters', '5'));
  const batch = Number(arg('--batch', '32'));
  const arIters = Number(arg('--ar-iters', '20'));
  const out = arg('--result')!;
  const pg = initProcessGroup();

  // 1. all-reduce of the gradient size
  const flat = zeros([numel]);
  const ar: number[] = [];
  for (let i = 0; i < arIters + 3; i++) {
    pg.barrier();
    const t = performance.now();
    pg.allReduce(flat, 'sum');
    if (i >= 3) ar.push(performance.now() - t);
  }
  flat.dispose();

  // 2. per-step overhead
  const shape = mlpShape(numel);
  class Mlp extends Module {
    readonly layers: InstanceType<typeof Linear>[] = [];
    constructor() {
      super();
      for (let i = 0; i < shape.layers; i++) this.layers.push(this.child(String(i), new Linear(shape.width, shape.width)));
    }
    forward(x: import('../src/tensor/index.js').Tensor) {
      let h = x;
      for (const l of this.layers) h = l.forward(h).tanh();
      return h;
    }
  }
  manualSeed(0);
  const model = new Mlp();
  const ddp = new DistributedDataParallel(model);
  const x = randn([batch, shape.width]);
  const step = (sync: boolean): number => {
    pg.barrier();
    const t = performance.now();
    tidy(() => {
      for (const p of model.parameters()) p.grad = null;
      const loss = model.forward(x).square().mean();
      if (sync) ddp.backward(loss);
      else ddp.noSync(() => ddp.backward(loss));
    });
    return performance.now() - t;
  };
  const synced: number[] = [];
  const unsynced: number[] = [];
  for (let i = 0; i < iters + 2; i++) {
    const a = step(true);
    const b = step(false);
    if (i >= 2) {
      synced.push(a);
      unsynced.push(b);
    }
  }
  const fig: DistBenchFigures = {
    numel,
    allreduceMs: median(ar),
    mlp: { ...shape, batch },
    stepSyncMs: median(synced),
    stepNoSyncMs: median(unsynced),
    overheadMs: median(synced.map((v, i) => v - unsynced[i]!)),
    buckets: ddp.buckets().length,
  };
  if (pg.rank === 0) writeFileSync(out, JSON.stringify(fig));
  ddp.release();
  pg.destroy();
}

async function gradientNumel(preset: string): Promise<number> {
  const { createModel } = await import('../src/models/index.js');
  const m = createModel(preset as 'small');
  return m.namedParameters().filter(([, t]) => t.requiresGrad).reduce((a, [, t]) => a + t.numel, 0);
}

function runPeer(numel: number, iters: number, arIters: number, batch: number): Promise<DistBenchFigures> {
  const python = process.env.FLM_PYTHON ?? '/usr/bin/python3';
  const script = join(here, '..', '..', 'bench', 'dist_peer.py');
  return freePort().then(
    (port) =>
      new Promise((resolve, reject) => {
        const outs: string[] = ['', ''];
        const errs: string[] = ['', ''];
        let left = 2;
        let failed: string | null = null;
        for (let rank = 0; rank < 2; rank++) {
          const env = {
            ...process.env,
            RANK: String(rank),
            WORLD_SIZE: '2',
            LOCAL_RANK: String(rank),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
            OMP_NUM_THREADS: '1',
            GLOO_SOCKET_IFNAME: process.env.GLOO_SOCKET_IFNAME ?? 'lo',
          };
          const c = spawn(python, [script, '--numel', String(numel), '--iters', String(iters), '--ar-iters', String(arIters), '--batch', String(batch)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
          c.stdout.on('data', (d: Buffer) => (outs[rank] += d.toString()));
          c.stderr.on('data', (d: Buffer) => (errs[rank] += d.toString()));
          c.on('error', (e) => (failed = `cannot start ${python}: ${e.message}`));
          c.on('close', (code) => {
            if (code !== 0 && failed === null) failed = `PyTorch peer rank ${rank} failed (exit ${code}): ${errs[rank]!.trim().split('\n').pop()}`;
            if (--left === 0) {
              if (failed !== null) reject(new Error(failed));
              else resolve(JSON.parse(outs[0]!.trim().split('\n').pop()!) as DistBenchFigures);
            }
          });
        }
      }),
  );
}

function medianFigures(rs: DistBenchFigures[]): DistBenchFigures {
  const m = (f: (r: DistBenchFigures) => number): number => median(rs.map(f));
  return { ...rs[0]!, allreduceMs: m((r) => r.allreduceMs), stepSyncMs: m((r) => r.stepSyncMs), stepNoSyncMs: m((r) => r.stepNoSyncMs), overheadMs: m((r) => r.overheadMs) };
}

async function runFlm(numel: number, iters: number, arIters: number, batch: number, dir: string): Promise<DistBenchFigures> {
  const result = join(dir, 'flm.json');
  let log = '';
  const sink = { write: (s: string) => ((log += s), true) } as never;
  const r = await launch({
    nproc: 2,
    command: process.execPath,
    args: [fileURLToPath(import.meta.url), '--worker', '--numel', String(numel), '--iters', String(iters), '--ar-iters', String(arIters), '--batch', String(batch), '--result', result],
    env: { GLOO_SOCKET_IFNAME: process.env.GLOO_SOCKET_IFNAME ?? 'lo', OMP_NUM_THREADS: '1' },
    stdout: sink,
    stderr: sink,
  });
  if (r.exitCode !== 0) throw new Error(`flm workers failed:\n${r.report.join('\n')}\n${log}`);
  return JSON.parse(readFileSync(result, 'utf8')) as DistBenchFigures;
}

async function main(): Promise<void> {
  if (process.argv.includes('--worker')) return worker();
  const iters = Number(arg('--iters', '5'));
  const arIters = Number(arg('--ar-iters', '20'));
  const batch = Number(arg('--batch', '32'));
  const rounds = Number(arg('--rounds', '1'));
  const preset = arg('--preset', 'small')!;
  const numel = arg('--numel') !== undefined ? Number(arg('--numel')) : await gradientNumel(preset);
  const dir = mkdtempSync(join(tmpdir(), 'flm-bench-dist-'));
  try {
    // flm and PyTorch alternate round by round, so that load drift on a shared machine hits both alike
    const flms: DistBenchFigures[] = [];
    const torches: DistBenchFigures[] = [];
    let peerError: string | null = null;
    for (let round = 0; round < rounds; round++) {
      flms.push(await runFlm(numel, iters, arIters, batch, dir));
      if (!process.argv.includes('--no-peer') && peerError === null) {
        try {
          torches.push(await runPeer(numel, iters, arIters, batch));
        } catch (e) {
          peerError = (e as Error).message;
        }
      }
    }
    const flm = medianFigures(flms);
    const torch = torches.length ? medianFigures(torches) : null;
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ flm, pytorch: torch, peerError, rounds: { flm: flms, pytorch: torches } }));
      return;
    }
    const mb = (numel * 4) / 2 ** 20;
    console.log(`data parallelism, 2 processes x 1 thread, Gloo over loopback${rounds > 1 ? `, median of ${rounds} alternating rounds` : ''}`);
    console.log(`all-reduce of ${numel} float32 (${mb.toFixed(1)} MB, the ${arg('--numel') ? 'given' : `'${preset}' model's`} gradient size)`);
    console.log(`  flm     ${flm.allreduceMs.toFixed(2)} ms   (${(mb / 1024 / (flm.allreduceMs / 1000)).toFixed(2)} GB/s algorithm bandwidth)`);
    if (torch) console.log(`  pytorch ${torch.allreduceMs.toFixed(2)} ms   ratio flm/pytorch ${(flm.allreduceMs / torch.allreduceMs).toFixed(2)}`);
    console.log(`training step, MLP ${flm.mlp.layers} x Linear(${flm.mlp.width}, ${flm.mlp.width}) = ${flm.mlp.numel} params, batch ${flm.mlp.batch} per rank (forward + backward)`);
    const row = (n: string, f: DistBenchFigures): string =>
      `  ${n.padEnd(7)} synced ${f.stepSyncMs.toFixed(1)} ms, unsynced ${f.stepNoSyncMs.toFixed(1)} ms, overhead ${f.overheadMs.toFixed(1)} ms (${((100 * f.overheadMs) / f.stepNoSyncMs).toFixed(0)}%)`;
    console.log(row('flm', flm) + `, ${flm.buckets} buckets`);
    if (torch) console.log(row('pytorch', torch));
    if (peerError) console.log(`  pytorch: ${peerError}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench dist: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
