// `flm bench step`: wall-clock cost of full pretraining steps (masks/masking, forward, loss, backward,
// AdamW) for an objective, next to the PyTorch reference benchmark (shared/reference/flm_bench.py) run
// with the same arguments, threads and environment in the same invocation (through bench/step_peer.py,
// which also counts the reference's FLOPs).
//
// FLOPs per step are counted, not estimated: one more step after the timed ones runs with libtorch's
// kernels observed (countFlops: every matrix product and convolution, forward and backward, from its
// operand shapes), on both sides the same way. Achieved GFLOP/s = counted GFLOP / median step time, and
// its fraction of the machine's matmul peak (a 512x768x768 float32 matmul, as `flm bench engine` times it,
// at the same threads).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countFlops, manualSeed, randn, randint, setNumThreads, tensor, tidy, keep, getNumThreads, profileOps, type FlopCount, type OpTime, type Tensor } from '../tensor/index.js';
import { matmulGflops } from './engine.js';
import { PRESETS, type PresetName } from '../models/index.js';
import { AdamW } from '../optim/index.js';
import { createObjectiveModel, objectiveConfig, objectiveStep, type PretrainObjective, type TextImageBatch } from '../tasks/pretrain/objective-step.js';

export interface StepBenchOptions {
  preset: PresetName;
  objective: PretrainObjective;
  batch?: number;
  steps?: number;
  warmup?: number;
  threads: number;
  seed?: number;
  peer?: boolean;
  /** flm: the l2r and r2l streams as one batch (default) or one after the other (false) */
  batchStreams?: boolean;
  /** the text layers compute each caption's real tokens and first pad only (default), or every padded row (false) */
  packRows?: boolean;
  /** time every op over this many more steps on both sides (0: no profile) */
  profile?: number;
}

export interface StepBenchResult {
  impl: 'flm';
  preset: string;
  objective: string;
  batch: number;
  threads: number;
  params: number;
  /** flm only: whether the two text streams ran as one batch */
  batch_streams?: boolean;
  /** whether the text layers computed only the real tokens and first pads */
  pack_rows: boolean;
  ms_per_step_median: number;
  ms_per_step_min: number;
  ms_per_step_max: number;
  peak_rss_mb: number;
  pytorch_ms_per_step_median?: number;
  pytorch_ms_per_step_min?: number;
  pytorch_peak_rss_mb?: number;
  pytorch_params?: number;
  ratio?: number;
  peer_error?: string;
  /** FLOPs of one step in GFLOP (counted: matrix products and convolutions, forward + backward) */
  gflop_per_step: number;
  gflop_forward: number;
  gflop_backward: number;
  flops_by_op: FlopCount[];
  /** gflop_per_step / median step time */
  gflops: number;
  /** a 512x768x768 float32 matmul's GFLOP/s at the same threads */
  matmul_peak_gflops: number;
  /** gflops / matmul_peak_gflops */
  peak_fraction: number;
  pytorch_gflop_per_step?: number;
  pytorch_gflop_forward?: number;
  pytorch_gflop_backward?: number;
  pytorch_flops_by_op?: FlopCount[];
  pytorch_gflops?: number;
  pytorch_matmul_peak_gflops?: number;
  pytorch_peak_fraction?: number;
  pytorch_flops_error?: string;
  /** with `profile`: every op's calls and self / total milliseconds per step, by self time */
  profile?: OpTime[];
  pytorch_profile?: OpTime[];
  pytorch_profile_error?: string;
}

/** The reference benchmark's synthetic batch: random images, random ordinary ids framed by <s> .. </s>. */
function syntheticBatch(preset: PresetName, batch: number): TextImageBatch {
  const p = PRESETS[preset];
  const L = p.max_text_len;
  const lo = p.min_text_len ?? L;
  const lengths = randint(lo, L + 1, [batch]).toFlatArray();
  const ordinary = randint(4, p.vocab_size - 1, [batch, L]).toFlatArray();
  const ids: number[] = [];
  const masks: number[] = [];
  lengths.forEach((n, b) => {
    for (let j = 0; j < L; j++) {
      const id = j === 0 ? 0 : j === n - 1 ? 2 : j < n - 1 ? ordinary[b * L + j]! : 1;
      ids.push(id);
      masks.push(j < n ? 1 : 0);
    }
  });
  return {
    image: keep(randn([batch, 3, p.image_size, p.image_size])),
    textIds: keep(tensor(BigInt64Array.from(ids, BigInt), { shape: [batch, L] })),
    textMasks: keep(tensor(BigInt64Array.from(masks, BigInt), { shape: [batch, L] })),
  };
}

export function defaultPeerScript(): string {
  if (process.env.FLM_BENCH_PEER) return resolve(process.env.FLM_BENCH_PEER);
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, '..', 'shared', 'reference', 'flm_bench.py');
    if (existsSync(p)) return resolve(p);
  }
  return resolve(process.cwd(), '..', 'shared', 'reference', 'flm_bench.py');
}

/** bench/step_peer.py: runs the reference benchmark unchanged, then counts its FLOPs and matmul peak. */
function peerWrapper(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = join(here, up, 'bench', 'step_peer.py');
    if (existsSync(p)) return p;
  }
  return join(process.cwd(), 'bench', 'step_peer.py');
}

/** The presets shared/reference/flmref/presets.py defines. */
const REFERENCE_PRESETS: ReadonlySet<string> = new Set(['tiny', 'small', 'base']);

interface PeerResult {
  ms_per_step_median: number; ms_per_step_min: number; peak_rss_mb: number; params: number;
  gflop_per_step?: number; gflop_forward?: number; gflop_backward?: number; flops_by_op?: FlopCount[];
  matmul_peak_gflops?: number; flops_error?: string; profile?: OpTime[]; profile_error?: string;
}

