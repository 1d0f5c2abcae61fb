// Worker of test/dist.test.ts: a small MLP trained with AdamW on a fixed synthetic data set, either in
// one process (global batch 2B) or data-parallel (batch B per rank, DistributedDataParallel), with
// rank-0-only checkpoints, --resume, and an optional self-kill of one rank mid-run.
//   node worker.js --out o.json --steps K --batch B [--accum 2] [--ckpt dir] [--resume]
//                  [--die-rank R --die-at S] [--checks] [--bucket-mb x] [--find-unused]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Module } from '../../src/nn/module.js';
import { Linear } from '../../src/nn/layers.js';
import { AdamW } from '../../src/optim/adamw.js';
import { F, Tensor, manualSeed, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { loadCheckpoint, resolveCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';

export const IN = 8;
export const OUT = 4;
export const N = 64;

export class Mlp extends Module {
  readonly l1: Linear;
  readonly l2: Linear;
  readonly l3: Linear;
  readonly unused: Linear | null;
  constructor(withUnused: boolean) {
    super();
    this.l1 = this.child('l1', new Linear(IN, 32));
    this.l2 = this.child('l2', new Linear(32, 32));
    this.l3 = this.child('l3', new Linear(32, OUT));
    // created last so that the other layers draw the same initial values with or without it
    this.unused = withUnused ? this.child('unused', new Linear(OUT, OUT)) : null;
  }
  forward(x: Tensor): Tensor {
    return this.l3.forward(this.l2.forward(this.l1.forward(x).tanh()).tanh());
  }
}

/** The fixed data set: sample i is a deterministic function of i (no RNG involved). */
export function sample(i: number): { x: number[]; y: number[] } {
  const x: number[] = [];
  for (let k = 0; k < IN; k++) x.push(Math.sin(i * 1.37 + k * 0.71) + 0.1 * k);
  const y: number[] = [];
  for (let k = 0; k < OUT; k++) y.push(Math.cos(i * 0.53 - k * 1.11) * 0.8);
  return { x, y };
}

/** Sample indices of rank `rank`'s part of the global batch of `step` (global batch = B * world). */
export function batchIndices(step: number, perRank: number, rank: number, world: number): number[] {
  const out: number[] = [];
  const g = perRank * world;
  for (let j = 0; j < perRank; j++) out.push((step * g + rank * perRank + j) % N);
  return out;
}

function nums(t: Tensor): number[] {
  return Array.from(t.to('float64').toTypedArray() as Float64Array);
}

function batch(idx: number[]): { x: Tensor; y: Tensor } {
  const s = idx.map(sample);
  return { x: tensor(s.map((v) => v.x)), y: tensor(s.map((v) => v.y)) };
}

export function paramsJson(m: Module): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [n, t] of m.namedParameters()) out[n] = Array.from(t.toTypedArray() as Float32Array);
  return out;
}

export interface TrainOptions {
  steps: number;
  batch: number;
  accum?: number;
  withUnused?: boolean;
  seed?: number;
}

