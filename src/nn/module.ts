// The module system: named parameters, buffers and children whose dotted names are PyTorch's
// state_dict names, so official checkpoints map one to one. A module registered under two names
// (the official FLM model's aliases) is one object: its parameters are trained once and appear in
// the state dict under every name, as in PyTorch.
import { Tensor, keep, noGrad, tidy, type Device, type DType } from '../tensor/index.js';

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  shapeMismatch: { name: string; expected: number[]; got: number[] }[];
  /** alias names whose tensor differed from the canonical name's (loaded from the canonical one) */
  aliasConflicts: string[];
}

export class StateDictError extends Error {
  constructor(message: string, readonly report: LoadReport) {
    super(message);
    this.name = 'StateDictError';
  }
}

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, { t: Tensor; persistent: boolean }>();
  readonly #children = new Map<string, Module>();

  /** Registers a trainable parameter (kept out of tidy scopes, requiresGrad on). */
  protected param(name: string, t: Tensor, requiresGrad = true): Tensor {
    keep(t);
    if (requiresGrad && !t.requiresGrad) t.requiresGrad_(true);
    this.#params.set(name, t);
    return t;
  }
  /** Registers a buffer (state that is saved but not trained). */
  protected buffer(name: string, t: Tensor, persistent = true): Tensor {
    keep(t);
    this.#buffers.set(name, { t, persistent });
    return t;
  }
  /** Registers a child module; registering the same module under a second name makes an alias. */
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }
  /** Replaces a registered parameter tensor (e.g. to tie weights). */
  protected replaceParam(name: string, t: Tensor): void {
    if (!this.#params.has(name)) throw new Error(`no parameter '${name}' to replace`);
    this.#params.set(name, keep(t));
  }

  /** Every (name, tensor) parameter in registration order; shared tensors once, under their first name. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    this.#walk(prefix, (name, t) => {
      if (!seen.has(t)) {
        seen.add(t);
        out.push([name, t]);
      }
    }, false);
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Parameters that currently require grad. */
  trainableParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([, t]) => t.requiresGrad);
  }
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.#children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }
  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.numel, 0);
  }

  #walk(prefix: string, fn: (name: string, t: Tensor, isBuffer: boolean) => void, withBuffers: boolean): void {
    for (const [n, t] of this.#params) fn(prefix ? `${prefix}.${n}` : n, t, false);
    if (withBuffers) for (const [n, b] of this.#buffers) if (b.persistent) fn(prefix ? `${prefix}.${n}` : n, b.t, true);
    for (const [n, c] of this.#children) c.#walk(prefix ? `${prefix}.${n}` : n, fn, withBuffers);
  }

  /**
   * Every parameter and persistent buffer under every name it is reachable by (aliases included),
   * in PyTorch's state_dict order. The tensors are the live ones (not copies).
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.#walkStateOrder('', out);
    return out;
  }
  #walkStateOrder(prefix: string, out: Map<string, Tensor>): void {
    // PyTorch order: a module's own parameters, then its buffers, then each child recursively.
    for (const [n, t] of this.#params) out.set(prefix + n, t);
    for (const [n, b] of this.#buffers) if (b.persistent) out.set(prefix + n, b.t);
    for (const [n, c] of this.#children) c.#walkStateOrder(`${prefix}${n}.`, out);
  }

  /**
   * Copies values into the live tensors. Keys that name the same tensor (aliases) are loaded once
   * from the first name; a differing alias is reported. strict=true throws a StateDictError naming
   * every missing, unexpected and shape-mismatched key.
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, o: { strict?: boolean } = {}): LoadReport {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], shapeMismatch: [], aliasConflicts: [] };
    const loadedFrom = new Map<Tensor, Tensor>();
    noGrad(() => {
      for (const [name, target] of own) {
        const value = src.get(name);
        if (value === undefined) {
          if (!loadedFrom.has(target)) report.missing.push(name);
          continue;
        }
        const es = target.shape;
        const gs = value.shape;
        if (es.length !== gs.length || es.some((d, i) => d !== gs[i])) {
          report.shapeMismatch.push({ name, expected: es, got: gs });
          continue;
        }
        const first = loadedFrom.get(target);
        if (first !== undefined) {
          const same = tidy(() => first.to(value.dtype).equal(value));
          if (!same) report.aliasConflicts.push(name);
          continue;
        }
        target.copy_(value);
        loadedFrom.set(target, value);
      }
    });
    // A name counted missing whose tensor was later loaded through an alias is not missing.
    report.missing = report.missing.filter((n) => !loadedFrom.has(own.get(n)!));
    for (const name of src.keys()) if (!own.has(name)) report.unexpected.push(name);
    if (o.strict ?? true) {
      const problems: string[] = [];
      if (report.missing.length) problems.push(`missing keys: ${report.missing.join(', ')}`);
      if (report.unexpected.length) problems.push(`unexpected keys: ${report.unexpected.join(', ')}`);
      for (const m of report.shapeMismatch) problems.push(`shape mismatch for ${m.name}: expected [${m.expected}], got [${m.got}]`);
      if (problems.length) throw new StateDictError(`loadStateDict: ${problems.join('; ')}`, report);
    }
    return report;
  }

  /**
   * Moves (or casts) every parameter and buffer in place, keeping the tensor objects (so optimisers
   * and aliases stay valid): each tensor's data is replaced by its converted copy.
   */
  to(target: Device | DType): this {
    noGrad(() => {
      const seen = new Set<Tensor>();
      for (const [, m] of this.namedModules()) {
        for (const t of [...m.#params.values(), ...[...m.#buffers.values()].map((b) => b.t)]) {
          if (seen.has(t)) continue;
          seen.add(t);
          const isDtype = !(target === 'cpu' || target.startsWith('cuda'));
          if (isDtype && !t.isFloatingPoint) continue;
          const moved = t.to(target);
          t._replaceWith(moved);
        }
      }
    });
    return this;
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Freezes (or unfreezes) every parameter of this module. */
  requiresGrad_(v: boolean): this {
    for (const t of this.parameters()) t.requiresGrad_(v);
    return this;
  }
  /** Sets every parameter's gradient to none. */
  zeroGrad(): void {
    for (const t of this.parameters()) t.grad = null;
  }
  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const [, t] of this.stateDict()) t.dispose();
    for (const [, m] of this.namedModules()) for (const b of m.#buffers.values()) b.t.dispose();
  }
}
