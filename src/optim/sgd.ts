// SGD with momentum (torch.optim.SGD semantics: dampening, nesterov, coupled weight decay).
import { native } from '../native/binding.js';
import { Tensor, keep, noGrad, zerosLike } from '../tensor/index.js';
import { buildGroups, type OptimizerState, type ParamGroup, type ParamGroupInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD {
  readonly groups: ParamGroup[];
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  #bufs = new Map<Tensor, Tensor>();

  constructor(params: Tensor[] | ParamGroupInput[], o: SGDOptions) {
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.nesterov = o.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('SGD: nesterov needs momentum > 0 and zero dampening');
    this.groups = buildGroups(params, o.lr, o.weightDecay ?? 0);
  }

  setLrFactor(factor: number): void {
    for (const g of this.groups) g.lr = g.baseLr * factor;
  }

  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        const fresh: Tensor[] = [];
        const old: Tensor[] = [];
        const freshBufs: Tensor[] = [];
        const oldBufs: Tensor[] = [];
        for (const p of g.params) {
          const grad = native.grad(p.handle);
          if (grad === null) continue;
          native.dispose(grad);
          let b = this.#bufs.get(p);
          if (b === undefined) {
            b = keep(zerosLike(p));
            this.#bufs.set(p, b);
            fresh.push(p);
            freshBufs.push(b);
          } else {
            old.push(p);
            oldBufs.push(b);
          }
        }
        const args = [g.lr, this.momentum, this.dampening, g.weightDecay, this.nesterov] as const;
        if (fresh.length) native.sgdStep(fresh.map((t) => t.handle), freshBufs.map((t) => t.handle), ...args, true);
        if (old.length) native.sgdStep(old.map((t) => t.handle), oldBufs.map((t) => t.handle), ...args, false);
      }
    });
  }

  zeroGrad(): void {
    native.zeroGrads(this.groups.flatMap((g) => g.params.map((p) => p.handle)));
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    for (const g of this.groups) g.params.forEach((p, i) => {
      const b = this.#bufs.get(p);
      if (b) tensors.set(`${g.names[i]}.momentum_buffer`, b);
    });
    return { tensors, meta: { kind: 'sgd', groups: this.groups.map((g) => ({ baseLr: g.baseLr, lr: g.lr, weightDecay: g.weightDecay })) } };
  }

  loadStateDict(st: OptimizerState): void {
    const meta = st.meta as { kind?: string; groups?: { baseLr: number; lr: number; weightDecay: number }[] };
    if (meta.kind !== 'sgd') throw new Error(`SGD.loadStateDict: state is of kind '${String(meta.kind)}'`);
    if (!meta.groups || meta.groups.length !== this.groups.length) throw new Error('SGD.loadStateDict: the parameter groups differ from the saved ones');
    noGrad(() => this.groups.forEach((g, gi) => {
      Object.assign(g, meta.groups![gi]);
      g.params.forEach((p, i) => {
        const saved = st.tensors.get(`${g.names[i]}.momentum_buffer`);
        if (!saved) return;
        const b = this.#bufs.get(p) ?? keep(zerosLike(p));
        b.copy_(saved);
        this.#bufs.set(p, b);
      });
    }));
  }

  dispose(): void {
    for (const b of this.#bufs.values()) b.dispose();
    this.#bufs.clear();
  }
}
