// Basic layers with PyTorch's parameter names (weight, bias) and shapes.
import { F, Tensor, empty, ones, zeros, type DType } from '../tensor/index.js';
import { Module } from './module.js';
import { normal_, torchDefault_, zeros_ } from './init.js';
import { scaledInitStd } from './init-scale.js';

/** How new weights are drawn: 'torch' (PyTorch's default) or 'normal' with a std (N(0, 0.02) in BERT/FLM). */
export type Init = { kind: 'torch' } | { kind: 'normal'; std: number };
export const TORCH_INIT: Init = { kind: 'torch' };
export const BERT_INIT: Init = { kind: 'normal', std: 0.02 };

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, o: { bias?: boolean; init?: Init; dtype?: DType } = {}) {
    super();
    const dtype = o.dtype ?? 'float32';
    this.weight = this.param('weight', empty([outFeatures, inFeatures], { dtype }));
    this.bias = o.bias ?? true ? this.param('bias', empty([outFeatures], { dtype })) : null;
    const init = o.init ?? TORCH_INIT;
    if (init.kind === 'torch') torchDefault_(this.weight, this.bias);
    else {
      normal_(this.weight, 0, scaledInitStd(init.std, inFeatures));
      if (this.bias) zeros_(this.bias);
    }
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param('weight', ones([dim]));
    this.bias = this.param('bias', zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Tensor;
  /** paddingIdx: that row starts at zero and never receives gradient (as nn.Embedding). */
  constructor(readonly num: number, readonly dim: number, readonly paddingIdx: number | null = null, init: Init = { kind: 'normal', std: 1 }) {
    super();
    this.weight = this.param('weight', empty([num, dim]));
    normal_(this.weight, 0, init.kind === 'normal' ? init.std : 1);
    if (paddingIdx !== null) {
      const row = this.weight.select(0, paddingIdx);
      zeros_(row);
      row.dispose();
    }
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight, this.paddingIdx ?? -1);
  }
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(inCh: number, outCh: number, readonly kernel: number, readonly opts: { stride?: number; padding?: number; bias?: boolean } = {}) {
    super();
    this.weight = this.param('weight', empty([outCh, inCh, kernel, kernel]));
    this.bias = opts.bias ?? true ? this.param('bias', empty([outCh])) : null;
    torchDefault_(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.opts.stride ?? 1, padding: this.opts.padding ?? 0 });
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  /** Identity in eval mode or with p = 0 (returns a new handle to the same tensor). */
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** An ordered list of modules named 0, 1, 2, ... (nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.child(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (m === undefined) throw new RangeError(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }
}
