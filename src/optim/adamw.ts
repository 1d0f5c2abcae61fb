// AdamW with parameter groups, in two flavours:
//  - 'torch': torch.optim.AdamW (decay p *= 1 - lr*wd first; bias-corrected denominator);
//  - 'hf': transformers 4.6 AdamW, which the official FLM code uses (spec E.1): denom = sqrt(v) + eps
//    before bias correction, step = lr*sqrt(1-b2^t)/(1-b1^t), decay applied after the update.
// The update itself runs in one native call per group (native/ops_nn.cc adamwStep), by default as one
// fused pass per float32 tensor; `fused: false` runs the same formula as separate libtorch ops.
import { native } from '../native/binding.js';
import { Tensor, keep, noGrad, zerosLike } from '../tensor/index.js';
import { buildGroups, type OptimizerState, type ParamGroup, type ParamGroupInput } from './optimizer.js';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  style?: 'torch' | 'hf';
  /** one pass per float32 CPU tensor (default true); false: libtorch ops, for checking */
  fused?: boolean;
}

interface SlotState {
  expAvg: Tensor;
  expAvgSq: Tensor;
  step: number;
}

export class AdamW {
  readonly groups: ParamGroup[];
  readonly betas: [number, number];
  readonly eps: number;
  readonly style: 'torch' | 'hf';
  readonly fused: boolean;
  #state = new Map<Tensor, SlotState>();

  constructor(params: Tensor[] | ParamGroupInput[], o: AdamWOptions) {
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.style = o.style ?? 'torch';
    this.fused = o.fused ?? true;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`AdamW: betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(this.eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${this.eps}`);
    this.groups = buildGroups(params, o.lr, o.weightDecay ?? 0.01);
  }

  /** Multiplies every group's base learning rate by a schedule factor for the next steps. */
  setLrFactor(factor: number): void {
    for (const g of this.groups) g.lr = g.baseLr * factor;
  }

  /** One update of every parameter that has a gradient (others keep their state untouched). */
  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        // Parameters are bucketed by their step count so each native call uses one bias correction.
        const buckets = new Map<number, { p: Tensor[]; m: Tensor[]; v: Tensor[] }>();
        for (const p of g.params) {
          const grad = native.grad(p.handle);
          if (grad === null) continue;
          native.dispose(grad);
          let s = this.#state.get(p);
          if (s === undefined) {
            s = { expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)), step: 0 };
            this.#state.set(p, s);
          }
          s.step += 1;
          let b = buckets.get(s.step);
          if (b === undefined) buckets.set(s.step, (b = { p: [], m: [], v: [] }));
          b.p.push(p);
          b.m.push(s.expAvg);
          b.v.push(s.expAvgSq);
        }
        for (const [step, b] of buckets) {
          native.adamwStep(b.p.map((t) => t.handle), b.m.map((t) => t.handle), b.v.map((t) => t.handle), step, g.lr,
            this.betas[0], this.betas[1], this.eps, g.weightDecay, this.style === 'torch' ? 0 : 1, this.fused);
        }
      }
    });
  }

  zeroGrad(): void {
    native.zeroGrads(this.groups.flatMap((g) => g.params.map((p) => p.handle)));
  }

  /** State by parameter name: `<name>.exp_avg`, `<name>.exp_avg_sq`; steps and lrs in meta. */
  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    for (const g of this.groups) {
      g.params.forEach((p, i) => {
        const s = this.#state.get(p);
        if (!s) return;
        const name = g.names[i]!;
        tensors.set(`${name}.exp_avg`, s.expAvg);
        tensors.set(`${name}.exp_avg_sq`, s.expAvgSq);
        steps[name] = s.step;
      });
    }
    return {
      tensors,
      meta: { kind: 'adamw', style: this.style, betas: this.betas, eps: this.eps, steps, groups: this.groups.map((g) => ({ baseLr: g.baseLr, lr: g.lr, weightDecay: g.weightDecay })) },
    };
  }

  loadStateDict(st: OptimizerState): void {
    const meta = st.meta as { kind?: string; steps?: Record<string, number>; groups?: { baseLr: number; lr: number; weightDecay: number }[] };
    if (meta.kind !== 'adamw') throw new Error(`AdamW.loadStateDict: state is of kind '${String(meta.kind)}'`);
    if (!meta.groups || meta.groups.length !== this.groups.length) throw new Error('AdamW.loadStateDict: the parameter groups differ from the saved ones');
    noGrad(() => {
      this.groups.forEach((g, gi) => {
        const saved = meta.groups![gi]!;
        g.baseLr = saved.baseLr;
        g.lr = saved.lr;
        g.weightDecay = saved.weightDecay;
        g.params.forEach((p, i) => {
          const name = g.names[i]!;
          const m = st.tensors.get(`${name}.exp_avg`);
          const v = st.tensors.get(`${name}.exp_avg_sq`);
          const step = meta.steps?.[name];
          if (m === undefined || v === undefined || step === undefined) {
            this.#state.delete(p);
            return;
          }
          const s = this.#state.get(p) ?? { expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)), step: 0 };
          s.expAvg.copy_(m);
          s.expAvgSq.copy_(v);
          s.step = step;
          this.#state.set(p, s);
        });
      });
    });
  }

  dispose(): void {
    for (const s of this.#state.values()) {
      s.expAvg.dispose();
      s.expAvgSq.dispose();
    }
    this.#state.clear();
  }
}