/** The one-process reference: global batch 2B (world 2's data order) per step. */
export function trainSingle(o: TrainOptions & { world: number }): Record<string, number[]> {
  manualSeed(o.seed ?? 1000);
  const model = new Mlp(o.withUnused ?? true);
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.01 });
  for (let step = 0; step < o.steps; step++) {
    tidy(() => {
      opt.zeroGrad();
      const idx: number[] = [];
      for (let r = 0; r < o.world; r++) idx.push(...batchIndices(step, o.batch, r, o.world));
      const { x, y } = batch(idx);
      F.mseLoss(model.forward(x), y).backward();
      opt.step();
    });
  }
  return paramsJson(model);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const { initProcessGroup, assertSameOnAllRanks, isMainProcess } = await import('../../src/dist/process-group.js');
  const { DistributedDataParallel } = await import('../../src/dist/ddp.js');
  const out = arg('--out');
  const steps = Number(arg('--steps') ?? '6');
  const B = Number(arg('--batch') ?? '4');
  const accum = Number(arg('--accum') ?? '1');
  const ckpt = arg('--ckpt');
  const resume = process.argv.includes('--resume');
  const dieRank = arg('--die-rank') === undefined ? -1 : Number(arg('--die-rank'));
  const dieAt = Number(arg('--die-at') ?? '-1');
  const stallAt = Number(arg('--stall-at') ?? '-1');
  const bucketMb = Number(arg('--bucket-mb') ?? '25');
  const findUnused = process.argv.includes('--find-unused');
  const withUnused = !process.argv.includes('--no-unused');

  const pg = initProcessGroup();
  const { rank, worldSize: world } = pg;
  const report: Record<string, unknown> = { rank, world };

  if (process.argv.includes('--checks')) {
    const checks: Record<string, unknown> = {};
    tidy(() => {
      const a = tensor([rank + 1, 10 * (rank + 1)]);
      pg.allReduce(a, 'sum');
      checks.sum = nums(a);
      const b = tensor([rank + 1, 2]);
      pg.allReduce(b, 'avg');
      checks.avg = nums(b);
      const c = tensor([rank, -rank]);
      pg.allReduce(c, 'max');
      checks.max = nums(c);
      // two dtypes in one call (coalesced per dtype)
      const d = tensor([rank], { dtype: 'int64' });
      const e = tensor([[rank, rank], [rank, rank]]);
      pg.allReduce([d, e], 'sum');
      checks.multi = [nums(d), nums(e)];
      const f = tensor([rank * 7 + 1, rank * 7 + 2]);
      pg.broadcast(f, world - 1);
      checks.broadcast = nums(f);
      checks.allGather = pg.allGather(tensor([rank, rank])).map((t) => nums(t));
      const g = pg.allGatherCat(F.cat([tensor([[rank, 0]]), tensor([[rank, 1]])]).narrow(0, 0, rank + 1), 0);
      checks.allGatherCat = g.toArray();
      checks.objects = pg.allGatherObject({ r: rank, s: 'x'.repeat(rank) });
      pg.barrier({ monitored: true });
      pg.barrier();
    });
    report.checks = checks;
  }

  // Each rank draws different initial values on purpose: DDP must replace them with rank 0's.
  manualSeed(1000 + rank);
  const model = new Mlp(withUnused);
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.01 });
  let start = 0;
  if (resume && ckpt !== undefined) {
    // rank 0 picks the checkpoint; every rank loads that same one and checks it agrees on the step
    const dir = pg.broadcastObject(isMainProcess() ? resolveCheckpoint(ckpt, 'latest') : null);
    if (dir !== null) {
      const ck = loadCheckpoint(dir);
      model.loadStateDict(ck.model);
      opt.loadStateDict(ck.optimizer);
      start = ck.state.step;
      report.resumedFrom = start;
    }
    assertSameOnAllRanks('resumed step', start);
  }
  const ddp = new DistributedDataParallel(model, { bucketCapMb: bucketMb, firstBucketMb: bucketMb, findUnusedParameters: findUnused });
  report.buckets = ddp.buckets();
  const stats: unknown[] = [];
  for (let step = start; step < steps; step++) {
    if (rank === dieRank && step === dieAt) {
      console.error(`rank ${rank}: dying at step ${step} (test)`);
      process.kill(process.pid, 'SIGKILL');
    }
    if (rank === dieRank && step === stallAt) {
      console.error(`rank ${rank}: stalling at step ${step} (test)`);
      const until = Date.now() + Number(arg('--stall-ms') ?? '8000');
      while (Date.now() < until) {
        /* a rank that hangs without dying */
      }
    }
    tidy(() => {
      opt.zeroGrad();
      const idx = batchIndices(step, B, rank, world);
      const micro = B / accum;
      for (let m = 0; m < accum; m++) {
        const { x, y } = batch(idx.slice(m * micro, (m + 1) * micro));
        const loss = F.mseLoss(model.forward(x), y).div(accum);
        if (m < accum - 1) ddp.noSync(() => ddp.backward(loss));
        else stats.push(ddp.backward(loss));
      }
      if (model.unused !== null && findUnused && model.unused.weight.grad !== null) throw new Error('an unused parameter got a gradient');
      opt.step();
    });
    if (ckpt !== undefined && isMainProcess()) saveCheckpoint(ckpt, model.stateDict(), opt.stateDict(), { step: step + 1 }, { keepLast: 2 });
    console.log(`step ${step + 1} done`);
  }
  report.stats = stats;
  report.params = noGrad(() => paramsJson(model));
  if (out !== undefined && isMainProcess()) writeFileSync(out, JSON.stringify(report));
  ddp.release();
  pg.destroy();
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`worker failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
