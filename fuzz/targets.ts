// The functions the API fuzzer calls, enumerated from the modules themselves (so new ones are covered
// without editing this file): the tensor module's exports, F's exports, Tensor.prototype's methods,
// getters and setters, and (target 'native') the raw addon functions.
import * as T from '../src/tensor/index.js';
import { native } from '../src/native/binding.js';

export interface Target {
  name: string;
  kind: 'fn' | 'method' | 'get' | 'set' | 'ctor' | 'native';
  arity: number;
  invoke: (self: unknown, args: unknown[]) => unknown;
}

/**
 * Left out on purpose: distInitGroup waits for its peers until its timeout (a rendezvous, not a hang);
 * it is exercised by the dist tests.
 */
export const EXCLUDED = new Set(['native.distInitGroup']);

export function apiTargets(): Target[] {
  const out: Target[] = [];
  const add = (t: Target): void => {
    if (!EXCLUDED.has(t.name)) out.push(t);
  };
  for (const [name, v] of Object.entries(T)) {
    if (name === 'F' || typeof v !== 'function') continue;
    if (name === 'Tensor') {
      add({ name: 'Tensor(new)', kind: 'ctor', arity: 1, invoke: (_s, a) => Reflect.construct(T.Tensor, a) });
      continue;
    }
    if (/^[A-Z]/.test(name)) continue; // error classes
    const f = v as (...a: unknown[]) => unknown;
    add({ name, kind: 'fn', arity: f.length, invoke: (_s, a) => f(...a) });
  }
  for (const [name, v] of Object.entries(T.F)) {
    if (typeof v !== 'function' || /^[A-Z]/.test(name)) continue;
    const f = v as (...a: unknown[]) => unknown;
    add({ name: `F.${name}`, kind: 'fn', arity: f.length, invoke: (_s, a) => f(...a) });
  }
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(T.Tensor.prototype))) {
    if (name === 'constructor') continue;
    if (typeof d.value === 'function') {
      const f = d.value as (...a: unknown[]) => unknown;
      add({ name: `Tensor#${name}`, kind: 'method', arity: f.length, invoke: (s, a) => Reflect.apply(f, s, a) });
    }
    if (d.get) { const g = d.get; add({ name: `Tensor#${name}(get)`, kind: 'get', arity: 0, invoke: (s) => Reflect.apply(g, s, []) }); }
    if (d.set) { const st = d.set; add({ name: `Tensor#${name}(set)`, kind: 'set', arity: 1, invoke: (s, a) => Reflect.apply(st, s, [a[0]]) }); }
  }
  // Symbol.dispose
  const disposeFn = T.Tensor.prototype[Symbol.dispose];
  add({ name: 'Tensor#[Symbol.dispose]', kind: 'method', arity: 0, invoke: (s) => Reflect.apply(disposeFn, s, []) });
  return out;
}

export function nativeTargets(): Target[] {
  const out: Target[] = [];
  for (const [name, v] of Object.entries(native as unknown as Record<string, unknown>)) {
    if (typeof v !== 'function' || EXCLUDED.has(`native.${name}`)) continue;
    const f = v as (...a: unknown[]) => unknown;
    out.push({ name: `native.${name}`, kind: 'native', arity: f.length, invoke: (_s, a) => f(...a) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