export function benchStep(o: StepBenchOptions): StepBenchResult {
  setNumThreads(o.threads);
  manualSeed(o.seed ?? 0);
  const p = PRESETS[o.preset];
  const batch = o.batch ?? p.batch;
  const config = objectiveConfig(o.objective, o.preset);
  const model = tidy(() => createObjectiveModel(o.objective, config, { batchStreams: o.batchStreams ?? true, packRows: o.packRows ?? true }));
  model.train();
  const params = model.parameters();
  const opt = new AdamW(params, { lr: 1e-4, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.01 });
  const data = syntheticBatch(o.preset, batch);
  const step = (): void => {
    opt.zeroGrad();
    tidy(() => objectiveStep(model, o.objective, data).loss.backward());
    opt.step();
  };
  for (let i = 0; i < (o.warmup ?? 3); i++) step();
  const times: number[] = [];
  for (let i = 0; i < (o.steps ?? 20); i++) {
    const t = performance.now();
    step();
    times.push(performance.now() - t);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const flops = countFlops(step); // one more step, untimed: counting observes every kernel
  const peak = matmulGflops(512, 768, 768, 50);
  const profileSteps = o.profile ?? 0;
  const profile = profileSteps > 0 ? perStep(profileOps(() => { for (let i = 0; i < profileSteps; i++) step(); }), profileSteps) : undefined;
  const gflop = flops.total / 1e9;
  const r: StepBenchResult = {
    impl: 'flm', preset: o.preset, objective: o.objective, batch, threads: getNumThreads(),
    params: params.reduce((a, t) => a + t.numel, 0),
    ...(o.objective === 'flm' && { batch_streams: o.batchStreams ?? true }),
    pack_rows: o.packRows ?? true,
    ms_per_step_median: round(median), ms_per_step_min: round(sorted[0]!), ms_per_step_max: round(sorted[sorted.length - 1]!),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    gflop_per_step: round(gflop, 4), gflop_forward: round(flops.forward / 1e9, 4), gflop_backward: round(flops.backward / 1e9, 4),
    flops_by_op: flops.byOp, gflops: round(gflop / (median / 1e3)), matmul_peak_gflops: round(peak, 1),
    peak_fraction: round(gflop / (median / 1e3) / peak),
    ...(profile && { profile }),
  };
  for (const t of Object.values(data) as Tensor[]) t.dispose();
  model.dispose();
  opt.dispose();
  if (o.peer === false) return r;
  if (!REFERENCE_PRESETS.has(o.preset)) return { ...r, peer_error: `the PyTorch reference has no '${o.preset}' preset (it has ${[...REFERENCE_PRESETS].join(', ')})` };
  const script = defaultPeerScript();
  if (!existsSync(script)) return { ...r, peer_error: `PyTorch reference benchmark not found at ${script} (set FLM_BENCH_PEER)` };
  const python = process.env.FLM_PYTHON ?? '/usr/bin/python3';
  const args = [peerWrapper(), '--reference', script, ...(profileSteps > 0 ? ['--profile', String(profileSteps)] : []), '--preset', o.preset, '--objective', o.objective, '--batch', String(batch), '--steps', String(o.steps ?? 20),
    '--warmup', String(o.warmup ?? 3), '--threads', String(o.threads), '--seed', String(o.seed ?? 0)];
  const res = spawnSync(python, args, { encoding: 'utf8', env: process.env, timeout: 1800_000 });
  if (res.status !== 0) return { ...r, peer_error: `${python} ${script} failed: ${(res.stderr || res.error?.message || '').trim().split('\n').pop()}` };
  const peer = JSON.parse(res.stdout.trim().split('\n').pop()!) as PeerResult;
  const out: StepBenchResult = {
    ...r,
    pytorch_ms_per_step_median: peer.ms_per_step_median, pytorch_ms_per_step_min: peer.ms_per_step_min,
    pytorch_peak_rss_mb: peer.peak_rss_mb, pytorch_params: peer.params,
    ratio: round(r.ms_per_step_median / peer.ms_per_step_median, 3),
  };
  if (peer.flops_error !== undefined) out.pytorch_flops_error = peer.flops_error;
  if (peer.profile !== undefined) out.pytorch_profile = peer.profile.map((t) => ({ ...t, selfMs: round(t.selfMs), totalMs: round(t.totalMs) }));
  if (peer.profile_error !== undefined) out.pytorch_profile_error = peer.profile_error;
  if (peer.gflop_per_step !== undefined) {
    const g = peer.gflop_per_step / (peer.ms_per_step_median / 1e3);
    out.pytorch_gflop_per_step = round(peer.gflop_per_step, 4);
    out.pytorch_gflop_forward = round(peer.gflop_forward ?? NaN, 4);
    out.pytorch_gflop_backward = round(peer.gflop_backward ?? NaN, 4);
    out.pytorch_flops_by_op = peer.flops_by_op ?? [];
    out.pytorch_gflops = round(g);
    if (peer.matmul_peak_gflops !== undefined) {
      out.pytorch_matmul_peak_gflops = round(peer.matmul_peak_gflops, 1);
      out.pytorch_peak_fraction = round(g / peer.matmul_peak_gflops);
    }
  }
  return out;
}

function perStep(ops: OpTime[], steps: number): OpTime[] {
  return ops.map((t) => ({ op: t.op, calls: t.calls / steps, selfMs: round(t.selfMs / steps), totalMs: round(t.totalMs / steps) }));
}

function round(x: number, d = 3): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
